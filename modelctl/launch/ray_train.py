"""`modelctl train SPEC --ray --workers N`: the spec's training on a Ray cluster, restarted by Ray when a worker dies.

    result = train_on_ray("spec.yaml", [], run_dir, shape=Shape(workers=2), address=None, console=console)

Ray Train's `TensorflowTrainer` starts N workers, one process each, and writes the TF_CONFIG that makes them
one multi-worker run; each runs `training.restart.train_or_resume` on the same run folder, so they train as
processes started by hand with TF_CONFIG do (`training/loop.py`'s loop under MultiWorkerMirroredStrategy,
since Keras 3's `fit` cannot run under it in TensorFlow 2.21). When a worker dies, Ray ends the others and
starts the group again, up to `max_failures` times (its `FailureConfig`); the new workers continue from the
run folder's last completed epoch. Worker 0 is the chief and keeps the run folder: it is the folder a local
run writes, and `eval`, `export` and `serve` read it as they read any other. On a cluster of several machines
the run folder (and the data) must be where every worker reads the same files: a shared file system or
object storage.
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from modelctl.util.raycluster import RayError, connect

MAX_FAILURES = 3
"""Restarts of the worker group after a worker dies, by default."""


@dataclasses.dataclass(frozen=True)
class Shape:
    """What the run asks of Ray.

    Args:
        workers: training processes (`--workers`), each a TensorFlow worker; default 2.
        cpus_per_worker: CPUs Ray reserves for each (`--cpus-per-worker`); default 1.
        gpus_per_worker: GPUs Ray gives each (`--gpus-per-worker`); default 0. Each worker trains on all the
            GPUs it is given (mirrored within it, multi-worker across).
        max_failures: restarts after a worker dies (`--max-failures`); default 3; -1 restarts without end.
    """

    workers: int = 2
    cpus_per_worker: float = 1
    gpus_per_worker: float = 0
    max_failures: int = MAX_FAILURES


def check_shape(shape: Shape) -> None:
    """Refuse a shape Ray cannot run.

    Raises:
        UsageError: fewer than one worker, CPUs or GPUs below 0, max_failures below -1.
    """
    from modelctl.errors import UsageError

    if shape.workers < 1:
        raise UsageError(f"--workers must be at least 1; received {shape.workers}")
    if shape.cpus_per_worker <= 0:
        raise UsageError(f"--cpus-per-worker must be above 0; received {shape.cpus_per_worker:g}")
    if shape.gpus_per_worker < 0:
        raise UsageError(f"--gpus-per-worker must be 0 or more; received {shape.gpus_per_worker:g}")
    if shape.max_failures < -1:
        raise UsageError(f"--max-failures must be -1 (no end) or more; received {shape.max_failures}")


def train_on_ray(spec: str, overrides: list[str], run_dir: Path, *, shape: Shape, address: str | None, console,
                 quiet: bool = False,
                 command_line: list[str] | None = None, cache_dir: Path | None = None, use_cache: bool = True,
                 allow_worker_change: bool = False, tracking=None):
    """Train the spec's model into `run_dir` on Ray's workers; returns the run's `TrainResult`.

    Args:
        spec: the spec file, which every worker reads (checked here first).
        overrides: its `--set` values.
        run_dir: the run folder; continued when it holds a completed epoch (`train_or_resume`).
        shape: workers, their CPUs and GPUs, and restarts.
        address: the Ray cluster (`modelctl.util.raycluster.connect`); None: $RAY_ADDRESS, else a local Ray.
        console: a rich Console: where Ray runs, worker 0's progress and the result.
        quiet: no progress lines; default False.
        command_line: the command as typed, for run.json.
        cache_dir, use_cache: the prepared-data cache, as `modelctl train` takes it; default None:
            $MODELCTL_CACHE_DIR on the workers when set here, else their default folder.
        allow_worker_change: continue a run started on another number of workers; default False.
        tracking: where the chief also logs the run (`modelctl.tracking.MlflowSettings`); default None.

    Raises:
        RayError: Ray cannot be reached, or the run failed after `shape.max_failures` restarts.
    """
    check_shape(shape)

    config = {"spec": str(Path(spec).resolve()), "overrides": list(overrides),
              "run_dir": _where(run_dir), "quiet": quiet, "command_line": command_line,
              "cache_dir": str(cache_dir) if cache_dir else os.environ.get("MODELCTL_CACHE_DIR"),
              "use_cache": use_cache, "allow_worker_change": allow_worker_change,
              "tracking": None if tracking is None else tracking.as_dict()}
    from modelctl.util.tf import tensorflow

    tensorflow()  # Ray Train's TensorFlow module imports it: quietly, first
    with connect(address, console=console):
        import ray.train
        from ray.train.tensorflow import TensorflowTrainer

        resources = {"CPU": shape.cpus_per_worker, **({"GPU": shape.gpus_per_worker} if shape.gpus_per_worker
                                                      else {})}
        storage = Path(tempfile.mkdtemp(prefix="modelctl-ray-"))  # Ray Train's own records, not the run's
        console.print(f"ray: {shape.workers} worker{'s' if shape.workers != 1 else ''} "
                      f"({shape.cpus_per_worker:g} CPU{'s' if shape.cpus_per_worker != 1 else ''}"
                      f"{f', {shape.gpus_per_worker:g} GPU' if shape.gpus_per_worker else ''} each), up to "
                      f"{'unlimited' if shape.max_failures < 0 else shape.max_failures} restarts; run folder "
                      f"{config['run_dir']}", markup=False)
        trainer = TensorflowTrainer(
            train_loop_per_worker=worker, train_loop_config=config,
            scaling_config=ray.train.ScalingConfig(num_workers=shape.workers, use_gpu=shape.gpus_per_worker > 0,
                                                   resources_per_worker=resources),
            run_config=ray.train.RunConfig(name=Path(config["run_dir"]).name, storage_path=str(storage),
                                           failure_config=ray.train.FailureConfig(max_failures=shape.max_failures)))
        try:
            trainer.fit()
        except Exception as error:  # Ray Train's TrainingFailedError and the worker's error it holds
            raise RayError(_failure(error, run_dir=config["run_dir"], shape=shape)) from None
        finally:
            shutil.rmtree(storage, ignore_errors=True)
    return _result(config["run_dir"])


def _where(run_dir) -> str:
    """The run folder as every worker names it: absolute, or its object storage URL."""
    from modelctl.util.storage import is_remote

    return str(run_dir) if is_remote(run_dir) else str(Path(run_dir).resolve())


def _result(run_dir: str):
    """The `TrainResult` of the run the workers left in `run_dir`."""
    import json

    from modelctl.runs import RunFolder
    from modelctl.runs.folder import METRICS, RECORD
    from modelctl.training.trainer import TrainResult
    from modelctl.util.storage import filesystem, is_remote, join

    if is_remote(run_dir):
        fs = filesystem(run_dir)
        record = json.loads(fs.cat_file(join(run_dir, RECORD)))
        metrics = json.loads(fs.cat_file(join(run_dir, METRICS)))
    else:
        run = RunFolder(run_dir)
        record, metrics = run.record.values, run.metrics
    return TrainResult(run_dir if is_remote(run_dir) else Path(run_dir), metrics, [], record.get("strategy") or {},
                       record.get("examples") or {}, epochs=int(record.get("epochs_completed") or 0),
                       best_epoch=record.get("best_epoch"))


def _failure(error: BaseException, *, run_dir: str, shape: Shape) -> str:
    """One line on a run Ray gave up on: the workers' own message where one was a modelctl error."""
    from modelctl.errors import ModelctlError

    # Ray Train's WorkerGroupError keeps each failed worker's exception by rank; a worker's own error (bad data,
    # say) is a ModelctlError there, or the cause of Ray's wrapper of it.
    candidates = [error, *dict(sorted((getattr(error, "worker_failures", None) or {}).items())).values()]
    for candidate in candidates:
        seen, cause = set(), candidate
        while cause is not None and id(cause) not in seen:
            seen.add(id(cause))
            if isinstance(cause, ModelctlError):
                return f"training on Ray failed: {cause}"
            cause = cause.__cause__ or cause.__context__
    first = next((line.strip() for line in str(error).splitlines() if line.strip()), type(error).__name__)
    restarts = "without restarts" if shape.max_failures == 0 else f"after {shape.max_failures} restarts"
    return (f"training on Ray failed {restarts}: {first}. Completed epochs are kept in {run_dir}: the same "
            "command continues it")


