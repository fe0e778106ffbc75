"""What each process of a multi-worker run does: its shard, where it writes, and the end of a run that lost a peer.

    shard(plan, cluster)                 # this worker's part of the training split, or None
    scratch = worker_scratch(plan, cluster)   # a temporary folder for a worker other than the chief
    chief = chief_folder(strategy, folder)    # the chief's run folder, as every worker learns it
    lost = lost_peer(error, cluster)     # "worker 1" when `error` is TensorFlow's word that a peer is gone

Every worker of a multi-worker run trains the same model in step with the others: the chief (task `chief`, or
worker 0 when the cluster has none) keeps the run folder, the others save into a temporary copy that is deleted
when training ends. When a worker is lost (killed, its machine preempted), the others learn it from
TensorFlow's coordination service (missed heartbeats) or from a collective that times out; `PeerLost` ends each
of them with one line naming the lost worker, and an exit code (`PEER_LOST_EXIT_CODE`, 129) that schedulers
which retry only exit codes from 128 up (Kubeflow's `restartPolicy: ExitCode`) retry.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from modelctl.training.errors import TrainingError

PEER_LOST_EXIT_CODE = 129
"""Exit code of a worker whose peer was lost: 128 + SIGHUP, "the other end hung up". From 128 up, as an
interruption's, so that a scheduler retries it; the same command with `--resume-if-exists` continues the run."""

PATH_BYTES = 4096
"""Room for the chief's run folder in the one collective that tells it to every worker."""

_TASK = re.compile(r"/job:(\w+)(?:/replica:\d+)?/task:(\d+)")
_LOST = ("unhealthy", "heartbeat", "aborted", "timed out", "timeout", "deadline", "unavailable",
         "connection reset", "connection refused", "failed to connect", "socket closed", "preempt")
"""Words by which an InternalError (rather than the kinds a lost peer raises) says a peer is gone."""


class PeerLost(TrainingError):
    """Another worker of a multi-worker run stopped answering (killed, its machine lost). Exit code 129."""

    exit_code = PEER_LOST_EXIT_CODE


def shard(plan, cluster):
    """This process's shard of the training split under multi-worker training; None otherwise.

    Workers are numbered as TensorFlow numbers them: the chief 0, then the workers by index.
    """
    from modelctl.data.shards import Shard

    if plan.distribution != "multi_worker" or cluster is None or cluster.task_type not in ("chief", "worker"):
        return None
    worker = cluster.task_index + (cluster.count("chief") if cluster.task_type == "worker" else 0)
    return Shard(worker, plan.workers, max(1, plan.replicas // plan.workers))


def is_chief(cluster) -> bool:
    """Whether this process keeps the run folder: task `chief`, or worker 0 of a cluster without one."""
    return cluster.task_type == "chief" or (cluster.task_type == "worker" and cluster.task_index == 0
                                            and not cluster.count("chief"))


def chief_name(cluster) -> str:
    """The chief as `lost_peer` names a task: `chief 0`, or `worker 0` in a cluster without a chief task."""
    return "chief 0" if cluster is not None and cluster.count("chief") else "worker 0"


def worker_scratch(plan, cluster) -> Path | None:
    """A temporary folder for a multi-worker run on a worker other than the chief; None otherwise.

    Every worker of a multi-worker run saves checkpoints and the model as the chief does, because saving
    reads variables through collective operations every worker must join, but only the chief's files are
    kept: those of the others go to this folder, deleted when training ends.
    """
    if plan.distribution != "multi_worker" or cluster is None or cluster.task_type is None or is_chief(cluster):
        return None
    return Path(tempfile.mkdtemp(prefix=f"modelctl-{cluster.task_type}-{cluster.task_index}-"))


def scratch_run_dir(scratch: Path, resume: Path | None) -> Path:
    """The run folder of a non-chief worker inside `scratch`: a copy of the run being resumed (which every
    worker must be able to read), or an empty one."""
    from modelctl.runs import RunFolder

    folder = scratch / "run"
    if resume:
        shutil.copytree(resume, folder)
    else:
        RunFolder(folder).checkpoints.mkdir(parents=True)
    return folder


def chief_folder(strategy, folder: Path) -> Path:
    """The chief's run folder, as the chief wrote it (absolute), on every worker.

    A collective every worker joins, once, before the first epoch: replica 0 (the chief's first device)
    contributes its folder's path as bytes, every other replica zeros, and the sum is the chief's path. A
    worker other than the chief names it in its messages (the command that continues the run), having only a
    temporary folder of its own.
    """
    import numpy as np

    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    encoded = str(Path(folder).resolve()).encode()[:PATH_BYTES]
    codes = np.zeros(PATH_BYTES, np.int32)
    codes[:len(encoded)] = np.frombuffer(encoded, np.uint8)
    mine = tf.constant(codes)

    def contribute():
        first = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 0)
        return tf.where(first, mine, tf.zeros_like(mine))

    summed = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(contribute), axis=None)
    data = np.asarray(summed.numpy(), np.int64)
    return Path(bytes(int(value) for value in data[data > 0]).decode(errors="replace"))


def lost_peer(error: BaseException, cluster) -> str | None:
    """The worker `error` says was lost, such as `worker 1`; None when `error` is not TensorFlow's word that a peer
    of a multi-worker run is gone (missed heartbeats, an aborted or timed-out collective, a refused connection).

    The first task named in the message other than this process's own is the lost one; `a peer` when the
    message names none.
    """
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    errors = tf.errors
    if not isinstance(error, (errors.UnavailableError, errors.DeadlineExceededError, errors.AbortedError,
                              errors.CancelledError, errors.InternalError)):
        return None
    text = str(error)
    if isinstance(error, errors.InternalError) and not any(word in text.lower() for word in _LOST):
        return None
    own = (cluster.task_type, cluster.task_index) if cluster is not None else None
    # The message names the failing tasks after its first line ("The following tasks are unhealthy:") or in it
    # ("Error reported from /job:worker/task:1").
    for job, index in _TASK.findall(text.split("tasks are unhealthy", 1)[-1]) + _TASK.findall(text):
        if (job, int(index)) != own:
            return f"{job} {index}"
    return "a peer"


REASONS = (
    (("heartbeat", "unhealthy"), "it stopped sending heartbeats"),
    (("connection reset", "connection refused", "socket closed", "failed to connect", "broken pipe"),
     "its connection closed"),
    (("deadline", "timed out", "timeout"), "a collective operation timed out"),
)
"""Words of TensorFlow's message, and the reason a worker's message gives for them."""


def lost_reason(error: BaseException) -> str:
    """Why TensorFlow says a peer is gone, in a few words: missed heartbeats, a closed connection, a timeout, or
    the first line of its message that says more than "Graph execution error"."""
    text = str(error).lower()
    for words, reason in REASONS:
        if any(word in text for word in words):
            return reason
    lines = [re.sub(r"^\{\{function_node [^}]*\}\}\s*", "", line.strip()) for line in str(error).splitlines()]
    said = [line for line in lines if line and not line.startswith("Graph execution error")]
    return said[0].rstrip(".") if said else type(error).__name__
