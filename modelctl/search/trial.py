"""One trial: the spec with the trial's values, trained into `STUDY/trial-NNNN/` as an ordinary run.

The trial reports the search metric after every epoch (for the pruner) and
returns it measured on the trained model: `val_NAME` on the validation split,
`NAME` on the training split (after early stopping has restored the best
weights, when the spec asks for it).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

from modelctl.errors import ModelctlError
from modelctl.search import space

TRIAL_FOLDER = "trial-{number:04d}"


class SurplusTrial(ModelctlError):
    """A trial asked for after the study had all its trials (another worker asked at the same moment); it is
    closed as failed, marked `surplus`, and left out of every report."""


def trial_folder(study_folder: Path, number: int) -> Path:
    return Path(study_folder) / TRIAL_FOLDER.format(number=number)


def monitored_value(metrics: dict, metric: str) -> float:
    """The value of a metric named as Keras monitors it (`val_NAME` on the validation split, `NAME` on the
    training split) in a run's final metrics (split -> name -> value).

    Raises:
        ModelctlError: the run did not measure it.
    """
    split, name = ("validation", metric[4:]) if metric.startswith("val_") else ("train", metric)
    try:
        return float(metrics[split][name])
    except KeyError:
        from modelctl.search.study import SearchError

        measured = [f"{'val_' if s == 'validation' else ''}{n}" for s in ("train", "validation")
                    for n in metrics.get(s, {})]
        raise SearchError(f"the run measured no '{metric}'; it measured {', '.join(measured)}") from None


def pruning_callback(trial, metric: str):
    """A Keras callback that reports `metric` to `trial` after each epoch and stops training when the pruner says
    so (its `pruned` attribute then holds the epoch)."""
    import keras

    class ReportToStudy(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.pruned: int | None = None

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(metric)
            if value is None:
                return
            trial.report(float(value), epoch + 1)
            if trial.should_prune():
                self.pruned = epoch + 1
                self.model.stop_training = True

    return ReportToStudy()


def run_trial(trial, *, spec: str, overrides: list[str], parameters: dict, metric: str, folder: Path, output: Path,
              console, cache, folds: int | None = None, tracking=None, tracking_parent: str | None = None) -> float:
    """Train the trial's run and return its metric.

    Args:
        folds: k-fold cross-validation (`modelctl.training.kfold`): `folder` is a cross-validation's folder of K
            runs, `fold-1` to `fold-K`, each validated on its fold of the non-test rows; the trial's metric is
            their mean, and the first fold's epochs are reported to the pruner. Default None: one run in
            `folder`.
        tracking, tracking_parent: the MLflow settings each run is also logged with and the search's MLflow run,
            whose child runs they are (`modelctl.tracking`); default None: not tracked.

    Raises:
        optuna.TrialPruned: the pruner stopped it (its run is kept, with the epochs it trained).
        ModelctlError: the run could not be trained (a diverging loss, an interruption).
    """
    import optuna

    from modelctl.evaluation.plots import learning_curves_plot
    from modelctl.spec.validate import load_spec
    from modelctl.training.kfold import cross_validate
    from modelctl.training.trainer import train

    values = space.suggest(trial, parameters)
    trial.set_user_attr("run_dir", str(Path(folder).absolute()))
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    # `search: null` after the command's own overrides (which may set search keys): the search section was checked
    # once, before the first trial; each trial's spec is checked without it.
    document = load_spec(spec, [*overrides, "search=null", *space.overrides(values)])
    document.data.pop("search", None)
    report = pruning_callback(trial, metric)
    command = ["modelctl", "search", spec, *[f"--set={item}" for item in overrides], f"(trial {trial.number})"]
    started = time.perf_counter()
    try:
        if folds:
            result = cross_validate(document, output, console, folds=folds, run_dir=Path(folder), quiet=True,
                                    command_line=command, plot_history=learning_curves_plot, cache=cache,
                                    tracking=tracking, tracking_parent=tracking_parent, first_fold_callbacks=[report],
                                    stop=lambda: report.pruned is not None)
            per_fold = [fold.metrics for fold in result.folds]
        else:
            per_fold = [train(document, output, console, quiet=True, run_dir=folder, extra_callbacks=[report],
                              command_line=command, plot_history=learning_curves_plot, cache=cache,
                              tracking=tracking, tracking_parent=tracking_parent).metrics]
    finally:
        trial.set_user_attr("train_seconds", round(time.perf_counter() - started, 4))
    if report.pruned is not None:
        trial.set_user_attr("pruned_at_epoch", report.pruned)
        raise optuna.TrialPruned(f"pruned after epoch {report.pruned}")
    scores = [monitored_value(metrics, metric) for metrics in per_fold]
    value = sum(scores) / len(scores)
    if folds:
        trial.set_user_attr("fold_values", scores)
    else:
        trial.set_user_attr("metrics", json.loads(json.dumps(per_fold[0])))
    return value
