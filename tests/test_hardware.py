"""Hardware detection and the choice of distribution strategy, precision and XLA."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

from modelctl.errors import ModelctlError
from modelctl.training.hardware import (Cluster, Cpu, Gpu, Hardware, Plan, _cpu_model, _gpu_memory_by_model,
                                        parse_tf_config, plan)

CPU = Cpu(cores=8, model="Test CPU", platform="Linux")
TWO_WORKERS = json.dumps({"cluster": {"worker": ["host1:2222", "host2:2222"]}, "task": {"type": "worker", "index": 1}})


def gpus(*capabilities):
    return tuple(Gpu(index=index, model="Test GPU", memory_bytes=16 * 2**30, compute_capability=capability)
                 for index, capability in enumerate(capabilities))


@pytest.fixture
def no_cluster_environment(monkeypatch):
    for name in ("TF_CONFIG", "TPU_NAME", "COLAB_TPU_ADDR"):
        monkeypatch.delenv(name, raising=False)


def test_detect_on_this_machine(no_cluster_environment):
    from modelctl.training.hardware import detect
    from modelctl.util.tf import tensorflow

    hardware = detect()
    if hardware.gpus:
        pytest.skip("this machine has a GPU")
    assert hardware.cpu.cores == os.cpu_count()
    assert hardware.cpu.platform
    assert hardware.tpus == () and hardware.cluster is None and hardware.tpu_address is None
    assert hardware.tensorflow_version == tensorflow().__version__
    chosen = plan({}, hardware)
    assert (chosen.distribution, chosen.devices, chosen.replicas) == ("one_device", ("/cpu:0",), 1)
    assert (chosen.mixed_precision, chosen.jit_compile, chosen.learning_rate_scale) == ("float32", False, 1)
    assert chosen.reasons[0] == f"no GPU or TPU found ({os.cpu_count()} CPU cores): one_device on /cpu:0"


def test_one_gpu_with_tensor_cores():
    chosen = plan({}, Hardware(cpu=CPU, gpus=gpus((8, 0))), batch_size=64)
    assert chosen == Plan(distribution="one_device", devices=("/gpu:0",), replicas=1,
                          mixed_precision="mixed_float16", jit_compile=True, learning_rate_scale=1, batch_size=64,
                          per_replica_batch_size=64, reasons=(
                              "1 GPU found: Test GPU: one_device on /gpu:0",
                              "GPU compute capability 8.0 (tensor cores): mixed_float16",
                              "one GPU (/gpu:0): XLA on",
                              "learning rate unchanged (1 replica)",
                              "global batch 64 = 64 per replica x 1 replica"))


def test_two_gpus_are_mirrored():
    chosen = plan({}, Hardware(cpu=CPU, gpus=gpus((8, 0), (9, 0))), batch_size=64)
    assert (chosen.distribution, chosen.devices, chosen.replicas) == ("mirrored", ("/gpu:0", "/gpu:1"), 2)
    assert (chosen.mixed_precision, chosen.jit_compile) == ("mixed_float16", False)
    assert (chosen.learning_rate_scale, chosen.per_replica_batch_size) == (2, 32)
    assert chosen.reasons == ("2 GPUs found: mirrored over /gpu:0, /gpu:1",
                              "GPU compute capability 8.0, 9.0 (tensor cores): mixed_float16",
                              "XLA off under mirrored (auto turns it on for one GPU only)",
                              "learning rate x 2 (linear scaling over 2 replicas)",
                              "global batch 64 = 32 per replica x 2 replicas")


@pytest.mark.parametrize("capabilities, reason", [
    (((6, 1),), "/gpu:0 (Test GPU, compute capability 6.1) is not 7.0+ (no tensor cores): float32"),
    (((8, 0), (6, 1)), "/gpu:1 (Test GPU, compute capability 6.1) is not 7.0+ (no tensor cores): float32"),
    ((None,), "/gpu:0 (Test GPU, compute capability unknown) is not 7.0+ (no tensor cores): float32"),
])
def test_gpus_without_tensor_cores_train_in_float32(capabilities, reason):
    chosen = plan({}, Hardware(cpu=CPU, gpus=gpus(*capabilities)))
    assert chosen.mixed_precision == "float32"
    assert chosen.reasons[1] == reason


def test_tpu():
    cores = tuple(f"/job:worker/replica:0/task:0/device:TPU:{index}" for index in range(8))
    chosen = plan({}, Hardware(cpu=CPU, tpus=cores, tpu_address="my-tpu", tpu_address_from="TPU_NAME"),
                  batch_size=128)
    assert (chosen.distribution, chosen.replicas, chosen.devices) == ("tpu", 8, cores)
    assert (chosen.mixed_precision, chosen.jit_compile, chosen.tpu_address) == ("mixed_bfloat16", False, "my-tpu")
    assert (chosen.learning_rate_scale, chosen.per_replica_batch_size) == (8, 16)
    assert chosen.reasons[:2] == ("TPU with 8 cores found at my-tpu: tpu",
                                  "TPU: mixed_bfloat16 (bfloat16 compute, float32 variables)")


def test_tf_config_with_two_workers_is_multi_worker():
    cluster = parse_tf_config(TWO_WORKERS)
    assert cluster == Cluster(roles=(("worker", 2),), task_type="worker", task_index=1)
    chosen = plan({}, Hardware(cpu=CPU, gpus=gpus((8, 0), (8, 0)), cluster=cluster))
    assert (chosen.distribution, chosen.workers, chosen.replicas, chosen.jit_compile) == ("multi_worker", 2, 4, False)
    assert chosen.reasons[0] == ("TF_CONFIG names 2 workers (this is worker 1): multi_worker over 2 devices each "
                                 "(/gpu:0, /gpu:1), assuming every worker has the same")
    single = parse_tf_config('{"cluster": {"worker": ["host1:2222"]}, "task": {"type": "worker", "index": 0}}')
    assert plan({}, Hardware(cpu=CPU, cluster=single)).distribution == "one_device"


def test_explicit_settings():
    two = Hardware(cpu=CPU, gpus=gpus((8, 0), (8, 0)))
    chosen = plan({"distribution": "one_device", "jit_compile": "auto", "scale_learning_rate": "none"}, two)
    assert (chosen.devices, chosen.jit_compile, chosen.learning_rate_scale) == (("/gpu:0",), True, 1)
    assert chosen.reasons[:2] == ("distribution one_device (asked for)", "one_device on /gpu:0 (1 of 2 GPUs used)")
    chosen = plan({"jit_compile": True, "mixed_precision": "float32"}, two)
    assert (chosen.distribution, chosen.jit_compile, chosen.mixed_precision) == ("mirrored", True, "float32")
    assert "XLA on (asked for)" in chosen.reasons
    one_cpu = plan({"distribution": "mirrored", "mixed_precision": "mixed_bfloat16"}, Hardware(cpu=CPU))
    assert (one_cpu.distribution, one_cpu.devices, one_cpu.replicas) == ("mirrored", ("/cpu:0",), 1)
    assert one_cpu.mixed_precision == "mixed_bfloat16"
    old_gpu = plan({"mixed_precision": "mixed_float16"}, Hardware(cpu=CPU, gpus=gpus((6, 1))))
    assert old_gpu.reasons[1] == ("mixed_float16 (asked for); /gpu:0 (Test GPU, compute capability 6.1) is below "
                                  "7.0, so float16 brings no tensor-core speed-up")


@pytest.mark.parametrize("training, hardware, batch_size, message", [
    ({"distribution": "tpu"}, Hardware(cpu=CPU, gpus=gpus((8, 0))), None,
     "distribution 'tpu' needs a TPU, and none was found (found: 1 GPU, 8 CPU cores; TPU_NAME and COLAB_TPU_ADDR "
     "are not set). Run on a TPU VM, or set TPU_NAME to the TPU's name or grpc:// address, or use distribution "
     "'auto'."),
    ({"distribution": "multi_worker"}, Hardware(cpu=CPU), None,
     "distribution 'multi_worker' needs the cluster described by the TF_CONFIG environment variable, and TF_CONFIG "
     "is not set (found: no GPU, 8 CPU cores). Set TF_CONFIG on every worker, such as {\"cluster\": {\"worker\": "
     "[\"host1:2222\", \"host2:2222\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}, or use distribution "
     "'auto' or 'mirrored' on one machine."),
    ({}, Hardware(cpu=CPU, cluster=Cluster(roles=(("worker", 2), ("ps", 1)), task_type="worker", task_index=0)),
     None, "distribution 'multi_worker' trains without parameter servers, and TF_CONFIG names 1 (role 'ps'). "
           "Remove 'ps' from TF_CONFIG's cluster."),
    ({"mixed_precision": "mixed_float16"}, Hardware(cpu=CPU), None,
     "mixed_precision 'mixed_float16' needs a GPU of compute capability 7.0+, and the run has none (found: CPU "
     "only; no GPU, 8 CPU cores). Use 'auto', 'float32' or 'mixed_bfloat16'."),
    ({}, Hardware(cpu=CPU, gpus=gpus((8, 0), (8, 0), (8, 0))), 32,
     "data.batch_size 32 does not split evenly over 3 replicas: it is the global batch, shared equally by the "
     "replicas. Use a multiple of 3, such as 30 or 33. Received: batch_size=32"),
    ({}, Hardware(cpu=CPU, gpus=gpus((8, 0), (8, 0))), 1,
     "data.batch_size 1 does not split evenly over 2 replicas: it is the global batch, shared equally by the "
     "replicas. Use a multiple of 2, such as 2. Received: batch_size=1"),
    ({"distribution": "mirorred", "jit_compile": "yes"}, Hardware(cpu=CPU), None,
     "training settings: $.training.distribution: 'mirorred' is not allowed. Expected one of 'auto', 'one_device', "
     "'mirrored', 'multi_worker' or 'tpu'. Did you mean 'mirrored'?\n"
     "training settings: $.training.jit_compile: 'yes' is not allowed. Expected one of 'auto', true or false."),
])
def test_plan_errors(training, hardware, batch_size, message):
    with pytest.raises(ModelctlError) as raised:
        plan(training, hardware, batch_size=batch_size)
    assert str(raised.value) == message


@pytest.mark.parametrize("text, message", [
    ("{cluster: 1}", "TF_CONFIG is not valid JSON: Expecting property name enclosed in double quotes at line 1 "
                     "column 2. Received: TF_CONFIG='{cluster: 1}'"),
    ("[1, 2]", "TF_CONFIG must be a JSON object with `cluster` and `task`. Received: a JSON array"),
    ('{"task": {"type": "worker", "index": 0}}',
     "TF_CONFIG has no `cluster`: it must map roles (chief, worker, ps, evaluator) to lists of 'host:port' "
     "addresses.\nTF_CONFIG `task.type` must be a role of the cluster: no role. Received: type=\"worker\""),
    ('{"cluster": {"wroker": ["a:1"], "chief": ["b:1", "c:1"]}, "task": {"type": "chief", "index": 0}}',
     "TF_CONFIG `cluster` has an unknown role 'wroker'. Expected one of 'chief', 'worker', 'ps', 'evaluator' or "
     "'master'. "
     "Did you mean 'worker'?\nTF_CONFIG `cluster.chief` may hold one address. Received: 2 addresses"),
    ('{"cluster": {"worker": "a:1"}}',
     "TF_CONFIG `cluster.worker` must be a non-empty list of 'host:port' strings. Received: \"a:1\""),
    ('{"cluster": {"worker": ["a:1", "b:1"]}}',
     "TF_CONFIG has no `task`: every process of a cluster needs {\"type\": ROLE, \"index\": N} saying which of the "
     "cluster's addresses it is."),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}',
     "TF_CONFIG `task.index` is 2, but `cluster.worker` lists 2 addresses (indices 0 to 1)."),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": "1"}}',
     "TF_CONFIG `task.index` must be an integer. Received: index=\"1\""),
])
def test_malformed_tf_config(text, message):
    with pytest.raises(ModelctlError) as raised:
        parse_tf_config(text)
    assert str(raised.value) == message


VERTEX = ('{"cluster": {"master": ["m:2222"], "worker": ["w0:2222", "w1:2222"], "evaluator": ["e:2222"]}, '
          '"task": {"type": "%s", "index": %d, "trial": "7"}, "environment": "cloud", '
          '"job": {"python_module": "trainer.task"}}')


def test_tf_config_as_vertex_ai_and_tfjob_write_it():
    """`master` is the chief (TFJob, AI Platform); `environment`, `job` and `task.trial` are ignored; TensorFlow
    gets the cluster with the roles it knows, and the evaluator task is refused with the reason."""
    from modelctl.training.hardware import tf_config_for_tensorflow

    chief = parse_tf_config(VERTEX % ("master", 0))
    assert (chief.roles, chief.task_type, chief.task_index) == \
        ((("chief", 1), ("worker", 2), ("evaluator", 1)), "chief", 0)
    assert chief.workers == 3
    assert json.loads(tf_config_for_tensorflow(VERTEX % ("worker", 1))) == {
        "cluster": {"chief": ["m:2222"], "worker": ["w0:2222", "w1:2222"], "evaluator": ["e:2222"]},
        "task": {"type": "worker", "index": 1}}
    assert tf_config_for_tensorflow(TWO_WORKERS) is None
    assert plan({}, Hardware(cpu=CPU, cluster=chief)).workers == 3
    with pytest.raises(ModelctlError) as raised:
        plan({}, Hardware(cpu=CPU, cluster=parse_tf_config(VERTEX % ("evaluator", 0))))
    assert str(raised.value).startswith("TF_CONFIG makes this process the cluster's evaluator, and modelctl runs no "
                                        "evaluator task")
    with pytest.raises(ModelctlError, match="names both `chief` and `master`"):
        parse_tf_config('{"cluster": {"chief": ["a:1"], "master": ["b:1"]}, "task": {"type": "chief"}}')


def test_detect_reports_malformed_tf_config(monkeypatch):
    from modelctl.training.hardware import detect

    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["a:1", "b:1"]}}')
    with pytest.raises(ModelctlError, match="TF_CONFIG has no `task`"):
        detect()
    monkeypatch.setenv("TF_CONFIG", TWO_WORKERS)
    assert detect().cluster.workers == 2


def test_blank_tf_config_is_no_cluster():
    assert parse_tf_config(None) is None
    assert parse_tf_config("  ") is None


def test_gpu_memory_is_matched_by_model(tmp_path, monkeypatch):
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\nprintf 'NVIDIA H100 80GB HBM3, 81559\\nNVIDIA H100 80GB HBM3, 81559\\n"
                      "Tesla T4, 15360\\nTesla T4, 16384\\n'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert _gpu_memory_by_model() == {"NVIDIA H100 80GB HBM3": 81559 * 2**20}


def test_cpu_model(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test Xeon\n")
    assert _cpu_model(str(cpuinfo)) == "Test Xeon"
    import platform

    assert _cpu_model(str(tmp_path / "missing")) == (platform.processor() or None)


def test_one_device_strategy_and_precision():
    import keras

    from modelctl.training.hardware import apply_precision, make_strategy

    strategy = make_strategy(Plan(distribution="one_device"))
    assert strategy.num_replicas_in_sync == 1
    previous = apply_precision(Plan(distribution="one_device", mixed_precision="mixed_bfloat16"))
    try:
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert previous == "float32"


MIRRORED_ON_TWO_CPUS = textwrap.dedent("""
    import numpy as np
    from modelctl.util.tf import tensorflow
    from modelctl.training.hardware import Plan, make_strategy

    tf = tensorflow()
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    strategy = make_strategy(Plan(distribution="mirrored", devices=("/cpu:0", "/cpu:1"), replicas=2))
    assert type(strategy).__name__ == "MirroredStrategy", type(strategy)
    assert strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    history = model.fit(rng.random((16, 4), dtype="float32"), rng.random((16, 1), dtype="float32"),
                        batch_size=8, epochs=1, verbose=0)
    print("replicas", strategy.num_replicas_in_sync, "loss", history.history["loss"][-1])
