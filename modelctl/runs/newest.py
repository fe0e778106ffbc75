"""Which run a command means: the one rule for "the newest run" of a spec's runs folder, and run arguments.

    run = find_run("runs/iris")            # the newest COMPLETED run of the spec's runs folder
    run = find_run("runs/iris/20261123T101500Z")              # that run (it must have completed)
    run = find_run("runs/iris", completed=False)              # the newest run whatever its status (--resume)
    run, model_file = locate("runs/iris/20261123T101500Z/checkpoints/best.keras")   # a model file of a run
    check_has_model(run)                   # a cross-validation has no model: says which fold to give instead

Runs are named by their UTC start time, so the newest is the last by name. A run counts once it completed:
a newer one still training, interrupted or diverged is passed over with one line on stderr that says why and
how to continue it, so that `eval`, `export`, `serve`, `predict`, `explain`, `ensemble`, `modelctl.load_model`
and a distillation teacher all take the same run:

    note: runs/iris/20261123T111500Z is newer but was interrupted after epoch 6; using runs/iris/20261123T101500Z,
    the newest completed run (continue the newer one with: modelctl train --resume runs/iris/20261123T111500Z)
"""

from __future__ import annotations

import sys
from pathlib import Path

from modelctl.errors import UsageError
from modelctl.runs.checked import RunError
from modelctl.runs.cross_validation import read_cross_validation
from modelctl.runs.folder import RECORD, RunFolder

MODEL_SUFFIX = ".keras"


def note(text: str) -> None:
    """Say `text` on stderr, where statuses go (stdout may be JSON or CSV a program reads)."""
    print(f"note: {text}", file=sys.stderr)


def why_not_completed(run: RunFolder) -> str:
    """Why `run` is not a completed run, and what to do, as a clause: `was interrupted after epoch 6 (continue
    it with: modelctl train --resume RUN)`."""
    record = run.record
    resume = f"modelctl train --resume {run}"
    if record.kind == "cross_validation" and record.status != "completed":
        done = record.values.get("folds_completed") or 0
        return (f"{'was ' + record.status if record.status != 'running' else 'has not completed'} after {done} of "
                f"{record.values['folds']} folds (its completed folds are run folders of their own; train the "
                "cross-validation again for the rest)")
    if record.status == "interrupted":
        return (f"was interrupted after epoch {record.epochs_completed or 0} (continue it with: {resume})"
                if record.epochs_completed else "was interrupted before its first epoch completed (train it again)")
    if record.status == "diverged":
        return "diverged (its loss became NaN or infinite; nothing to resume)"
    if record.status == "running":
        return (f"has not completed: it is still training, or was stopped without a word (once it has stopped, "
                f"continue it with: {resume})")
    return f"holds no {run.model_file.name} although its status is {record.status}"


def completed(run: RunFolder) -> bool:
    """Whether `run` completed: its status says so and it holds its model (a cross-validation: its folds'
    record)."""
    record = run.record
    if not record.completed:
        return False
    if record.kind == "cross_validation":
        return read_cross_validation(run) is not None
    return record.kind == "search" or run.model_file.is_file()


def newest(parent: Path, *, completed_only: bool = True) -> RunFolder:
    """The newest run among the folders of `parent` (a spec's runs folder): the newest completed one, saying on
    stderr which newer ones were passed over and why; with `completed_only` False the newest whatever its status.

    Raises:
        UsageError: `parent` holds no run.
        RunError: it holds runs, none completed (naming the newest and how to continue it).
    """
    runs = [RunFolder(child) for child in sorted(Path(parent).iterdir()) if (child / RECORD).is_file()]
    if not runs:
        raise UsageError(f"{parent}: not a run folder (it has no {RECORD}) and holds none; give a folder made by "
                         "`modelctl train`, such as runs/<name>/<timestamp>, or a spec's runs folder runs/<name>")
    if not completed_only:
        return runs[-1]
    passed = []
    for run in reversed(runs):
        if completed(run):
            if passed:
                more = f" (and {len(passed) - 1} more newer runs that have not completed)" if len(passed) > 1 else ""
                note(f"{passed[0]} is newer but {why_not_completed(passed[0])}; using {run}, the newest completed "
                     f"run{more}")
            return run
        passed.append(run)
    raise RunError(f"{parent}: holds no completed run; the newest, {passed[0]}, {why_not_completed(passed[0])}")


def find_run(target: str | Path, *, completed_only: bool = True) -> RunFolder:
    """The run a command-line argument names: a run folder, or a spec's runs folder (its newest run, `newest`).

    Args:
        target: the folder.
        completed_only: refuse a run that has not completed (default True); False for `train --resume` and
            `modelctl track`, which take a run in any state.

    Raises:
        UsageError: no such folder, or no run in it.
        RunError: a run that has not completed (saying why and what to do), or a damaged record.
    """
    folder = Path(target)
    if not folder.is_dir():
        raise UsageError(f"{target}: no such run folder")
    run = RunFolder(folder)
    if not run.is_run:
        return newest(folder, completed_only=completed_only)
    if completed_only and not completed(run):
        raise RunError(f"{run}: the run {why_not_completed(run)}")
    return run


def locate(target: str | Path) -> tuple[RunFolder, Path]:
    """(run, model file) of a run folder (its model; a spec's runs folder gives its newest completed run) or of a
    `.keras` file inside one (a checkpoint of a run in any state).

    Raises:
        UsageError: no such folder, not a run folder, or a `.keras` file outside any run folder.
        RunError: a run that has not completed.
    """
    path = Path(target)
    if path.is_file() and path.suffix == MODEL_SUFFIX:
        for parent in path.resolve().parents:
            if (parent / RECORD).is_file():
                return RunFolder(parent), path
        raise UsageError(f"{target}: a {MODEL_SUFFIX} file is evaluated with the data of its run, and this one is "
                         f"not inside a run folder (none of its parents holds {RECORD})")
    run = find_run(path)
    return run, run.model_file


def model_target(target: str | Path, *, command: str) -> RunFolder | Path:
    """What `target` names for a command that uses a model, found once and checked before any model is loaded:
    the run (whose own model it uses), or a `.keras` file of a run. Pass it on instead of `target`, so that a
    newer run passed over is named once.

    Raises:
        UsageError, RunError: as `locate`; a cross-validation (`check_has_model`).
    """
    run, model_file = locate(target)
    if model_file != run.model_file:
        return model_file
    check_has_model(run, command=command)
    return run


def check_has_model(run: RunFolder, *, command: str) -> None:
    """Raise unless `run` holds a model of its own: a cross-validation holds one per fold, and the message says
    which fold to give (the best on validation loss) or how to train one model on every non-test row.

    Args:
        command: what needs the model, for the message (`export`, `serve`, `predict`, ...).

    Raises:
        RunError: `run` is a cross-validation.
    """
    if run.record.kind != "cross_validation":
        return
    result = read_cross_validation(run)
    folds = run.record.values["folds"]
    best = None if result is None else result.best_fold()
    chosen = f" ({run.fold(best)} has the lowest validation loss)" if best else ""
    raise RunError(f"{run}: a cross-validation of {folds} folds has no model of its own, one per fold; {command} "
                   f"one of its folds, {run.fold(1)} to {run.fold(folds)}{chosen}, or train one model on every "
                   "non-test row with `modelctl train SPEC` (without --folds)")


__all__ = ["MODEL_SUFFIX", "check_has_model", "completed", "find_run", "locate", "model_target", "newest", "note",
           "why_not_completed"]
