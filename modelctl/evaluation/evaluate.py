"""`modelctl eval`: a run's model on one of its splits (or on another file), as metrics, plots and a report.

    result = evaluate_run(Path("runs/iris/20261123T101500Z"), split="test")
    result.metrics["species"]["accuracy"]
    result.folder               # runs/iris/20261123T101500Z/eval/test: eval.json, report.md, plots

The model is the run's own (or another `.keras` file of the run, such as
`checkpoints/best.keras`); the data is read with the run's spec and
the preprocessing fitted when it trained, so the numbers are the ones the
trained model gives on raw examples.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from modelctl.errors import UsageError, did_you_mean, one_of
from modelctl.spec.typed import Spec

@dataclasses.dataclass
class Evaluation:
    run_dir: Path
    split: str
    examples: int
    metrics: dict
    folder: Path
    plots: list[Path]
    data_changes: list[str] = dataclasses.field(default_factory=list)
    """How the run's data differs from the data it trained on (see `modelctl.data.fingerprints`); [] when it is
    the same, or when evaluating on another file."""
    members: list[dict] = dataclasses.field(default_factory=list)
    """For an ensemble's run (`modelctl ensemble`), each member on the same examples: `member` (1, 2, ...),
    `run` (its run folder), `weight` (None unless weighted) and `metrics` (as `metrics`); [] for other runs."""
    folds: list["Evaluation"] = dataclasses.field(default_factory=list)
    """For a cross-validation's folder, each fold's evaluation (`metrics` then holds the means over them, by the
    names `scalar_rows` gives); [] for other runs."""
    spread: dict = dataclasses.field(default_factory=dict)
    """For a cross-validation's folder, label -> metric -> {mean, std, values}; {} for other runs."""


def data_document(document, data_file: Path):
    """The run's spec reading every example of `data_file` as its test split."""
    from modelctl.registry.sources import table_suffixes

    formats = table_suffixes()  # extension -> source format, from the registry (plug-ins included)
    suffix = data_file.suffix.lower()
    if suffix not in formats:
        raise UsageError(f"{data_file}: --data reads {', '.join(formats)} files; received a {suffix or 'file'}"
                         " without one of those extensions")
    if not data_file.is_file():
        raise UsageError(f"{data_file}: no such file")
    data = dict(document.data["data"])
    data.pop("sources", None)
    data["source"] = {"format": formats[suffix], "path": str(data_file.resolve())}
    data["split"] = {"train": 0.0, "validation": 0.0, "test": 1.0}
    return dataclasses.replace(document, data={**document.data, "data": data})


def evaluate_run(target: str | Path, split: str = "test", *, data_file: Path | None = None,
                 write: bool = True, cache=None) -> Evaluation:
    """Evaluate a run's model on `split` (or every example of `data_file`) and write eval.json, plots and report.md
    into `<run>/eval/<split or file name>/`. A cross-validation's folder evaluates each fold's model
    (`evaluate_folds`).

    `cache` is the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder.

    Raises:
        UsageError: not a run folder, an empty split, a data file of an unknown format.
        DataError: data that cannot be read.
    """
    from modelctl.runs import locate

    run, model_file = locate(target)
    if model_file == run.model_file and run.record.kind == "cross_validation":
        return evaluate_folds(run, split, data_file=data_file, write=write, cache=cache)
    return _evaluate(run if model_file == run.model_file else model_file, split, data_file=data_file, write=write,
                     cache=cache)


