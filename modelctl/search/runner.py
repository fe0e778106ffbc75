"""`modelctl search`: create or join the study, run its workers, report.

One worker runs in this process. `workers=K` above one starts K worker
processes (`python -m modelctl.search.worker`) that share the study through its
storage, waits for them, and reports. SIGTERM sent to this process is passed on
to the workers; Ctrl-C reaches them from the terminal. Either way each marks
its trial under way failed (`interrupted`), and the report is written from
what the storage holds.
"""

from __future__ import annotations

import dataclasses

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from modelctl.errors import ModelctlError, UsageError
from modelctl.search.study import SearchError, Settings, check_storage, open_study


def settings_for(spec: str, overrides: list[str], *, output: Path, trials: int | None, storage: str | None,
                 study: str | None, cache_dir: Path | None = None, use_cache: bool = True,
                 folds: int | None = None):
    """The search's settings and the loaded spec (validated, `search` section included).

    Raises:
        SpecError: the spec has errors.
        UsageError: the spec has no `search` section, or `trials` is below 1.
    """
    from modelctl.spec.validate import load_spec

    document = load_spec(spec, overrides)
    search = document.spec.search
    if search is None:
        raise UsageError(f"{spec}: the spec has no `search` section; add one with the parameters to vary "
                         "(docs/spec.md, `search`)")
    if trials is not None and trials < 1:
        raise UsageError(f"--trials must be at least 1; received {trials}")
    if folds is not None and folds < 2:
        raise UsageError(f"--folds must be at least 2; received {folds}")
    name = study or document.spec.name
    if not name or "/" in name or name.startswith("."):
        raise UsageError(f"--study {name!r}: a study name is a single folder name")
    folder = Path(output) / document.spec.name / "search" / name
    settings = Settings(spec=str(spec), overrides=tuple(overrides), output=str(output), study=name,
                        folder=str(folder), storage=storage, trials=trials or search.trials,
                        cache_dir=None if cache_dir is None else str(cache_dir), use_cache=use_cache, folds=folds)
    return settings, document


def run_search(spec: str, overrides: list[str], *, output: Path, trials: int | None = None, workers: int = 1,
               storage: str | None = None, study: str | None = None, resume: bool = False, folds: int | None = None,
               console, cache_dir: Path | None = None, use_cache: bool = True, track: str | None = None,
               launch=None) -> dict:
    """Run a search to its end (or its interruption) and write its report; returns search.json's content.

    Args:
        spec: the spec file, with a `search` section.
        overrides: `--set` arguments, applied to every trial.
        output: the folder runs go in; the study's is `output/NAME/search/STUDY/`.
        trials: trials to complete; default None: `search.trials`.
        workers: processes running trials at once on this machine; default 1 (this process).
        storage: a database URL (postgresql://, mysql+pymysql://, sqlite:///); default None: a journal file in
            the study's folder.
        study: the study's name; default None: the spec's name.
        resume: continue the study in the study's folder (with `storage`, an existing study is always joined).
        folds: make each trial's metric the mean over this many folds of k-fold cross-validation (K runs in its
            folder, `fold-1` to `fold-K`); default None: one run per trial.
        console: a rich Console.
        cache_dir, use_cache: the prepared-data cache, as `modelctl train` takes it.
        track: `--track`: None (default: as the spec's `tracking` section says) or `mlflow`. A tracked search is
            one MLflow run (the study: its best value, search.json and best.yaml) whose child runs are the trials.
        launch: runs the workers elsewhere, called as `launch(settings, workers, console)` and returning their
            exit codes (such as `modelctl.launch.ray_search.ray_tasks(...)`: Ray tasks); default None: one
            worker in this process, or `workers` processes on this machine.

    Raises:
        ModelctlError: a bad spec, storage or study; an interruption (after the report is written).
    """
    if workers < 1:
        raise UsageError(f"--workers must be at least 1; received {workers}")
    check_storage(storage, workers)
    settings, document = settings_for(spec, overrides, output=output, trials=trials, storage=storage, study=study,
                                      cache_dir=cache_dir, use_cache=use_cache, folds=folds)
    from modelctl.util.tf import tensorflow

    tensorflow()  # imported quietly, before a trial imports it with its native log lines
    search = document.spec.search
    join = resume or storage is not None
    seed = document.spec.seed
    open_study(settings, search, seed=seed, create=not resume, join=join)
    tracked = _track(settings, document, track, console=console)
    if tracked is not None:
        settings = dataclasses.replace(settings, tracking=tracked.settings.as_dict(), tracking_parent=tracked.run_id)
    console.print(f"search {settings.study}: {settings.trials} trials of {settings.spec} on "
                  f"{workers} worker{'s' if workers > 1 else ''}, study in {settings.folder}", markup=False)
    stopped: ModelctlError | None = None
    try:
        if workers == 1 and launch is None:
            from modelctl.search.worker import run_worker

            run_worker(settings, console, index=0, document=document)
        else:
            codes = (launch or _run_processes)(settings, workers, console)
            _check_codes(codes, finished=_finished(settings, search, seed=seed), console=console)
    except KeyboardInterrupt:
        stopped = SearchError("search interrupted (Ctrl-C)", exit_code=130)
    except ModelctlError as error:
        stopped = error
    from modelctl.search.report import write_report

    record = write_report(open_study(settings, search, seed=seed, create=False, join=True), settings, search,
                          console=console)
    if tracked is not None:
        _finish_tracking(tracked, record, settings, completed=stopped is None)
    if stopped is not None:
        again = f"modelctl search {spec} --resume" + (f" --study {settings.study}" if study else "")
        raise SearchError(f"{stopped}; finished trials are kept in {settings.folder}: continue with {again}",
                          exit_code=stopped.exit_code)
    return record


