"""A search worker: trials, one after another in this process, until the study has its trials.

TensorFlow is imported once per worker; `keras.backend.clear_session()` runs
between trials. Several workers (processes started by `--workers K`, or
`modelctl search` on other machines against one database) share a study
through its storage: Optuna gives each trial a number, and a trial asked for
after the study already has `trials` trials (counting those running) is
closed unrun as a surplus, so exactly `trials` are completed or pruned.

SIGTERM or Ctrl-C stops the worker: a trial being trained stops at the end of
its epoch, is marked failed with `interrupted` set and keeps its run folder;
every finished trial is in the storage already. A worker killed outright
(SIGKILL, a lost machine) leaves its trial running in the storage: the other
workers find it (`liveness`), mark it failed and train its parameters again,
since a worker whose study has all its trials counted waits for the running
ones of other workers to end before it exits. Run as a process of its own:

    python -m modelctl.search.worker '<settings as JSON>' INDEX
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from pathlib import Path

from modelctl.errors import ModelctlError
from modelctl.search.liveness import Heartbeat, claim, release_lost_trials
from modelctl.search.study import Settings, has_heartbeat, open_study, worker_seed
from modelctl.search.trial import SurplusTrial, run_trial, trial_folder

WAIT_SECONDS = 2
"""How often a worker whose study has all its trials looks at the trials other workers still run."""
COUNTED = ("COMPLETE", "PRUNED", "RUNNING", "WAITING")
"""Trial states that count towards the study's trials: failed ones do not, so a failed trial is replaced."""


class SearchInterrupted(ModelctlError):
    """The worker got SIGTERM between two epochs; exit code 128 + the signal."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.exit_code = 128 + signal_number


def counted(trials) -> list:
    """The trials that count towards the study's number: completed, pruned or running, surplus ones excepted."""
    return [trial for trial in trials if trial.state.name in COUNTED and not trial.user_attrs.get("surplus")]


def run_worker(settings: Settings, console, *, index: int | None, join: bool = True, document=None) -> int:
    """Run trials until the study has `settings.trials`; returns how many this worker completed or pruned.

    Args:
        settings: the search's settings.
        console: a rich Console for one line per trial.
        index: this worker's number among those of one `--workers K`: on the journal storage its sampler seed is
            the spec's plus it; on a database (shared with other machines) the process id is added instead.
        join: load the study when it exists (every worker but the one that creates it).
        document: the spec, loaded and validated with the search's overrides; default None loads it (a worker
            process).

    Raises:
        TrainingInterrupted, SearchInterrupted: SIGINT or SIGTERM; the trial under way is marked failed.
    """
    import optuna

    from modelctl.data.cache import DataCache
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import TrainingInterrupted

    document = document if document is not None else load_spec(settings.spec, settings.overrides)
    search = document.spec.search
    metric = search.metric
    parameters = search.parameters
    seed = document.spec.seed
    # Workers on other machines share a database study and may have the same index: their seeds differ by process.
    study = open_study(settings, search, seed=worker_seed(seed, index if settings.storage is None else None),
                       create=True, join=join)
    heartbeat = has_heartbeat(settings)
    release_lost_trials(study, heartbeat=heartbeat)
    cache = DataCache(folder=Path(settings.cache_dir) if settings.cache_dir else None, enabled=settings.use_cache)
    folder = Path(settings.folder)
    tracking = None
    if settings.tracking is not None:
        from modelctl.tracking.settings import MlflowSettings

        tracking = MlflowSettings(**settings.tracking)
    done = 0

    def objective(trial):
        import keras

        claim(trial)
        number = trial.number
        ahead = [other for other in counted(study.get_trials(deepcopy=False)) if other.number < number]
        if len(ahead) >= settings.trials:
            trial.set_user_attr("surplus", True)
            study.stop()
            raise SurplusTrial(f"trial {number} is beyond the study's {settings.trials}")
        if stop.received is not None:
            raise SearchInterrupted(f"search worker stopped by {signal.Signals(stop.received).name}", stop.received)
        keras.backend.clear_session()
        stop.in_trial = True
        started = time.perf_counter()
        try:
            # A database beats for the trial itself (Optuna's heartbeat); a journal file has the worker do it.
            with contextlib.nullcontext() if heartbeat else Heartbeat(trial):
                value = run_trial(trial, spec=settings.spec, overrides=list(settings.overrides),
                                  parameters=parameters, metric=metric, folder=trial_folder(folder, number),
                                  output=Path(settings.output), console=console, cache=cache, folds=settings.folds,
                                  tracking=tracking, tracking_parent=settings.tracking_parent)
        except optuna.TrialPruned:
            _say(console, trial, "pruned", metric=metric, value=None, started=started)
            raise
        except (TrainingInterrupted, SearchInterrupted, KeyboardInterrupt) as error:
            trial.set_user_attr("interrupted", True)
            _say(console, trial, "interrupted", metric=metric, value=None, started=started)
            raise error
        except ModelctlError as error:
            trial.set_user_attr("error", str(error))
            _say(console, trial, f"failed: {error}", metric=metric, value=None, started=started)
            raise TrialFailed(str(error)) from error
        finally:
            stop.in_trial = False
        _say(console, trial, "", metric=metric, value=value, started=started)
        return value

    def enough(study_, frozen) -> None:
        nonlocal done
        if frozen.state.name in ("COMPLETE", "PRUNED"):
            done += 1
        finished = counted(study_.get_trials(deepcopy=False))  # running ones too: other workers finish them
        failed = [t for t in study_.get_trials(deepcopy=False) if t.state.name == "FAIL"
                  and t.user_attrs.get("error")]
        if len(finished) >= settings.trials or len(failed) >= settings.trials or stop.received is not None:
            study_.stop()

    if len([t for t in counted(study.get_trials(deepcopy=False)) if t.state.name != "RUNNING"]) >= settings.trials:
        return 0
    stop = _Stop()
    previous = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, stop.handle)
    except ValueError:  # not the main thread
        previous = None
    try:
        while True:
            study.optimize(objective, callbacks=[enough], catch=(SurplusTrial, TrialFailed), gc_after_trial=False)
            if stop.received is not None or not _wait_for_others(study, settings, heartbeat=heartbeat, stop=stop):
                break
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    if stop.received is not None:
        raise SearchInterrupted(f"search worker stopped by {signal.Signals(stop.received).name}", stop.received)
    return done