def _evaluate(target, split: str, *, data_file: Path | None, write: bool, cache) -> Evaluation:
    from modelctl.evaluation.metrics import compute_metrics
    from modelctl.evaluation.plots import write_plots
    from modelctl.evaluation.report import render_report
    from modelctl.model.preprocessing import predict_raw, scores_by_label
    from modelctl.model.trained import open_trained
    from modelctl.runs import EVALUATIONS, explanation_section, write_json

    trained = open_trained(target, command="evaluate")
    run_dir, model_file, fitted = trained.run.path, trained.model_file, trained.fitted
    document = trained.document
    if data_file is not None:
        document = data_document(document, Path(data_file))
        split = "test"
    prepared = trained.prepare(cache=cache, document=document)
    from modelctl.data.fingerprints import differences

    record = trained.run.record
    changes = [] if data_file is not None else \
        differences(record.data, prepared.data_record(), preprocessing=False)
    if not prepared.counts[split]:
        raise UsageError(f"the {split} split of {run_dir} has no examples; choose another with --split")
    model = trained.load_model()
    labels = fitted.label_names
    ensemble = record.values.get("ensemble")
    # An ensemble's members are layers of its model, so they are evaluated on the same examples without their
    # own run folders.
    members = [model.get_layer(entry["layer"]) for entry in ensemble["members"]] if ensemble else []
    # Chunk by chunk: only targets and model outputs are held, so a split larger than memory is evaluated too.
    scores_parts, target_parts = [], []
    member_parts: list[list[dict]] = [[] for _ in members]
    for part in prepared.chunks(split):
        scores_parts.append(scores_by_label(predict_raw(model, part.features), labels))
        for parts, member in zip(member_parts, members):
            parts.append(scores_by_label(predict_raw(member, part.features), labels))
        target_parts.append(part.targets)
    scores = {label: np.concatenate([part[label] for part in scores_parts]) for label in labels}
    targets = {label: np.concatenate([part[label] for part in target_parts]) for label in labels}
    member_scores = [{label: np.concatenate([part[label] for part in parts]) for label in labels}
                     for parts in member_parts]
    count = len(next(iter(targets.values())))
    del scores_parts, target_parts, member_parts
    wanted = document.spec.evaluation.metrics or None
    metrics = {}
    plots_by_label: dict[str, list[Path]] = {}
    name = split if data_file is None else f"data-{Path(data_file).stem}"
    folder = run_dir / EVALUATIONS / name
    history = trained.run.history()
    for index, label in enumerate(labels):
        kind, classes = fitted.labels[label].type, fitted.labels[label].classes
        metrics[label] = compute_metrics(kind, targets[label], scores[label], class_names=classes, names=wanted)
        if write:
            plots_by_label[label] = write_plots(kind, targets[label], scores[label], class_names=classes,
                                                history=history if index == 0 else {}, folder=folder / "plots" / label)
    member_results = []
    for index, (entry, values) in enumerate(zip(ensemble["members"] if ensemble else [], member_scores), start=1):
        member_results.append({"member": index, "run": entry["run"], "weight": entry.get("weight"), "metrics": {
            label: compute_metrics(fitted.labels[label].type, targets[label], values[label],
                                   class_names=fitted.labels[label].classes, names=wanted)
            for label in labels}})
    if write:
        folder.mkdir(parents=True, exist_ok=True)
        written = {"run": str(run_dir), "model": str(model_file), "split": name, "examples": count,
                   "metrics": metrics, "data_changes": changes}
        if ensemble:
            written["members"] = member_results
        write_json(folder / "eval.json", written)
        summary = _spec_summary(document.spec, run_dir)
        title = f"Evaluation of {document.spec.name} on {name}"
        text = "\n".join(render_report(title if len(labels) == 1 else f"{title}: {label}", metrics[label],
                                        spec_summary=summary if index == 0 else {}, plots=plots_by_label[label],
                                        folder=folder)
                          for index, label in enumerate(labels))
        if ensemble:
            from modelctl.evaluation.report import members_markdown

            text += "\n" + members_markdown(metrics, member_results, method=ensemble["method"])
        section = explanation_section(run_dir, name)
        if data_file is None and section.is_file():  # `modelctl explain` on this split
            text = text.rstrip("\n") + "\n\n" + section.read_text(encoding="utf-8")
        from modelctl.util.files import write_text_atomic

        write_text_atomic(folder / "report.md", text)
    plots = [plot for label_plots in plots_by_label.values() for plot in label_plots]
    return Evaluation(run_dir, name, count, metrics, folder, plots, changes, member_results)


