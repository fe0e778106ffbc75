"""Searches shared by worker processes: two on a journal file, two against a real PostgreSQL server started here,
and a worker stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT
from system_programs import POSTGRES, debian_program
from test_search import search_spec

QUICK = ["--set", "training.epochs=1", "--set", "training.steps_per_epoch=2"]


def modelctl(*arguments: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.Popen([sys.executable, "-c", "from modelctl.cli.app import main; main()", *arguments],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout: float = 300) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def numbered_trials(folder: Path) -> list[int]:
    return sorted(int(path.name.removeprefix("trial-")) for path in folder.glob("trial-*"))


@pytest.mark.slow
def test_two_workers_on_the_journal_complete_exactly_the_trials_asked(write_spec, tmp_path):
    spec = write_spec(search_spec(sampler="random", trials=3))
    code, output = finish(modelctl("search", str(spec), "--workers", "2", *QUICK, cwd=tmp_path))
    assert code == 0, output
    folder = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    record = json.loads((folder / "search.json").read_text())
    assert sorted(row["number"] for row in record["trials"]) == [0, 1, 2]
    assert [row["state"] for row in record["trials"]] == ["complete"] * 3
    assert numbered_trials(folder) == [0, 1, 2]
    for row in record["trials"]:
        assert json.loads(Path(row["run_dir"], "run.json").read_text())["status"] == "completed"
    chosen = {json.dumps(row["parameters"], sort_keys=True) for row in record["trials"]}
    assert len(chosen) == 3  # the two workers' samplers draw different values
    assert (folder / "journal.log").is_file()


@pytest.mark.slow
def test_sigterm_marks_the_running_trial_interrupted_and_resume_continues(write_spec, tmp_path):
    spec = write_spec(search_spec(sampler="random", trials=1))
    folder = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    process = modelctl("search", str(spec), "--set", "training.epochs=500", "--set", "training.steps_per_epoch=2",
                       cwd=tmp_path)
    history = folder / "trial-0000" / "history.csv"
    deadline = time.monotonic() + 120
    while not (history.is_file() and len(history.read_text().splitlines()) >= 3) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[0]
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    code, output = finish(process)
    assert code == 128 + signal.SIGTERM, output
    assert "training stopped by SIGTERM" in output and "continue with modelctl search" in output
    record = json.loads((folder / "search.json").read_text())
    assert [(row["number"], row["state"]) for row in record["trials"]] == [(0, "interrupted")]
    run = json.loads((folder / "trial-0000" / "run.json").read_text())
    assert run["status"] == "interrupted" and run["epochs_completed"] >= 2

    # The interrupted trial does not count: one more trial makes the one asked for.
    code, output = finish(modelctl("search", str(spec), "--resume", "--trials", "1", *QUICK, cwd=tmp_path))
    assert code == 0, output
    record = json.loads((folder / "search.json").read_text())
    assert sorted((row["number"], row["state"]) for row in record["trials"]) == [(0, "interrupted"), (1, "complete")]
    assert numbered_trials(folder) == [0, 1]


def _postgres_bin() -> Path:
    return debian_program("initdb", package="postgresql", also=POSTGRES).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def postgres():
    """A PostgreSQL server on 127.0.0.1 in a temporary folder (run as `nobody` when the tests run as root, since
    initdb refuses root); yields its URL and stops it afterwards."""
    binaries = _postgres_bin()
    folder = Path(tempfile.mkdtemp(prefix="modelctl-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        folder.chmod(0o755)
        shutil.chown(folder, user="nobody")
        as_user = ["runuser", "-u", "nobody", "--"]
    port = _free_port()
    data = folder / "data"
    subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True)
    subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_two_workers_against_postgresql_share_one_study(write_spec, tmp_path, postgres):
    spec = write_spec(search_spec(sampler="tpe", trials=2))
    machines = [tmp_path / "a", tmp_path / "b"]
    for machine in machines:
        machine.mkdir()
    processes = [modelctl("search", str(spec), "--storage", postgres, "--study", "shared", *QUICK, cwd=machine)
                 for machine in machines]
    results = [finish(process) for process in processes]
    assert [code for code, _ in results] == [0, 0], results
    folders = [machine / "runs" / "iris-search" / "search" / "shared" for machine in machines]
    trials = sorted(numbered_trials(folders[0]) + numbered_trials(folders[1]))
    assert trials == [0, 1]
    for folder in folders:  # each machine reports the whole study, the other's trials (maybe still running) too
        record = json.loads((folder / "search.json").read_text())
        assert sorted(row["number"] for row in record["trials"]) == [0, 1]
        assert record["storage"] == postgres
    import optuna

    study = optuna.load_study(study_name="shared", storage=postgres)
    kept = [trial for trial in study.trials if not trial.user_attrs.get("surplus")]
    assert [(trial.number, trial.state.name) for trial in kept] == [(0, "COMPLETE"), (1, "COMPLETE")]
    assert {trial.user_attrs["run_dir"] for trial in kept} == {
        str(folder / f"trial-{number:04d}") for folder in folders for number in numbered_trials(folder)}


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_replaced_and_the_study_ends_with_the_trials_asked(write_spec, tmp_path):
    """`--workers 2`, 3 trials; SIGKILL of one worker process while both train a trial. The survivor marks the
    dead worker's trial failed, trains its parameters again and waits for nothing more: 3 trials complete, the
    lost one on record as failed, and the search exits 0 saying a worker ended early."""
    spec = write_spec(search_spec(sampler="random", trials=3))
    folder = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    process = modelctl("search", str(spec), "--workers", "2", "--set", "training.epochs=25", "--set",
                       "training.steps_per_epoch=2", cwd=tmp_path)
    deadline = time.monotonic() + 180
    while len([path for path in folder.glob("trial-*/history.csv") if len(path.read_text().splitlines()) > 2]) < 2:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "two trials were not training within 180 s"
        time.sleep(0.1)
    workers = _children(process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    code, output = finish(process)
    assert code == 0, output
    assert "1 of 2 workers ended early (SIGKILL)" in output
    assert "Traceback" not in output
    import optuna

    study = optuna.load_study(study_name="iris-search", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(folder / "journal.log"))))
    states = sorted(trial.state.name for trial in study.trials if not trial.user_attrs.get("surplus"))
    assert states == ["COMPLETE", "COMPLETE", "COMPLETE", "FAIL"], states
    lost = next(trial for trial in study.trials if trial.state.name == "FAIL")
    retried = [trial for trial in study.trials
               if optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trial) == lost.number]
    assert len(retried) == 1 and retried[0].state.name == "COMPLETE" and retried[0].params == lost.params
    record = json.loads((folder / "search.json").read_text())
    assert sorted(row["state"] for row in record["trials"]) == ["complete", "complete", "complete", "lost"]
