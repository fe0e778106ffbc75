"""Runs that restart themselves, in one process: `--run-dir DIR --resume-if-exists`, the check on the number of
workers a run resumes on, and the one line a worker ends with when TensorFlow says a peer is gone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, iris_data
from modelctl.errors import ModelctlError

SPEC = f"""modelctl: 1
name: iris
seed: 7
{iris_data()}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 3
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
"""


def _train(runner, *arguments):
    from modelctl.cli.app import app

    result = runner.invoke(app, ["train", *arguments])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.slow
def test_the_same_command_continues_a_stopped_run_to_the_weights_of_one_never_stopped(runner, write_spec, tmp_path):
    """`train SPEC --run-dir DIR --resume-if-exists` stopped by SIGTERM after epoch 2 of 12 (exit code 143), then
    run again: it continues after the saved epoch and ends with the weights of a run never stopped; once more, it
    finds the run complete. A spec other than the run's is refused."""
    import keras
    import numpy as np

    import modelctl.features.layers  # noqa: F401 (the preprocessing layers of a run's model)

    spec = write_spec(SPEC.replace("epochs: 3", "epochs: 12"))
    reference, run = tmp_path / "reference", tmp_path / "run"
    code, output = _train(runner, str(spec), "--run-dir", str(reference), "--quiet")
    assert code == 0, output
    again = [str(spec), "--run-dir", str(run), "--resume-if-exists", "--quiet"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    process = subprocess.Popen([sys.executable, "-c", "from modelctl.cli.app import main; main()", "train", *again],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    last = run / "checkpoints" / "last.json"
    deadline = time.monotonic() + 120
    while not (last.is_file() and json.loads(last.read_text() or "{}").get("epoch", 0) >= 2):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()[0]
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 143, output
    saved = json.loads((run / "run.json").read_text())["epochs_completed"]
    assert 2 <= saved < 12

    code, output = _train(runner, *again)
    assert code == 0 and f"{run}: continuing after epoch {saved}" in output, output
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and [entry["epoch"] for entry in record["resumes"]] == [saved]
    expected = keras.saving.load_model(reference / "model.keras").get_weights()
    resumed = keras.saving.load_model(run / "model.keras").get_weights()
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(expected, resumed)) == 0.0

    code, output = _train(runner, *again)
    assert code == 0 and f"{run}: the run has completed; nothing to train" in output, output
    code, output = _train(runner, *again, "--set", "training.epochs=13")
    assert code == 1 and f"{run}: holds a run of another spec" in output, output


def test_resume_if_exists_needs_a_run_dir(runner, write_spec):
    code, output = _train(runner, str(write_spec(SPEC)), "--resume-if-exists")
    assert code == 2
    assert "--resume-if-exists continues the run in --run-dir DIR" in output


@pytest.mark.parametrize("recorded, planned, allowed, changed", [
    ({"distribution": "multi_worker", "workers": 2, "replicas": 2}, ("one_device", 1, 1), True, True),
    ({"distribution": "multi_worker", "workers": 2, "replicas": 2}, ("multi_worker", 2, 2), False, False),
    ({"distribution": "mirrored", "workers": 1, "replicas": 2}, ("multi_worker", 2, 2), False, True),
])
def test_resuming_on_another_number_of_workers(tmp_path, recorded, planned, allowed, changed):
    """Refused unless allowed, and then recorded; the shape a run was last resumed on is the one compared."""
    from modelctl.training.hardware import Plan
    from modelctl.training.restart import WorkersChanged, check_workers

    (tmp_path / "run.json").write_text(json.dumps({"name": "iris", "status": "interrupted", "strategy": recorded}))
    distribution, workers, replicas = planned
    plan = Plan(distribution, workers=workers, replicas=replicas)
    if changed and not allowed:
        with pytest.raises(WorkersChanged) as raised:
            check_workers(tmp_path, plan, allow=False, epoch=4)
        assert str(raised.value).startswith(f"{tmp_path}: the run was started on 2 replicas (mirrored), and this "
                                            "process would continue it on 2 workers, 2 replicas (multi_worker)")
        return
    entry = check_workers(tmp_path, plan, allow=allowed, epoch=4)
    assert (entry["epoch"], entry["workers_changed"]) == (4, changed)
    assert entry["to"] == {"distribution": distribution, "workers": workers, "replicas": replicas}


def test_the_refusal_names_both_shapes(tmp_path):
    from modelctl.training.hardware import Plan
    from modelctl.training.restart import check_workers

    (tmp_path / "run.json").write_text(json.dumps({"name": "iris", "status": "interrupted",
                                                "strategy": {"distribution": "multi_worker", "workers": 2,
                                                                "replicas": 2}}))
    with pytest.raises(ModelctlError) as raised:
        check_workers(tmp_path, Plan("one_device"), allow=False, epoch=5)
    assert str(raised.value) == (
        f"{tmp_path}: the run was started on 2 workers, 2 replicas (multi_worker), and this process would continue "
        "it on 1 replica (one_device): that changes how each global batch is split and the learning rate's "
        "scaling, so it would not end as the run would have. Resume it on 2 workers, 2 replicas (multi_worker) as "
        "it was started (TF_CONFIG on every worker, or --ray --workers N), or add --allow-worker-change to "
        "continue anyway (run.json records it)")


HEARTBEATS = ("{{function_node __wrapped__CollectiveReduceV2_Nordering_token_1_device_/job:worker/replica:0/task:0/"
              "device:CPU:0}} Collective ops is aborted by: Error reported from /job:worker/task:1: The following "
              "tasks are unhealthy (stopped sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks have "
              "crashed.")
RESET = ("{{function_node __wrapped__CollectiveReduceV2_device_/job:worker/replica:0/task:1/device:CPU:0}} Collective "
         "ops is aborted by: recvmsg:Connection reset by peer\nAdditional GRPC error information from remote target "
         "/job:worker/replica:0/task:0 while calling /tensorflow.WorkerService/RecvBuf")


@pytest.mark.parametrize("kind, message, own, lost, reason", [
    ("UnavailableError", HEARTBEATS, ("worker", 0), "worker 1", "it stopped sending heartbeats"),
    ("UnavailableError", RESET, ("worker", 1), "worker 0", "its connection closed"),
    ("DeadlineExceededError", "Collective timed out", ("chief", 0), "a peer", "a collective operation timed out"),
    ("InvalidArgumentError", "Incompatible shapes", ("worker", 0), None, None),
    ("InternalError", "Failed to allocate memory", ("worker", 0), None, None),
])
def test_tensorflows_word_that_a_peer_is_gone(kind, message, own, lost, reason):
    """TensorFlow's errors of a lost peer name it and say why in a few words; other errors are not taken for one."""
    import tensorflow as tf

    from modelctl.training.cluster import lost_peer, lost_reason
    from modelctl.training.hardware import Cluster

    error = getattr(tf.errors, kind)(None, None, message)
    cluster = Cluster((("chief", 1), ("worker", 2)) if own[0] == "chief" else (("worker", 2),), *own)
    assert lost_peer(error, cluster) == lost
    if lost is not None:
        assert lost_reason(error) == reason