def evaluate_folds(run, split: str = "test", *, data_file: Path | None = None, write: bool = True,
                   cache=None) -> Evaluation:
    """Evaluate each fold of a cross-validation's folder (a `RunFolder`) on `split` (each fold's own: its
    validation split is its held-out fold) and summarize the scalar metrics over the folds.

    The result's `metrics` holds each fold's metrics averaged (every number the mean over the folds, in the shape
    `compute_metrics` gives, so that `--fail-under` gates read them as a run's), `spread` label -> metric (named
    as `scalar_rows` names it: `f1.macro`) -> {mean, std, values}, `folds` each fold's `Evaluation`, and
    `examples` the first fold's.
    Writes `eval.json` (the spread and each fold's metrics) and report.md into `<folder>/eval/<split>/`, besides
    each fold's own evaluation in its folder.

    Raises:
        RunError: a fold that has not completed.
    """
    from modelctl.evaluation.report import folds_markdown, scalar_rows
    from modelctl.runs import EVALUATIONS, find_run, summarize, write_json

    folds = [find_run(run.fold(number)) for number in range(1, run.record.values["folds"] + 1)]
    evaluations = [_evaluate(fold, split, data_file=data_file, write=write, cache=cache) for fold in folds]
    labels = list(evaluations[0].metrics)
    spread = {label: summarize([{"": {name: value for name, value in scalar_rows(evaluation.metrics[label])
                                      if isinstance(value, (int, float)) and name not in SETTINGS}}
                                for evaluation in evaluations]).get("", {}) for label in labels}
    metrics = _mean_tree([evaluation.metrics for evaluation in evaluations])
    name = evaluations[0].split
    folder = run.path / EVALUATIONS / name
    if write:
        from modelctl.util.files import write_text_atomic

        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "eval.json", {"run": str(run), "split": name, "folds": len(folds), "spread": spread,
                                          "per_fold": [{"fold": number, "run": str(evaluation.run_dir),
                                                        "examples": evaluation.examples,
                                                        "metrics": evaluation.metrics}
                                                       for number, evaluation in enumerate(evaluations, start=1)]})
        write_text_atomic(folder / "report.md", folds_markdown(
            f"Cross-validation of {run.record.name} on {name}: {len(folds)} folds", spread,
            [evaluation.folder / "report.md" for evaluation in evaluations], folder=folder))
    return Evaluation(run.path, name, evaluations[0].examples, metrics, folder, [],
                      [line for evaluation in evaluations for line in evaluation.data_changes],
                      folds=evaluations, spread=spread)


SETTINGS = ("examples", "top_k_accuracy.k")
"""Rows of `scalar_rows` that state how an evaluation was made, not what it measured: no spread over folds."""


def _mean_tree(trees: list):
    """The mean of values of one shape: numbers averaged, mappings key by key, anything else (class names, a
    confusion matrix) as the first gives it."""
    import statistics

    first = trees[0]
    if isinstance(first, dict):
        return {key: _mean_tree([tree[key] for tree in trees if isinstance(tree, dict) and key in tree])
                for key in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool) and \
            all(isinstance(tree, (int, float)) for tree in trees):
        return statistics.fmean(trees)
    return first


def _spec_summary(spec: Spec, run_dir: Path) -> dict:
    optimizer = spec.training.optimizer
    return {"spec": spec.name, "run": str(run_dir), "layers": len(spec.model.layers),
            "optimizer": optimizer if isinstance(optimizer, str) else optimizer["type"],
            "epochs": spec.training.epochs, "batch size": spec.data.batch_size, "seed": spec.seed}