def _wait_for_others(study, settings: Settings, *, heartbeat: bool, stop) -> bool:
    """Wait while other workers run trials that the study counts, releasing those whose worker is gone; True as
    soon as the study lacks trials again (a lost one was failed and re-enqueued), False when none is running."""
    import optuna

    while stop.received is None:
        running = [trial for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
                   if not trial.user_attrs.get("surplus")]
        if not running:
            return False
        release_lost_trials(study, heartbeat=heartbeat)
        if len(counted(study.get_trials(deepcopy=False))) < settings.trials or any(
                trial.state.name == "WAITING" for trial in study.get_trials(deepcopy=False)):
            return True
        time.sleep(WAIT_SECONDS)
    return False


class TrialFailed(ModelctlError):
    """A trial that could not be trained (a diverging loss, bad data); the search goes on without it."""


class _Stop:
    """SIGTERM: inside a trial, stop it now (training itself stops at the end of its epoch); between trials, stop
    before the next one, so that the study's storage is never cut off in the middle of a write."""

    def __init__(self):
        self.received: int | None = None
        self.in_trial = False

    def handle(self, number, frame) -> None:
        self.received = number
        if self.in_trial:
            raise SearchInterrupted(f"search worker stopped by {signal.Signals(number).name}", number)


def _say(console, trial, state: str, *, metric: str, value: float | None, started: float) -> None:
    values = ", ".join(f"{name}={_short(value)}" for name, value in trial.params.items())
    result = f"{metric} {value:.4f}" if value is not None else state
    console.print(f"trial {trial.number}: {result} in {time.perf_counter() - started:.1f} s ({values})", markup=False)


def _short(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def main(argv: list[str] | None = None) -> int:
    """Entry point of a worker process: `python -m modelctl.search.worker SETTINGS_JSON INDEX`."""
    import os

    from rich.console import Console

    from modelctl.util.tf import tensorflow

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else argv
    settings = Settings.from_dict(json.loads(argv[0]))
    tensorflow()  # imported quietly, before the trial's modules import it with its native log lines
    console = Console(highlight=False, soft_wrap=True)
    try:
        run_worker(settings, console, index=int(argv[1]))
    except KeyboardInterrupt:
        return 130
    except ModelctlError as error:
        Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {error}", markup=False)
        return error.exit_code
    return 0


if __name__ == "__main__":
    from modelctl.util.process import exit_process

    exit_process(main())
