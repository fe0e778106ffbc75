"""`modelctl train --ray` and `modelctl search --ray` on one Ray cluster that every test here shares: started once,
with its node address 127.0.0.1, inside a network namespace that has only a loopback interface (TensorFlow's
gRPC servers, which Ray's TF_CONFIG makes, listen on all interfaces)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT
from loopback import loopback_namespace
from test_multi_worker import SHARDED_SPEC, _iris_files, _train_on_two_workers, _wait_for_epoch, _weights

pytestmark = pytest.mark.slow

CLI = "from modelctl.cli.app import main; main()"
COMMAND_TIMEOUT = 420
"""Seconds one modelctl command on Ray may take (a restart included) on a busy two-core machine."""


@dataclasses.dataclass
class RayCluster:
    namespace: object
    address: str
    env: dict

    def run(self, *arguments: str, cwd: Path) -> subprocess.Popen:
        """`modelctl ARGUMENTS` inside the cluster's namespace, output and errors together."""
        return subprocess.Popen(self.namespace.command([sys.executable, "-c", CLI, *arguments]), cwd=cwd,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def processes(self, title: str = "") -> list[int]:
        """Ids of the processes in the cluster's namespace (this test's Ray and what it started, nothing else)
        whose title (Ray sets it to the actor's or task's name) starts with `title`."""
        listed = subprocess.run(["ip", "netns", "pids", self.namespace.name], capture_output=True, text=True)
        found = []
        for pid in map(int, listed.stdout.split()):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if command.startswith(title):
                found.append(pid)
        return sorted(found)


@pytest.fixture(scope="module")
def ray_cluster():
    """`ray start --head` once for the module, in a loopback-only namespace, node address 127.0.0.1."""
    ray = Path(sys.executable).with_name("ray")
    with loopback_namespace() as namespace:
        temp = Path(tempfile.mkdtemp(prefix="mray-", dir="/tmp"))  # Ray's socket paths must stay short
        # Token authentication guards a cluster others can reach; this one is in a namespace of its own.
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        env.pop("RAY_ADDRESS", None)
        started = subprocess.run(namespace.command([
            str(ray), "start", "--head", "--node-ip-address=127.0.0.1", "--port=6379", "--num-cpus=2",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}",
            "--object-store-memory=200000000"]), env=env, capture_output=True, text=True, timeout=180)
        cluster = RayCluster(namespace, "127.0.0.1:6379", env)
        try:
            assert started.returncode == 0, started.stdout[-3000:] + started.stderr[-3000:]
            yield cluster
        finally:
            for pid in cluster.processes():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            shutil.rmtree(temp, ignore_errors=True)


def finish(process: subprocess.Popen) -> tuple[int, str]:
    try:
        output, _ = process.communicate(timeout=COMMAND_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"the command ran past {COMMAND_TIMEOUT} s: {process.communicate()[0][-3000:]}")
    return process.returncode, output


def test_a_killed_ray_worker_is_restarted_and_the_run_ends_as_one_never_killed(ray_cluster, write_spec, tmp_path):
    """`modelctl train --ray-address ADDRESS --workers 2`: Ray's TF_CONFIG names loopback addresses; SIGKILL of a
    worker at epoch 5 of 12 makes Ray start the group again, which continues from the last completed epoch; the
    command exits 0 without a traceback, and the model's weights equal those of the same run trained by two
    TF_CONFIG processes without interruption. The run folder reads as any other (`modelctl eval`)."""
    _iris_files(tmp_path, [120])
    spec = write_spec(SHARDED_SPEC.format(train="train-0.csv", cache="true"))
    reference = tmp_path / "reference"
    _train_on_two_workers(spec, tmp_path, ray_cluster.namespace, "--run-dir", str(reference))

    run = tmp_path / "run"
    process = ray_cluster.run("train", str(spec), "--ray-address", ray_cluster.address, "--workers", "2",
                              "--run-dir", str(run), cwd=tmp_path)
    _wait_for_epoch(run, 5, [process])
    workers = ray_cluster.processes("ray::RayTrainWorker")
    assert len(workers) == 2, workers
    os.kill(workers[-1], signal.SIGKILL)
    code, output = finish(process)
    assert code == 0, output[-5000:]
    assert "Traceback" not in output, output[-5000:]
    addresses = re.findall(r"ray: TF_CONFIG workers (\S+), (\S+)\n", output)
    assert len(addresses) == 2, output[-5000:]  # the first group, and the one Ray started after the kill
    assert all(address.startswith("127.0.0.1:") for pair in addresses for address in pair)
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and record["epochs_completed"] == 12
    assert len(record["resumes"]) == 1 and 5 <= record["resumes"][0]["epoch"] < 12
    expected, resumed = _weights(reference / "model.keras"), _weights(run / "model.keras")
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(expected, resumed)) == 0.0
    assert sorted(path.name for path in run.iterdir()) == sorted(path.name for path in reference.iterdir())

    evaluated = subprocess.run([sys.executable, "-c", CLI, "eval", str(run), "--split", "validation"], cwd=tmp_path,
                               env=ray_cluster.env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]


def test_search_workers_as_ray_tasks_replace_a_killed_one(ray_cluster, write_spec, tmp_path):
    """`modelctl search --ray-address ADDRESS --workers 2` on a journal study: SIGKILL of one task's process while
    both train a trial. Ray starts the task again, the dead trial is failed and its parameters trained again,
    and the study ends with the 3 trials asked for."""
    from test_search import search_spec

    spec = write_spec(search_spec(sampler="random", trials=3))
    folder = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    process = ray_cluster.run("search", str(spec), "--ray-address", ray_cluster.address, "--workers", "2",
                              "--set", "training.epochs=25", "--set", "training.steps_per_epoch=2", cwd=tmp_path)
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while len([path for path in folder.glob("trial-*/history.csv") if len(path.read_text().splitlines()) > 2]) < 2:
        assert process.poll() is None, process.communicate()[0][-5000:]
        assert time.monotonic() < deadline, "two trials were not training in time"
        time.sleep(0.1)
    tasks = ray_cluster.processes("ray::worker")
    assert len(tasks) == 2, tasks
    os.kill(tasks[0], signal.SIGKILL)
    code, output = finish(process)
    assert code == 0, output[-5000:]
    assert "Traceback" not in output, output[-5000:]
    record = json.loads((folder / "search.json").read_text())
    assert sorted(row["state"] for row in record["trials"]) == ["complete", "complete", "complete", "lost"]
    lost = next(row for row in record["trials"] if row["state"] == "lost")
    retried = [row for row in record["trials"] if row["retry_of"] == lost["number"]]
    assert len(retried) == 1 and retried[0]["state"] == "complete"
    assert retried[0]["parameters"] == lost["parameters"]