def metric_value(metrics: dict, name: str) -> float | None:
    """A scalar metric by name: `accuracy`, `f1` (its macro average), `f1.weighted`, `species.accuracy`
    (one output's, with several), `top_k_accuracy` (its value)."""
    parts = name.split(".")
    if len(metrics) > 1 or parts[0] in metrics:
        if parts[0] not in metrics:
            return None
        outputs = [metrics[parts.pop(0)]]
    else:
        outputs = list(metrics.values())
    value = outputs[0]
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, dict):
        value = value.get("macro", value.get("value"))
    return None if value is None or isinstance(value, (dict, list)) else float(value)


LOWER_IS_BETTER = ("log_loss", "hamming_loss", "mse", "rmse", "mae", "mape")
"""Metrics whose `--fail-under` gate is an upper bound."""

AVERAGED = ("precision", "recall", "f1")
"""Metrics reported per class with averages: `f1` is its macro average, `f1.macro` and `f1.weighted` name each,
and a binary label adds `f1.positive` (its positive class's)."""


def gate_names(labels: dict[str, str], names: list[str] | None = None) -> list[str]:
    """Every name a `--fail-under` gate (and a row of the metrics table) may give for an evaluation of `labels`
    (label name -> label type) reporting `names` (the spec's `evaluation.metrics`; empty: each type's defaults):
    `accuracy`, `f1`, `f1.macro`, `f1.weighted`, `f1.positive` (binary), `roc_auc`, `roc_auc.macro` (one-vs-rest),
    `top_k_accuracy`; with several labels each prefixed by its label (`species.accuracy`)."""
    from modelctl.evaluation.metrics import metric_names
    from modelctl.features import label_type

    found = []
    for label, kind in labels.items():
        positive = label_type(kind).positive_class is not None
        own = []
        for name in metric_names(kind, names or None):
            if name == "confusion_matrix":
                continue
            own.append(name)
            if name in AVERAGED:
                own += [f"{name}.positive"] * positive + [f"{name}.macro", f"{name}.weighted"]
            elif name in ("roc_auc", "pr_auc") and not positive:
                own.append(f"{name}.macro")
        found += own if len(labels) == 1 else [f"{label}.{name}" for name in own]
    return found


def parse_gates(gates: list[str], known: list[str] | None = None) -> list[tuple[str, float]]:
    """(metric, limit) of each `--fail-under metric=value`, checked before anything is evaluated.

    Args:
        gates: the `--fail-under` values.
        known: the metric names an evaluation reports (`gate_names`); None takes any name.

    Raises:
        UsageError: a gate that is not `metric=number`, or names a metric the evaluation does not report (the
            known names listed, the closest suggested).
    """
    parsed = []
    for gate in gates:
        name, separator, bound = gate.partition("=")
        name = name.strip()
        try:
            limit = float(bound)
        except ValueError:
            limit = math.nan
        if not separator or not name or not math.isfinite(limit):
            raise UsageError(f"--fail-under {gate!r}: expected metric=number, such as accuracy=0.95"
                             + (f"; {bound.strip()!r} is not a number" if separator and name else ""))
        if known is not None and name not in known:
            raise UsageError(f"--fail-under {gate!r}: this evaluation reports no metric {name!r}. Metrics: "
                             f"{one_of(known, limit=40)}.{did_you_mean(name, known)}")
        parsed.append((name, limit))
    return parsed


def check_gates(metrics: dict, gates: list[str]) -> list[str]:
    """The `--fail-under metric=value` gates a result misses, as sentences; raises UsageError on a bad gate.

    For error-like metrics (`LOWER_IS_BETTER`) the gate is an upper bound."""
    missed = []
    for name, limit in parse_gates(gates):
        value = metric_value(metrics, name)
        if value is None:
            raise UsageError(f"--fail-under {name}={limit:g}: no metric {name!r} in this evaluation")
        if name.split(".")[-1] in LOWER_IS_BETTER or name.split(".")[0] in LOWER_IS_BETTER:
            if value > limit:
                missed.append(f"{name} is {value:.4f}, above the limit {limit:g}")
        elif value < limit:
            missed.append(f"{name} is {value:.4f}, under the required {limit:g}")
    return missed
