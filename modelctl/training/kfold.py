"""k-fold cross-validation: K runs of one spec in one folder, each validated on its own fold of the non-test rows.

    result = cross_validate(document, Path("runs"), console, folds=5)
    result.run            # runs/iris/20261123T101500Z: its spec, record, folds' summary, fold-1/ ...
    result.record.summary["validation"]["accuracy"]      # {"mean": ..., "std": ..., "values": [...]}

The folder is a run folder of its own (its record has `folds`, and `status` completed once every fold is
trained and the folds' summary written, `modelctl.runs.cross_validation`), which every later command
understands: `eval` and `compare` show the mean and spread over the folds, `export`, `serve` and `predict` name the
fold to give instead. The test split is the same for every fold; each fold trains on the other folds of the rest
(`modelctl.data.splits.kfold`). `modelctl train --folds` and `modelctl search --folds` (each trial) both run here.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from modelctl.errors import UsageError
from modelctl.runs import CrossValidation, RunFolder, create_run_dir, make_folder, spec_text, write_cross_validation
from modelctl.runs.record import opening_record
from modelctl.util.files import write_text_atomic


@dataclasses.dataclass
class CrossValidationResult:
    """What `cross_validate` made: the folder (`run`), each fold's training result in order, and the record
    written (None when `stop` ended it before the last fold)."""

    run: RunFolder
    folds: list
    record: CrossValidation | None


def cross_validate(document, output: Path, console, *, folds: int, run_dir: Path | None = None, quiet: bool = False,
                   live: bool = False, command_line: list[str] | None = None, plot_history=None, cache=None,
                   tracking=None, tracking_parent: str | None = None, first_fold_callbacks: list | None = None,
                   stop: Callable[[], bool] | None = None) -> CrossValidationResult:
    """Train `folds` runs of the spec into one cross-validation folder (see the module docstring).

    Args:
        document: the loaded, valid spec.
        output: the folder runs are created in (`output/<name>/<timestamp>/`).
        console: a rich Console for progress and messages.
        folds: how many folds, at least 2.
        run_dir: the folder to write into (created when missing; it must hold no run) instead of a new one under
            `output`; default None.
        quiet, live, command_line, plot_history, cache: as for `modelctl.training.trainer.train`, for each fold.
        tracking: where the runs are also logged (`modelctl.tracking.MlflowSettings`); default None: nowhere.
        tracking_parent: the MLflow run the folds are children of (a search's); default None: the
            cross-validation gets an MLflow run of its own (with the mean of each metric), and the folds are its
            children.
        first_fold_callbacks: more Keras callbacks for the first fold's `fit` (a search's pruning report);
            default None.
        stop: asked after each fold; True ends the cross-validation there (a pruned search trial), its folder
            marked interrupted and no summary written. Default None: every fold is trained.

    Raises:
        UsageError: fewer than 2 folds, an output folder that cannot be used.
        ModelctlError: a fold that could not be trained (its folder then says `interrupted` or `diverged`).
    """
    from modelctl.training.trainer import TrainingDiverged, train

    if folds < 2:
        raise UsageError(f"--folds must be at least 2; received {folds}")
    if run_dir is not None:
        folder = make_folder(Path(run_dir))
    else:
        folder = create_run_dir(output, document.spec.name, checkpoints=False)
    run = RunFolder(folder)
    write_text_atomic(run.spec_file, spec_text(document.data))
    record = _record(document, folds=folds, command_line=command_line)
    run.write_record(record)
    tracked = None
    if tracking is not None and tracking_parent is None:
        from modelctl.tracking import MlflowRun

        tracked = MlflowRun.start(tracking, folder, console)
        tracking_parent = tracked.run_id
    results = []
    try:
        for index in range(folds):
            if not quiet:
                console.print(f"fold {index + 1}/{folds}", markup=False)
            results.append(train(document, output, console, quiet=quiet, live=live, command_line=command_line,
                                 fold=(index, folds), run_dir=run.fold(index + 1).path, plot_history=plot_history,
                                 cache=cache, tracking=tracking, tracking_parent=tracking_parent,
                                 extra_callbacks=(first_fold_callbacks or []) if index == 0 else []))
            if stop is not None and stop() and index + 1 < folds:
                run.write_record({**record, "status": "interrupted", "folds_completed": index + 1})
                if tracked is not None:
                    tracked.finish("KILLED")
                return CrossValidationResult(run, results, None)
    except BaseException as stopped:
        run.write_record({**record, "status": "diverged" if isinstance(stopped, TrainingDiverged) else "interrupted",
                          "folds_completed": len(results)})
        if tracked is not None:
            tracked.finish("FAILED" if isinstance(stopped, TrainingDiverged) else "KILLED")
        raise
    result = CrossValidation.of([fold.metrics for fold in results])
    write_cross_validation(run, result)
    run.write_record({**record, "status": "completed", "folds_completed": folds})
    if tracked is not None:
        tracked.log_metrics({f"{split}/{name}": values["mean"] for split, metrics in result.summary.items()
                             for name, values in metrics.items()})
        tracked.finish()
    return CrossValidationResult(run, results, result)


def _record(document, *, folds: int, command_line: list[str] | None) -> dict:
    """The cross-validation folder's record, status running: the spec, its files and where they were read
    from (so that its spec loads as a trained run's does), and the number of folds."""
    return {**opening_record(document, command_line=command_line), "folds": folds, "folds_completed": 0}


__all__ = ["CrossValidationResult", "cross_validate"]