def worker(config: dict) -> None:
    """One Ray Train worker: `train_or_resume` on the run folder, in the multi-worker cluster Ray's TF_CONFIG
    describes. Worker 0 (the chief) prints the run's progress; the others print nothing."""
    # Ray's TensorFlow backend sets TF_USE_LEGACY_KERAS=1 on every worker, which would make TensorFlow's
    # `tf.keras` the Keras 2 package (tf_keras). modelctl builds, trains and saves with Keras 3 (`import keras`):
    # the variable goes, so that nothing in the process reaches for Keras 2.
    os.environ.pop("TF_USE_LEGACY_KERAS", None)
    import json

    import ray.train
    from rich.console import Console

    from modelctl.data.cache import DataCache
    from modelctl.errors import ModelctlError
    from modelctl.evaluation.plots import learning_curves_plot
    from modelctl.spec.validate import load_spec
    from modelctl.training.restart import train_or_resume

    rank = ray.train.get_context().get_world_rank()
    console = Console(highlight=False, soft_wrap=True) if rank == 0 else Console(file=io.StringIO())
    if rank == 0 and not config["quiet"]:
        addresses = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {}).get("worker", [])
        console.print(f"ray: TF_CONFIG workers {', '.join(addresses)}", markup=False)
    document = load_spec(config["spec"], config["overrides"])
    cache = DataCache(folder=Path(config["cache_dir"]) if config["cache_dir"] else None, enabled=config["use_cache"])
    tracking = None
    if config["tracking"] is not None:
        from modelctl.tracking.settings import MlflowSettings

        tracking = MlflowSettings(**config["tracking"])
    try:
        train_or_resume(document, Path(config["run_dir"]), console, quiet=config["quiet"] or rank != 0, live=False,
                        command_line=config["command_line"], plot_history=learning_curves_plot, cache=cache,
                        allow_worker_change=config["allow_worker_change"], tracking=tracking)
    except ModelctlError as error:
        if error.exit_code < 128:
            raise
        # A lost peer or an interruption: the process ends as a process started by hand would, with its one line
        # and exit code, and Ray starts the group again. Raised, the error would reach Ray's log as a traceback.
        console.print(f"error: {error}", markup=False)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(error.exit_code)