def _track(settings: Settings, document, track: str | None, *, console):
    """The MLflow run of the whole search (its study folder), or None when the search is not tracked. The study
    folder gets a run record naming the spec and study, which the MLflow run's tags come from."""
    from modelctl.runs import RunFolder, spec_hash, versions
    from modelctl.tracking.settings import mlflow_settings

    tracking = mlflow_settings(document.spec, track=track)
    if tracking is None:
        return None
    from modelctl.tracking import MlflowRun

    folder = Path(settings.folder)
    folder.mkdir(parents=True, exist_ok=True)
    RunFolder(folder).write_record({"name": document.spec.name, "spec_hash": spec_hash(document.data),
                                    "search": settings.study, "versions": versions(), "status": "running"})
    tracked = MlflowRun.start(tracking, folder, console, params=False)
    return tracked if tracked.active else None


def _finish_tracking(tracked, record: dict, settings: Settings, *, completed: bool) -> None:
    """Log the search's best value, search.json and best.yaml to its MLflow run and close it."""
    from modelctl.runs import RunFolder

    folder = Path(settings.folder)
    best = record.get("best")
    if best is not None and best.get("value") is not None:
        tracked.log_metrics({"best_value": float(best["value"]), "best_trial": float(best["number"])})
    tracked.log_files([(path, None) for path in (folder / "search.json", folder / "best.yaml",
                                                 RunFolder(folder).record_file) if path.is_file()])
    tracked.finish("FINISHED" if completed else "KILLED")


def _finished(settings: Settings, search, *, seed: int) -> bool:
    """Whether the study has all its trials, none of them still running."""
    from modelctl.search.worker import counted

    study = open_study(settings, search, seed=seed, create=False, join=True)
    return len([trial for trial in counted(study.get_trials(deepcopy=False))
                if trial.state.name not in ("RUNNING", "WAITING")]) >= settings.trials


def _check_codes(codes: list[int], *, finished: bool, console) -> None:
    """Say how the workers ended. Workers that ended early (killed, their machine lost) are a note when the
    others finished the study's trials, whose lost ones they ran again.

    Raises:
        SearchError: a worker was interrupted (128 + signal) or failed, and the study lacks trials.
    """
    ended = [code for code in codes if code != 0]
    if not ended:
        return
    shown = ", ".join(str(code) if code >= 0 else signal.Signals(-code).name for code in ended)
    if finished:
        console.print(f"{len(ended)} of {len(codes)} workers ended early ({shown}); the others finished the "
                      "study's trials, running the lost ones again", markup=False)
        return
    interrupted = [code for code in ended if code >= 128 or code < 0]
    if interrupted:
        code = interrupted[0] if interrupted[0] > 0 else 128 - interrupted[0]
        raise SearchError(f"{len(interrupted)} of {len(codes)} workers were interrupted", exit_code=code)
    raise SearchError(f"{len(ended)} of {len(codes)} workers failed (exit codes {shown}); their messages are above")


def _run_processes(settings: Settings, workers: int, console) -> list[int]:
    """Start `workers` worker processes, wait for them and return their exit codes (negative: killed by that
    signal); SIGTERM is passed on to each."""
    command = [sys.executable, "-m", "modelctl.search.worker", json.dumps(settings.as_dict())]
    processes = [subprocess.Popen([*command, str(index)], env=os.environ.copy()) for index in range(workers)]

    def forward(number, frame):
        for process in processes:
            if process.poll() is None:
                process.send_signal(number)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        return [_wait(process) for process in processes]
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait(process) -> int:
    while True:
        try:
            return process.wait()
        except KeyboardInterrupt:
            continue  # the workers got Ctrl-C too; wait for them to close their trials
