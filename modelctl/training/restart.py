"""Runs that restart themselves: the same command, run again by a scheduler, continues the run.

    result = train_or_resume(document, Path("runs/iris/main"), console, output=Path("runs"))

A scheduler that re-runs a command after a failure or a preemption (Ray Train's `FailureConfig`, Kubeflow's
TFJob, a Vertex AI custom job, SLURM's `--requeue`) runs `modelctl train SPEC --run-dir DIR --resume-if-exists`
again, on every worker. `train_or_resume` then continues DIR from its last completed epoch when DIR holds one,
starts the run in DIR when it holds none, and trains nothing when the run in DIR has completed. A run continues
only with the spec it was started with, and, unless the resume allows it (`--allow-worker-change`), on as many
replicas and workers as it was started on: another count changes how the global batch is split and how the
learning rate is scaled, so the resumed run would no longer end where an uninterrupted one does.

Resuming records itself in run.json's `resumes` (the epoch, the time, the shape before and after); a run whose
worker was lost is marked `interrupted` with the command that continues it (`peer_lost`).
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

from modelctl.runs import RunError, RunFolder, read_json, spec_hash
from modelctl.runs.folder import LAST_STATE
from modelctl.training.cluster import PeerLost, lost_reason
from modelctl.training.errors import TrainingError

class WorkersChanged(TrainingError):
    """A run resumed on another number of replicas or workers than it was started on. Exit code 1."""


def _shape(strategy: dict) -> dict:
    return {"distribution": strategy.get("distribution"), "workers": int(strategy.get("workers") or 1),
            "replicas": int(strategy.get("replicas") or 1)}


def _described(shape: dict) -> str:
    workers = f"{shape['workers']} worker{'s' if shape['workers'] != 1 else ''}, " if shape["workers"] > 1 else ""
    return f"{workers}{shape['replicas']} replica{'s' if shape['replicas'] != 1 else ''} ({shape['distribution']})"


def check_workers(folder: Path, plan, *, allow: bool, epoch: int) -> dict | None:
    """The `resumes` entry of continuing `folder` at `epoch` under `plan`; None for a run.json without a strategy.

    Args:
        folder: the run folder being resumed.
        plan: this process's `hardware.Plan`.
        allow: continue on another number of replicas or workers (`--allow-worker-change`).
        epoch: the last completed epoch, the one the run continues after.

    Raises:
        WorkersChanged: the run was started (or last resumed) on another number of replicas or workers, and
            `allow` is False.
    """
    record = RunFolder(folder).record.values
    if not record.get("strategy"):
        return None
    earlier = record.get("resumes") or []
    before = earlier[-1]["to"] if earlier else _shape(record["strategy"])
    now = _shape(plan.as_dict())
    changed = (before["workers"], before["replicas"]) != (now["workers"], now["replicas"])
    if changed and not allow:
        raise WorkersChanged(
            f"{folder}: the run was started on {_described(before)}, and this process would continue it on "
            f"{_described(now)}: that changes how each global batch is split and the learning rate's scaling, so "
            f"it would not end as the run would have. Resume it on {_described(before)} as it was started (TF_CONFIG "
            "on every worker, or --ray --workers N), or add --allow-worker-change to continue anyway (run.json "
            "records it)")
    return {"epoch": epoch, "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "from": before, "to": now, "workers_changed": changed}


def mark_resumed(folder: Path, resumed: dict) -> None:
    """run.json says `running` again, and lists the resume under `resumes`."""
    run = RunFolder(folder)
    record = run.record
    run.write_record(record.updated(status="running", resumes=[*(record.values.get("resumes") or []), resumed]))


def peer_lost(lost: str, error: BaseException, *, folder: Path | None, shown: Path | None, chief: str) -> PeerLost:
    """The error that ends a worker whose peer `lost` is gone, with run.json marked `interrupted`.

    Args:
        lost: the lost worker, as `cluster.lost_peer` names it (`worker 1`).
        error: TensorFlow's error saying so.
        folder: this process's run folder when it is the chief's; None on another worker.
        shown: the chief's run folder, as the messages name it; None before it is known.
        chief: the chief's name (`worker 0`, `chief 0`): another worker marks the chief's run.json only when
            the chief itself was lost, and the folder can be read from here.
    """
    why = lost_reason(error)
    where = shown if shown is not None else folder
    completed = last_epoch(where) if where is not None else 0
    marked = folder if folder is not None else \
        shown if shown is not None and lost == chief and RunFolder(shown).is_run else None
    again = f"modelctl train --resume {where}" if where is not None else "the same command"
    if marked is not None:
        run = RunFolder(marked)
        run.write_record(run.record.updated(status="interrupted", epochs_completed=completed,
                                            interrupted={"lost": lost, "reason": why, "resume": again}))
    if not completed:
        return PeerLost(f"{lost} of the multi-worker run was lost ({why}) before any epoch was completed; start "
                        "every worker again with the same command")
    return PeerLost(f"{lost} of the multi-worker run was lost ({why}); epoch {completed} is saved in "
                    f"{RunFolder(where).checkpoints}. Start every worker again with the same command and "
                    f"--resume-if-exists, or continue with: {again}")


def last_epoch(folder: Path) -> int:
    """The last completed epoch the run in `folder` saved (`checkpoints/last.json`); 0 when none was."""
    last = RunFolder(folder).checkpoints / LAST_STATE
    return int(read_json(last).get("epoch", 0)) if last.is_file() else 0


def train_or_resume(document, run_dir: Path, console, *, shown: str | None = None, **options):
    """Continue the run in `run_dir` from its last completed epoch, start it there when it holds none, or, when
    it has completed, return its metrics without training.

    Args:
        document: the loaded spec the command names (with its overrides).
        run_dir: the run's folder, or its URL on object storage (`s3://`, `gs://`: trained in a local copy and
            uploaded after every epoch, `modelctl.training.remote`).
        console: a rich Console.
        shown: what messages call the run folder; default None: `run_dir`.
        **options: what `trainer.train` takes besides (output, quiet, live, command_line, plot_history,
            cache, tracking, allow_worker_change, ...).

    Raises:
        RunError: `run_dir` holds a run of another spec.
    """
    from modelctl.training.trainer import TrainResult, train
    from modelctl.util.storage import is_remote

    if is_remote(run_dir):
        from modelctl.training.remote import remote_run

        with remote_run(str(run_dir)) as (local, uploader):
            options["extra_callbacks"] = [*(options.get("extra_callbacks") or []), uploader]
            result = train_or_resume(document, local, console, shown=str(run_dir), **options)
        return dataclasses.replace(result, run_dir=str(run_dir))
    run_dir = Path(run_dir)
    shown = shown or str(run_dir)
    run = RunFolder(run_dir)
    record = run.record.values if run.is_run else None
    if record is not None and record.get("spec_hash") not in (None, spec_hash(document.data)):
        raise RunError(f"{shown}: holds a run of another spec (spec hash {record['spec_hash']}, and "
                       f"{document.source} with its --set values gives {spec_hash(document.data)}); "
                       "--resume-if-exists continues a run with the spec it was started with. Give another "
                       "--run-dir for the new spec")
    output = options.pop("output", run_dir.parent)
    if record is not None and record.get("status") == "completed" and run.metrics_file.is_file():
        console.print(f"{shown}: the run has completed; nothing to train", markup=False)
        return TrainResult(run_dir, run.metrics, [], record.get("strategy") or {},
                           record.get("examples") or {}, epochs=int(record.get("epochs_completed") or 0),
                           best_epoch=record.get("best_epoch"))
    if record is not None and last_epoch(run_dir):
        console.print(f"{shown}: continuing after epoch {last_epoch(run_dir)}", markup=False)
        from modelctl.spec.run import load_run_spec

        return train(load_run_spec(run_dir), output, console, resume=run_dir, **options)
    return train(document, output, console, run_dir=run_dir, **options)