""")


@pytest.mark.slow
def test_mirrored_strategy_over_two_cpu_devices():
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", MIRRORED_ON_TWO_CPUS], capture_output=True, text=True,
                            timeout=180, env=environment)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas 2 loss " in result.stdout


def test_run_devices_json(no_cluster_environment):
    from rich.console import Console

    from modelctl.cli.devices import run_devices

    output = io.StringIO()
    result = run_devices("json", Console(file=output, width=200))
    assert json.loads(output.getvalue()) == result
    assert result["hardware"]["cpu"]["cores"] == os.cpu_count()
    assert result["problem"] is None
    if not result["hardware"]["gpus"]:
        assert result["auto"]["distribution"] == "one_device"
        assert result["auto"]["devices"] == ["/cpu:0"]
        assert (result["auto"]["mixed_precision"], result["auto"]["jit_compile"]) == ("float32", False)


def test_run_devices_text_shows_a_plan_problem(monkeypatch):
    from rich.console import Console

    from modelctl.cli.devices import run_devices

    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:1"], "ps": ["c:1"]},
                                                "task": {"type": "worker", "index": 0}}))
    output = io.StringIO()
    result = run_devices("text", Console(file=output, width=200))
    assert result["auto"] is None
    text = output.getvalue()
    assert "worker: 2, ps: 1 (TF_CONFIG); this is worker 0" in text
    assert "auto settings cannot be chosen: distribution 'multi_worker' trains without parameter servers" in text


UNREACHABLE_FIX = ("To train without it, unset TPU_NAME, or set training.distribution to 'one_device' or 'mirrored' "
                   "(such as --set training.distribution=one_device).")


@pytest.mark.parametrize("environment, message", [
    ({"TPU_NAME": "grpc://127.0.0.1:1"},
     "cannot reach the TPU named by TPU_NAME='grpc://127.0.0.1:1': tried a TCP connection to 127.0.0.1:1: "
     "Connection refused. "),
    ({"TPU_NAME": "local"},
     "cannot reach the TPU named by TPU_NAME='local': tried listing this machine's TPU devices: TensorFlow lists "
     "none (a Cloud TPU VM with TensorFlow's TPU support has them). "),
    # A Cloud TPU name is looked up through the metadata server, here one that refuses the connection.
    ({"TPU_NAME": "my-tpu", "GCE_METADATA_IP": "127.0.0.1:1"},
     "cannot reach the TPU named by TPU_NAME='my-tpu': tried looking up the Cloud TPU 'my-tpu' through the Google "
     "Cloud metadata server and TPU API: Connection refused. "),
], ids=["grpc-refused", "local-without-tpu", "cloud-tpu-name"])
def test_a_run_that_would_use_an_unreachable_tpu_says_what_was_tried(no_cluster_environment, monkeypatch,
                                                                     environment, message):
    from modelctl.training.hardware import TpuUnreachable, detect_for

    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for training in ({}, {"distribution": "tpu"}):
        with pytest.raises(TpuUnreachable) as raised:
            detect_for(training)
        assert str(raised.value) == message + UNREACHABLE_FIX


def test_a_run_on_the_host_does_not_contact_the_tpu(no_cluster_environment, monkeypatch):
    from modelctl.training.hardware import detect_for

    monkeypatch.setenv("TPU_NAME", "grpc://127.0.0.1:1")
    hardware = detect_for({"distribution": "one_device"})
    assert (hardware.tpu_address, hardware.tpus, hardware.tpu_unreachable) == ("grpc://127.0.0.1:1", (), None)
    assert plan({"distribution": "one_device"}, hardware).distribution == "one_device"
    monkeypatch.setenv("TF_CONFIG", TWO_WORKERS)
    assert detect_for({}).cluster.workers == 2


def test_train_with_an_unreachable_tpu_is_one_line_without_traceback(no_cluster_environment, monkeypatch, runner):
    from conftest import ROOT

    from modelctl.cli.app import app

    monkeypatch.setenv("TPU_NAME", "grpc://127.0.0.1:1")
    result = runner.invoke(app, ["train", str(ROOT / "specs" / "tabular-mlp.yaml"), "--dry-run"])
    assert result.exit_code == 1
    assert result.output == ("error: cannot reach the TPU named by TPU_NAME='grpc://127.0.0.1:1': tried a TCP "
                             f"connection to 127.0.0.1:1: Connection refused. {UNREACHABLE_FIX}\n")


def test_devices_shows_an_unreachable_tpu(no_cluster_environment, monkeypatch):
    from rich.console import Console

    from modelctl.cli.devices import run_devices

    monkeypatch.setenv("TPU_NAME", "grpc://127.0.0.1:1")
    result = run_devices("json", Console(file=io.StringIO(), width=200))
    assert result["hardware"]["tpu"] == {"cores": 0, "devices": [], "address": "grpc://127.0.0.1:1",
                                         "address_from": "TPU_NAME",
                                         "unreachable": "tried a TCP connection to 127.0.0.1:1: Connection refused"}
    assert result["auto"] is None
    assert result["problem"] == ("cannot reach the TPU named by TPU_NAME='grpc://127.0.0.1:1': tried a TCP "
                                 f"connection to 127.0.0.1:1: Connection refused. {UNREACHABLE_FIX}")
    output = io.StringIO()
    run_devices("text", Console(file=output, width=300))
    text = output.getvalue()
    assert ("TPU         unreachable at grpc://127.0.0.1:1 (from TPU_NAME); tried a TCP connection to 127.0.0.1:1: "
            "Connection refused\n") in text
    assert f"auto settings cannot be chosen: {result['problem']}\n" in text


TENSORFLOW_SERVER = textwrap.dedent("""
    import sys
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    port = int(sys.argv[1])
    server = tf.distribute.Server({"worker": [f"localhost:{port}"]}, job_name="worker", task_index=0, start=True)
    print("ready", flush=True)
    server.join()
""")


@pytest.mark.slow
def test_train_against_a_tensorflow_server_without_a_tpu(no_cluster_environment, tmp_path):
    """TensorFlow connects to the address and initializing its TPU system fails: one line, within seconds."""
    import socket

    from conftest import ROOT

    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    environment.pop("TPU_NAME", None)
    server = subprocess.Popen([sys.executable, "-c", TENSORFLOW_SERVER, str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=environment)
    try:
        assert server.stdout.readline().strip() == "ready"
        address = f"grpc://localhost:{port}"
        result = subprocess.run([sys.executable, "-c", "from modelctl.cli.app import main; main()", "train",
                                 str(ROOT / "specs" / "tabular-mlp.yaml"), "--dry-run"], capture_output=True,
                                text=True, timeout=120, env={**environment, "TPU_NAME": address}, cwd=tmp_path)
    finally:
        server.kill()
        server.wait()
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: cannot reach the TPU named by TPU_NAME='{address}': tried connecting "
                                    f"TensorFlow to {address} and initializing its TPU system: TPUs not found")
    assert result.stderr.endswith(f". {UNREACHABLE_FIX}\n")
