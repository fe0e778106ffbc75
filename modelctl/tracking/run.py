"""One run folder's MLflow run: started when training starts, fed one history row per epoch, finished with the
final metrics and the folder's files; later commands add their files to it.

A write that fails (the server is down, or goes down during training) gives one warning and the run goes on
untracked: its `mlflow.json` then says `pending`, and `modelctl track RUN` uploads the whole folder. With
strict tracking the failure is a `TrackingError` instead.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from modelctl.runs import RunFolder, read_json
from modelctl.tracking import contents
from modelctl.tracking.client import TrackingError, client, unreachable, write_errors
from modelctl.tracking.settings import MlflowSettings
from modelctl.util.files import write_text_atomic

STATE_FILE = "mlflow.json"
"""The file of a run folder that names its MLflow run: uri, experiment, experiment_id, run_id, and status
(`running`, `logged`, or `pending` when something could not be logged)."""

BATCH = 100
"""Most parameters MLflow takes in one `log_batch` (metrics: 1000)."""


def read_state(folder: Path) -> dict | None:
    """The run folder's `mlflow.json`, or None when the run was never tracked."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return None
    return read_json(path)


def write_state(folder: Path, state: dict) -> None:
    write_text_atomic(Path(folder) / STATE_FILE, json.dumps(state, indent=2) + "\n")


class MlflowRun:
    """The MLflow run of a run folder. Make one with `start` (a new run) or `tracked_run` (the run of a folder
    tracked earlier).

    Args:
        settings: where and how to log.
        folder: the run folder.
        console: where a warning goes (a rich Console).
        run_id: the MLflow run; None when nothing can be logged (the server could not be reached).
    """

    def __init__(self, settings: MlflowSettings, folder: Path, console, *, run_id: str | None = None,
                 experiment_id: str | None = None):
        self.settings = settings
        self.folder = Path(folder)
        self.console = console
        self.run_id = run_id
        self.experiment_id = experiment_id
        self.client = client(settings.uri)
        self._errors = write_errors()
        self._pending = False

    # Starting ------------------------------------------------------------------------------------------------

    @classmethod
    def start(cls, settings: MlflowSettings, folder: Path, console, *, parent_run_id: str | None = None,
              params: bool = True) -> "MlflowRun":
        """Create the MLflow run of `folder` (a run folder: its spec and record) and log its parameters and
        tags; a run that logs nothing when the server cannot be reached (or a TrackingError when strict).

        Args:
            parent_run_id: the MLflow run this one is a child of (a fold of k-fold cross-validation, a trial
                of a search); default None.
            params: log the spec as parameters; default True.

        Raises:
            TrackingError: MLflow is not installed; or, with `settings.strict`, the store cannot be reached.
        """
        tracked = cls(settings, folder, console)
        reason = unreachable(settings.uri)
        if reason is not None:
            tracked._failed(f"the tracking server does not answer ({reason})")
            return tracked
        tracked._guard("creating the run", lambda: tracked._create(parent_run_id, params))
        return tracked

    def _create(self, parent_run_id: str | None, params: bool) -> None:
        from mlflow.entities import Param

        self.experiment_id = experiment_id(self.client, self.settings.experiment)
        folder = RunFolder(self.folder)
        tags = contents.run_tags(folder.record.to_json(), self.folder)
        if parent_run_id is not None:
            tags["mlflow.parentRunId"] = parent_run_id
        run = self.client.create_run(self.experiment_id, tags=tags, run_name=tags["mlflow.runName"])
        self.run_id = run.info.run_id
        self._save("running")
        if params and folder.spec_file.is_file():
            spec = folder.spec
            items = [Param(key, value) for key, value in contents.spec_params(contents.resolved_spec(spec)).items()]
            for first in range(0, len(items), BATCH):
                self.client.log_batch(self.run_id, params=items[first:first + BATCH])

    # Logging -------------------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        """Whether writes still go to MLflow (False after a failure, or when the run never started)."""
        return self.run_id is not None and not self._pending

    def log_epoch(self, row: dict) -> None:
        """Log one history row: each column a metric whose step is the row's epoch."""
        if self.active:
            epoch, values = contents.epoch_metrics(row)
            self._guard(f"logging epoch {epoch}", lambda: self._log_metrics(values, step=epoch))

    def log_metrics(self, values: dict[str, float], step: int = 0) -> None:
        if self.active:
            self._guard("logging metrics", lambda: self._log_metrics(values, step=step))

    def _log_metrics(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        items = [Metric(key, value, stamp, step) for key, value in values.items()]
        for first in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[first:first + 1000])

    def log_files(self, items: list[tuple[Path, str | None]]) -> None:
        """Upload files and folders: (local path, artifact folder or None for the top)."""
        if self.active:
            self._guard("uploading files", lambda: self._log_files(items))

    def _log_files(self, items) -> None:
        for path, artifact_path in items:
            if path.is_dir():
                self.client.log_artifacts(self.run_id, str(path), artifact_path)
            else:
                self.client.log_artifact(self.run_id, str(path), artifact_path)

    def finish(self, status: str = "FINISHED") -> None:
        """Log the final metrics of each split and the run folder's files, and end the MLflow run.

        Args:
            status: `FINISHED` (default), `FAILED` (a diverged run) or `KILLED` (an interrupted one).
        """
        if not self.active:
            return
        self.log_metrics(contents.final_metrics(self.folder))
        self.log_files(contents.artifacts(self.folder))
        if self.active:
            self._guard("ending the run", lambda: self.client.set_terminated(self.run_id, status))
        if self.active:
            self._save("logged")

    # Failures ------------------------------------------------------------------------------------------------

    def _guard(self, what: str, write) -> None:
        try:
            write()
        except self._errors as error:
            self._failed(f"{what} failed: {_first_line(error)}")

    def _failed(self, message: str) -> None:
        text = f"MLflow at {self.settings.uri}: {message}"
        if self.settings.strict:
            if self.run_id is not None:
                self._save("pending", error=message)
            raise TrackingError(f"{text} (strict tracking); the run folder {self.folder} is kept: upload it "
                                f"with `modelctl track {self.folder}` when the server is back")
        self.console.print(f"warning: {text}; the run goes on untracked and its folder is complete: upload it "
                           f"with `modelctl track {self.folder}` when the server is back", markup=False)
        self._pending = True
        self._save("pending", error=message)

    def _save(self, status: str, error: str | None = None) -> None:
        write_state(self.folder, {"uri": self.settings.uri, "experiment": self.settings.experiment,
                                  "experiment_id": self.experiment_id, "run_id": self.run_id, "status": status,
                                  "error": error})


