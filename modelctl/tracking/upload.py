"""`modelctl track RUN`: upload a run folder to MLflow after the fact.

For a run trained while the tracking server was down (its `mlflow.json` says `pending`), trained without
tracking, or trained elsewhere: a new MLflow run gets everything a tracked run logs while it trains, read from
the folder (parameters, tags, every history row with `step` the epoch, the final metrics, evaluations, files).
A partial MLflow run left by the failure is deleted, so the experiment holds the run once. A run already
logged gets the files and evaluation metrics added since (an `eval` or `export` made while the server was
down).
"""

from __future__ import annotations

from pathlib import Path

from modelctl.runs import RunFolder, read_cross_validation
from modelctl.tracking import contents
from modelctl.tracking.run import MlflowRun, read_state, tracked_run
from modelctl.spec.typed import typed
from modelctl.tracking.settings import MlflowSettings, mlflow_settings

STATUSES = {"completed": "FINISHED", "diverged": "FAILED", "interrupted": "KILLED", "running": "KILLED"}
"""A run's status (`modelctl.runs.RunRecord.status`) -> the status of the MLflow run (a run still `running`
stopped without saying why, or is training now)."""


def upload_run(folder: Path, console, *, uri: str | None = None, experiment: str | None = None,
               parent_run_id: str | None = None) -> MlflowRun:
    """Upload the run folder `folder` to MLflow and return its MLflow run.

    Args:
        folder: a run folder made by `modelctl train`.
        console: where progress notes go.
        uri: the tracking URI; default None: the one the run was tracked with (its `mlflow.json`), else its
            spec's `tracking.mlflow.uri`, else $MLFLOW_TRACKING_URI, else `sqlite:///mlflow.db`.
        experiment: the experiment; default None: as for `uri`, else the spec's name.
        parent_run_id: the MLflow run this one is a child of; default None. The folds of a k-fold run folder
            (`fold-1/`, ...) are uploaded as children of its own MLflow run.

    Raises:
        TrackingError: MLflow is not installed, or the tracking store cannot be reached or refuses a write
            (uploading is the command's whole purpose, so a failure is an error, never a warning).
    """
    folder = Path(folder)
    run = RunFolder(folder)
    state = read_state(folder) or {}
    spec = run.spec if run.spec_file.is_file() else {}
    settings = mlflow_settings(typed(spec), track="mlflow", strict=True, uri=uri or state.get("uri"),
                               experiment=experiment or state.get("experiment"))
    same_store = state.get("uri") == settings.uri and state.get("experiment") == settings.experiment
    if state.get("status") == "logged" and same_store:
        tracked = tracked_run(folder, console, strict=True)
        _add_evaluations(tracked)
        tracked.log_files(contents.artifacts(folder))
        console.print(f"{folder}: already logged as MLflow run {tracked.run_id}; its files are up to date",
                      markup=False)
        return tracked
    tracked = MlflowRun.start(settings, folder, console, parent_run_id=parent_run_id)
    for row in contents.history_rows(folder):
        tracked.log_epoch(row)
    _add_evaluations(tracked)
    record = run.record
    folds = read_cross_validation(run) if record.kind == "cross_validation" else None
    if folds is not None:
        tracked.log_metrics({f"{split}/{name}": value["mean"] for split, values in folds.summary.items()
                             for name, value in values.items()})
    if record.kind == "cross_validation":
        for number in range(1, record.values["folds"] + 1):
            if run.fold(number).is_run:
                upload_run(run.fold(number).path, console, uri=settings.uri, experiment=settings.experiment,
                           parent_run_id=tracked.run_id)
    tracked.finish(STATUSES.get(record.status, "FINISHED"))
    if state.get("status") == "pending" and state.get("run_id") and same_store:
        _delete_partial(tracked, state["run_id"])
    console.print(f"{folder}: logged as MLflow run {tracked.run_id} in experiment '{settings.experiment}' at "
                  f"{settings.uri}", markup=False)
    return tracked


def _add_evaluations(tracked: MlflowRun) -> None:
    for child in sorted((tracked.folder / "eval").glob("*/eval.json")):
        tracked.log_metrics(contents.eval_metrics(child.parent))


def _delete_partial(tracked: MlflowRun, run_id: str) -> None:
    """Delete the MLflow run a failed upload left half written (MLflow keeps it in its trash)."""
    from modelctl.tracking.client import write_errors

    try:
        tracked.client.delete_run(run_id)
    except write_errors() as error:
        tracked.console.print(f"note: the partial MLflow run {run_id} could not be deleted ({error})", markup=False)


__all__ = ["MlflowSettings", "upload_run"]
