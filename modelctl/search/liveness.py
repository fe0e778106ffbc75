"""Trials whose worker died: found, marked failed and replaced, so that a study ends with the trials asked for.

    with Heartbeat(trial):                 # while a trial trains: "this trial's worker is alive"
        ...
    released = release_lost_trials(study, heartbeat=False)  # numbers of running trials whose worker is gone

A worker killed outright (SIGKILL, a lost machine, a Ray task's process ended) cannot close its trial, which
stays RUNNING in the storage. A running trial's worker is known to be gone when

- it ran on this machine and its process no longer exists (the trial's `host` and `pid`), or
- its heartbeat is older than `GRACE_SECONDS`: on a database, Optuna's own (RDBStorage's `heartbeat_interval`,
  `optuna.storages.fail_stale_trials`); on a journal file, which has none, the `heartbeat` time the worker
  writes into the trial every `HEARTBEAT_SECONDS` (`Heartbeat`).

Each such trial is marked failed, and Optuna's `RetryHeartbeatStaleTrialCallback` enqueues its parameters
again as a new trial, which the next worker to ask for one trains: failed trials do not count towards the
study's trials, the replacement does. The report shows the failed one as `lost` (failed without an error of
its own).
"""

from __future__ import annotations

import os
import socket
import threading
import time

HEARTBEAT_SECONDS = 30
"""How often a worker says its trial is alive (in the journal file, or Optuna's heartbeat on a database)."""
GRACE_SECONDS = 4 * HEARTBEAT_SECONDS
"""A running trial whose heartbeat is older than this has lost its worker."""
RETRIES = 3
"""Times a lost trial's parameters are tried again (`RetryHeartbeatStaleTrialCallback(max_retry=...)`)."""


def retry_callback():
    """Optuna's callback that enqueues a failed trial's parameters again, at most `RETRIES` times."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=RETRIES)


class Heartbeat:
    """While the block runs, writes the time into the trial's `heartbeat` user attribute every `interval`
    seconds (the journal storage has no heartbeat of its own; a database's is Optuna's and this is not used).

    Args:
        trial: the running `optuna.Trial`.
        interval: seconds between beats; default HEARTBEAT_SECONDS.
    """

    def __init__(self, trial, interval: float = HEARTBEAT_SECONDS):
        self.trial = trial
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="modelctl-trial-heartbeat", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.trial.set_user_attr("heartbeat", [self.trial.number, time.time()])
            except Exception:  # the trial was closed meanwhile (finished, or failed by another worker)
                return

    def __enter__(self):
        self.trial.set_user_attr("heartbeat", [self.trial.number, time.time()])
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def claim(trial) -> None:
    """Say which process runs `trial` (its `worker`: host, process id and the trial's number), first thing. A
    trial that runs a lost one's parameters again starts with a copy of its user attributes: the number tells
    the copied worker and heartbeat from this trial's own."""
    trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid(), "trial": trial.number})


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lost_reason(trial, *, host: str, now: float, grace: float = GRACE_SECONDS) -> str | None:
    """Why the running `trial`'s worker is known to be gone; None while it may be alive."""
    worker = trial.user_attrs.get("worker")
    if not isinstance(worker, dict) or worker.get("trial") != trial.number:
        return None  # not yet claimed by the process that runs it
    pid = worker.get("pid")
    if worker.get("host") == host and isinstance(pid, int) and not _alive(pid):
        return f"its worker (process {pid} on {host}) is gone"
    beat = trial.user_attrs.get("heartbeat")
    if isinstance(beat, list) and len(beat) == 2 and beat[0] == trial.number and now - beat[1] > grace:
        return f"its worker ({worker.get('host', 'unknown host')}) sent no heartbeat for {now - beat[1]:.0f} s"
    return None


def release_lost_trials(study, *, heartbeat: bool, grace: float = GRACE_SECONDS) -> list[int]:
    """Mark failed the running trials whose worker is gone, enqueue their parameters again, and return their
    numbers. `heartbeat`: the storage keeps Optuna's own heartbeats (`study.has_heartbeat`), whose stale-trial
    check runs too (the storage's `failed_trial_callback` enqueues those)."""
    import optuna

    released = []
    if heartbeat:
        before = {trial.number for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
        optuna.storages.fail_stale_trials(study)
        after = {trial.number for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))}
        released.extend(sorted(before - after))
    host, now, retry = socket.gethostname(), time.time(), retry_callback()
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        reason = lost_reason(trial, host=host, now=now, grace=grace)
        if reason is None:
            continue
        try:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        except (RuntimeError, ValueError):  # another worker closed it first
            continue
        retry(study, next(closed for closed in study.get_trials(deepcopy=False) if closed.number == trial.number))
        released.append(trial.number)
    return released