def track_training(settings: MlflowSettings, folder: Path, console, *, resume: bool = False,
             parent_run_id: str | None = None) -> MlflowRun:
    """The MLflow run of a run folder about to train: when resuming, the one it was tracked with (set running
    again), else a new one (see `MlflowRun.start`)."""
    state = read_state(folder) if resume else None
    if state and state.get("run_id") and state.get("status") in ("running", "logged") \
            and state.get("uri") == settings.uri:
        tracked = MlflowRun(settings, folder, console, run_id=state["run_id"],
                            experiment_id=state.get("experiment_id"))
        tracked._guard("reopening the run", lambda: tracked.client.update_run(tracked.run_id, status="RUNNING"))
        return tracked
    return MlflowRun.start(settings, folder, console, parent_run_id=parent_run_id)


def experiment_id(tracking_client, name: str) -> str:
    """The id of the experiment `name`, created when missing."""
    from mlflow.exceptions import MlflowException

    found = tracking_client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return tracking_client.create_experiment(name, artifact_location=artifact_location(
            tracking_client.tracking_uri))
    except MlflowException:  # created by another run meanwhile
        found = tracking_client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def artifact_location(uri: str) -> str | None:
    """Where a new experiment of an SQLite store keeps its files: `mlruns/` beside the database file (MLflow's
    default is `./mlruns` of whatever folder the experiment happens to be created from). None for other stores,
    whose own default stands (a tracking server's artifact store)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri[len(prefix):] in ("", ":memory:"):
        return None
    database = Path(uri[len(prefix):].partition("?")[0])
    return (database.parent / "mlruns").resolve().as_uri()


def tracked_run(folder: Path, console, strict: bool = False) -> MlflowRun | None:
    """The MLflow run of a run folder tracked when it trained, to add files to; None when it was not tracked or
    its tracking is pending (`modelctl track RUN` uploads it whole)."""
    state = read_state(folder)
    if not state or state.get("status") != "logged" or not state.get("run_id"):
        return None
    settings = MlflowSettings(state["uri"], state["experiment"], strict)
    return MlflowRun(settings, folder, console, run_id=state["run_id"], experiment_id=state.get("experiment_id"))


def add_files(folder: Path, items: list[tuple[Path, str | None]], console, *, metrics: dict | None = None,
              strict: bool = False) -> MlflowRun | None:
    """Add files (and metrics) of a later command (`eval`, `export`) to the MLflow run of a tracked run folder.
    Returns that run, or None when the folder was not tracked. A failure is a warning that marks the folder's
    tracking pending (`modelctl track RUN` then uploads it whole), or with `strict` a TrackingError."""
    tracked = tracked_run(folder, console, strict)
    if tracked is None:
        state = read_state(folder)
        if state and state.get("status") == "pending":
            console.print(f"warning: {folder} is not yet uploaded to MLflow at {state['uri']}; upload it with "
                          f"`modelctl track {folder}`", markup=False)
        return None
    if metrics:
        tracked.log_metrics(metrics)
    tracked.log_files(items)
    return tracked


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
