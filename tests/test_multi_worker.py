"""`training/loop.py`: the custom loop behaves like `model.fit`, and trains one model over two worker processes,
each reading its own shard of the training split."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from conftest import ROOT
from loopback import namespace  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow

WORKER_TIMEOUT = 240
"""Seconds a worker may take; a collective left waiting for a peer would otherwise hang the suite."""

CLI = "from modelctl.cli.app import main; main()"

MIRRORED = """
import sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
import test_multi_worker as case

reference = case.fit_history(multi_output=False)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
print(case.max_difference(reference, case.loop_history(False, strategy)),
      case.max_difference(reference, case.sharded_loop_history(strategy)))
"""


def _model(multi_output: bool):
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,), name="x")
    hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.l2(0.01))(inputs)
    kind = keras.layers.Dense(2, activation="softmax", name="kind")(hidden)
    if not multi_output:
        model = keras.Model({"x": inputs}, kind)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    size = keras.layers.Dense(1, name="size")(hidden)
    model = keras.Model({"x": inputs}, {"kind": kind, "size": size})
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss={"kind": "sparse_categorical_crossentropy", "size": "mse"},
                  metrics={"kind": ["accuracy"], "size": ["mae"]})
    return model


def _dataset(multi_output: bool, weighted: bool):
    """51 examples in batches of 16: the last batch holds 3, which two replicas split 2 and 1."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(51, 4)).astype("float32")
    kind = (x[:, 0] + x[:, 1] > 0).astype("int64")
    targets = {"kind": kind, "size": (2 * x[:, 2]).astype("float32")} if multi_output else kind
    weights = rng.uniform(0.5, 1.5, 51).astype("float32")
    parts = ({"x": x}, targets, weights) if weighted else ({"x": x}, targets)
    return tf.data.Dataset.from_tensor_slices(parts).batch(16)


class Events(keras.callbacks.Callback):
    """Records every callback call with its logs, and stops training at the second batch of the second epoch."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, name, index=None, logs=None):
        self.calls.append((name, index, {key: float(value) for key, value in (logs or {}).items()}))

    def on_train_begin(self, logs=None):
        self._record("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._record("epoch_begin", epoch)

    def on_train_batch_begin(self, batch, logs=None):
        self._record("train_batch_begin", batch)

    def on_train_batch_end(self, batch, logs=None):
        self._record("train_batch_end", batch, logs)
        if (self.epoch, batch) == (1, 1):
            self.model.stop_training = True

    def on_test_begin(self, logs=None):
        self._record("test_begin")

    def on_test_batch_begin(self, batch, logs=None):
        self._record("test_batch_begin", batch)

    def on_test_batch_end(self, batch, logs=None):
        self._record("test_batch_end", batch, logs)

    def on_test_end(self, logs=None):
        self._record("test_end", None, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._record("epoch_end", epoch, logs)

    def on_train_end(self, logs=None):
        self._record("train_end", None, logs)


def fit_history(multi_output: bool, callbacks=()):
    model = _model(multi_output)
    return model.fit(_dataset(multi_output, True).repeat(), epochs=3, steps_per_epoch=4,
                     validation_data=_dataset(multi_output, False), callbacks=list(callbacks), verbose=0,
                     shuffle=False).history


def loop_history(multi_output: bool, strategy, callbacks=()):
    from modelctl.training.loop import fit_distributed

    with strategy.scope():
        model = _model(multi_output)
    return fit_distributed(model, strategy, _dataset(multi_output, True).repeat(), epochs=3, initial_epoch=0,
                           steps_per_epoch=4, validation_dataset=_dataset(multi_output, False),
                           callbacks=list(callbacks))


def sharded_loop_history(strategy):
    """The loop fed each replica's own batches (`sharded=True`), cut so that every step's global batch is the
    one `fit_history` takes: halves of 8 examples, and for the last step 3 examples and an empty batch."""
    import tensorflow as tf

    from modelctl.training.loop import fit_distributed

    pieces = _dataset(False, True).unbatch().batch(8)
    empty = tf.nest.map_structure(lambda values: values[:0], next(iter(pieces)))
    epoch = pieces.concatenate(tf.data.Dataset.from_tensors(empty))
    assert [int(len(piece[1])) for piece in epoch] == [8, 8, 8, 8, 8, 8, 3, 0]
    with strategy.scope():
        model = _model(False)
    return fit_distributed(model, strategy, epoch.repeat(), epochs=3, initial_epoch=0, steps_per_epoch=4,
                           validation_dataset=_dataset(False, False), sharded=True)


def max_difference(first: dict, second: dict) -> float:
    assert sorted(first) == sorted(second)
    return max(float(np.max(np.abs(np.array(first[key]) - np.array(second[key])))) for key in first)


@pytest.mark.parametrize("multi_output", [False, True], ids=["one-output", "two-outputs"])
def test_the_loop_calls_callbacks_and_logs_as_fit_does(multi_output):
    """Same model, seed and batches (sample weights, an l2 regularizer, a short last batch): the same callback
    calls in the same order, with the same log names and values, stopping where a callback says."""
    import tensorflow as tf

    by_fit, by_loop = Events(), Events()
    fitted = fit_history(multi_output, [by_fit])
    looped = loop_history(multi_output, tf.distribute.get_strategy(), [by_loop])
    assert [(name, index, sorted(logs)) for name, index, logs in by_loop.calls] == \
        [(name, index, sorted(logs)) for name, index, logs in by_fit.calls]
    for (name, _, expected), (_, _, logs) in zip(by_fit.calls, by_loop.calls):
        for key, value in expected.items():
            assert logs[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, key)
    assert len(looped["loss"]) == 2  # stopped in the second epoch
    assert max_difference(fitted, looped) < 1e-5
    names = {"loss", "accuracy"} if not multi_output else \
        {"loss", "kind_loss", "size_loss", "kind_accuracy", "size_mae"}
    assert set(looped) == names | {f"val_{name}" for name in names}


def test_the_loop_under_one_device_strategy_matches_fit():
    import tensorflow as tf

    looped = loop_history(False, tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert max_difference(fit_history(False), looped) < 1e-5


def test_the_loop_over_two_mirrored_replicas_matches_fit_on_one_device():
    """Two replicas each take half of a global batch, and the short last batch is split unevenly: from global
    batches, and from each replica's own batches (one of them empty in the last step)."""
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(ROOT / "tests")], capture_output=True, text=True,
                          timeout=WORKER_TIMEOUT, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert done.returncode == 0, done.stderr[-3000:]
    global_batches, own_batches = (float(value) for value in done.stdout.split()[-2:])
    assert global_batches < 1e-5
    assert own_batches < 1e-5


def _only_run(output):
    runs = list((output / "iris").iterdir())
    assert len(runs) == 1
    return runs[0]


SHARDED_SPEC = """
modelctl: 1
name: iris
seed: 11
data:
  sources:
    train: {{format: csv, path: '{train}'}}
    validation: {{format: csv, path: validation.csv}}
  features:
    x: {{type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width], preprocessing: [standardize]}}
  labels:
    species: {{column: species, type: categorical}}
  batch_size: 16
  cache: {cache}
model:
  layers:
    - dense: {{units: 16, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 12
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
  scale_learning_rate: none
"""

SHARD_LINE = re.compile(r"^worker (\d+) of 2 trains on (\d+) examples of the training split "
                        r"\((?:source rows (\d+)-(\d+)|files (.*))\), (\d+) steps an epoch$", re.MULTILINE)


def _iris_files(folder, sizes: list[int]) -> list[list[str]]:
    """The iris examples in a fixed random order: the first `sum(sizes)` as training files of `sizes` rows
    (`train-0.csv`, ...), the rest as `validation.csv`; returns each training file's rows as written."""
    lines = (ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()
    header, rows = lines[0], lines[1:]
    rows = [rows[index] for index in np.random.default_rng(0).permutation(len(rows))]
    files, first = [], 0
    for index, size in enumerate(sizes):
        files.append(rows[first:first + size])
        (folder / f"train-{index}.csv").write_text("\n".join([header, *files[-1]]) + "\n")
        first += size
    (folder / "validation.csv").write_text("\n".join([header, *rows[first:]]) + "\n")
    return files


def _start_workers(namespace, spec, tmp_path, *arguments: str, roles=("worker", "worker")) -> list:
    """`modelctl train SPEC ARGUMENTS` in one process per role of a TF_CONFIG cluster (`worker` or `master`,
    numbered as TF_CONFIG numbers them), inside `namespace`: TensorFlow's gRPC servers listen on all interfaces.
    Worker `i` writes under `tmp_path/worker-i` (its `--output`) and keeps temporary files in `tmp_path/tmp-i`."""
    cluster: dict = {}
    for index, role in enumerate(roles):
        cluster.setdefault(role, []).append(f"127.0.0.1:{21000 + index}")
    base = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    base.pop("TF_CONFIG", None)
    processes, seen = [], {}
    for index, role in enumerate(roles):
        scratch = tmp_path / f"tmp-{index}"
        shutil.rmtree(scratch, ignore_errors=True)  # what a killed worker left
        scratch.mkdir()
        task = {"type": role, "index": seen.setdefault(role, 0)}
        seen[role] += 1
        env = {**base, "TMPDIR": str(scratch),
               "TF_CONFIG": json.dumps({"cluster": cluster, "task": task, "environment": "cloud"})}
        processes.append(subprocess.Popen(
            namespace.command([sys.executable, "-c", CLI, "train", str(spec), "--output",
                               str(tmp_path / f"worker-{index}"), "--quiet", *arguments]),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    return processes


def _finish(processes) -> list[tuple[int, str]]:
    """Each process's exit code and output, once all have ended (within WORKER_TIMEOUT seconds)."""
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=WORKER_TIMEOUT)[0])
    except subprocess.TimeoutExpired:
        for process in processes:
            process.kill()
        pytest.fail(f"a training process ran past {WORKER_TIMEOUT} s (a collective waiting for a peer?)")
    return [(process.returncode, output) for process, output in zip(processes, outputs)]


def _train_on_two_workers(spec, tmp_path, namespace, *arguments: str) -> list[str]:
    """`modelctl train` in two processes with a two-worker TF_CONFIG; each one's output. Both must exit 0,
    only worker 0 (the chief) leaves a run folder, and worker 1's temporary one is gone."""
    results = _finish(_start_workers(namespace, spec, tmp_path, *arguments))
    for code, output in results:
        assert code == 0, output[-3000:]
    assert not (tmp_path / "worker-1").exists()
    assert not list((tmp_path / "tmp-1").iterdir())
    return [output for _, output in results]


def _metrics_table(output: str) -> list[str]:
    """The lines of the final metrics table a worker printed, without its title."""
    lines = output.splitlines()
    header = next(index for index, line in enumerate(lines) if line.split()[:1] == ["split"])
    return lines[header:header + 4]


@pytest.mark.parametrize("route, sizes, cache", [
    ("rows", [120], "true"),
    ("files", [35, 30, 30, 25], "false"),
], ids=["row-ranges-held-then-killed-and-resumed", "whole-files-streamed"])
def test_two_workers_each_read_their_shard_and_train_one_model(write_spec, tmp_path, namespace, route, sizes, cache):
    """`modelctl train` in two processes with a two-worker TF_CONFIG. Each worker says which part of the training
    split it reads (the chief also in run.json's `data.shard`): row ranges of one file, or whole files of a glob.
    Re-read from the files, the two parts are disjoint and together are the training split; both workers run as
    many steps, the model learns, and both print the same final metrics. With row ranges, the run is then
    trained again with worker 1 killed on the way and resumed (`_kill_and_resume`): it ends with the same
    weights."""
    files = _iris_files(tmp_path, sizes)
    spec = write_spec(SHARDED_SPEC.format(train="train-*.csv" if len(sizes) > 1 else "train-0.csv", cache=cache))
    outputs = _train_on_two_workers(spec, tmp_path, namespace)

    shards = []
    for index, output in enumerate(outputs):
        found = SHARD_LINE.findall(output)
        assert len(found) == 1, output[-3000:]
        worker, examples, first, last, names, steps = found[0]
        assert int(worker) == index
        if route == "rows":
            assert not names
            rows = list(range(int(first), int(last) + 1))
            read = [files[0][row - 1] for row in rows]
        else:
            assert not first and names
            read = [row for name in re.findall(r"'train-(\d+)\.csv'", names) for row in files[int(name)]]
        assert int(examples) == len(read)
        shards.append((read, int(steps)))
    (zero, steps_zero), (one, steps_one) = shards
    assert steps_zero == steps_one
    assert len(zero) > 0 and len(one) > 0
    assert sorted(zero + one) == sorted(row for rows in files for row in rows)  # once each, none left out
    if route == "files":
        assert steps_zero == 8  # 60 examples each, in per-worker batches of 8

    chief = _only_run(tmp_path / "worker-0")
    record = json.loads((chief / "run.json").read_text())
    assert record["status"] == "completed"
    assert (record["strategy"]["distribution"], record["strategy"]["replicas"]) == ("multi_worker", 2)
    shard = record["data"]["shard"]
    assert (shard["worker"], shard["workers"], shard["examples"], shard["steps"]) == (0, 2, len(zero), steps_zero)
    if route == "rows":
        assert shard["rows"] == SHARD_LINE.search(outputs[0]).group(3) + "-" + SHARD_LINE.search(outputs[0]).group(4)
    else:
        assert sorted(Path(path).name for path in shard["files"]) == \
            sorted(re.findall(r"'(train-\d+\.csv)'", SHARD_LINE.search(outputs[0]).group(5)))
    with open(chief / "history.csv", newline="") as file:
        history = list(csv.DictReader(file))
    assert len(history) == 12
    assert float(history[-1]["loss"]) < 0.5 * float(history[0]["loss"])
    metrics = json.loads((chief / "metrics.json").read_text())
    assert metrics["train"]["accuracy"] > 0.9 and metrics["validation"]["accuracy"] > 0.85
    assert _metrics_table(outputs[0]) == _metrics_table(outputs[1])
    if route == "rows":
        _kill_and_resume(spec, tmp_path, namespace, reference=chief / "model.keras")


@pytest.mark.parametrize("roles, task, keeps_files", [
    ((("worker", 2),), ("worker", 0), True),
    ((("worker", 2),), ("worker", 1), False),
    ((("chief", 1), ("worker", 2)), ("chief", 0), True),
    ((("chief", 1), ("worker", 2)), ("worker", 0), False),
])
def test_only_the_chief_keeps_its_run_folder(roles, task, keeps_files):
    from modelctl.training.hardware import Cluster, Plan
    from modelctl.training.cluster import worker_scratch as _worker_scratch

    scratch = _worker_scratch(Plan("multi_worker", workers=2), Cluster(roles, *task))
    assert (scratch is None) == keeps_files
    if scratch is not None:
        assert scratch.is_dir() and not list(scratch.iterdir())
        scratch.rmdir()
    assert _worker_scratch(Plan("one_device"), Cluster(roles, *task)) is None


def _weights(path: Path) -> list:
    import modelctl.features.layers  # noqa: F401 (the preprocessing layers a run's model holds)

    return keras.saving.load_model(path).get_weights()


def _wait_for_epoch(run: Path, epoch: int, processes) -> None:
    """Until `run`'s last completed epoch is `epoch` or later; fails when a process ends first."""
    last = run / "checkpoints" / "last.json"
    deadline = time.monotonic() + WORKER_TIMEOUT
    while time.monotonic() < deadline:
        if last.is_file():
            try:
                if json.loads(last.read_text())["epoch"] >= epoch:
                    return
            except (ValueError, KeyError):  # read while being replaced
                pass
        for process in processes:
            assert process.poll() is None, process.communicate()[0][-3000:]
        time.sleep(0.05)
    pytest.fail(f"epoch {epoch} was not completed within {WORKER_TIMEOUT} s")


def _kill_and_resume(spec, tmp_path, namespace, reference: Path) -> None:
    """SIGKILL of worker 1 at epoch 5 of 12: worker 0 ends with one line naming worker 1 and exit code 129, its
    run.json says `interrupted` with the command that continues it. Resuming in one process (one replica) is
    refused; the same command on both workers continues from the last completed epoch and ends with the
    weights of `reference`, the model of an uninterrupted run."""
    run = tmp_path / "run"
    again = ["--run-dir", str(run), "--resume-if-exists"]

    processes = _start_workers(namespace, spec, tmp_path, *again)
    _wait_for_epoch(run, 5, processes)
    processes[1].send_signal(signal.SIGKILL)
    (code, output), (killed, _) = _finish(processes)
    assert killed == -signal.SIGKILL
    assert code == 129, output[-3000:]
    assert "Traceback" not in output
    error = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(error) == 1, output[-3000:]
    record = json.loads((run / "run.json").read_text())
    completed = record["epochs_completed"]
    assert record["status"] == "interrupted" and 5 <= completed < 12
    assert record["interrupted"]["lost"] == "worker 1"
    assert error[0] == (f"error: worker 1 of the multi-worker run was lost ({record['interrupted']['reason']}); "
                        f"epoch {completed} is saved in {run / 'checkpoints'}. Start every worker again with the "
                        f"same command and --resume-if-exists, or continue with: modelctl train --resume {run}")

    alone = subprocess.run([sys.executable, "-c", CLI, "train", "--resume", str(run), "--quiet"],
                           capture_output=True, text=True, timeout=WORKER_TIMEOUT,
                           env={**{k: v for k, v in os.environ.items() if k != "TF_CONFIG"},
                                "CUDA_VISIBLE_DEVICES": ""})
    assert alone.returncode == 1, alone.stderr[-3000:]
    assert f"error: {run}: the run was started on 2 workers, 2 replicas (multi_worker), and this process would " \
           "continue it on 1 replica (one_device)" in alone.stderr

    outputs = _train_on_two_workers(spec, tmp_path, namespace, *again)
    assert f"{run}: continuing after epoch {completed}" in outputs[0]
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "completed" and record["epochs_completed"] == 12
    assert [(entry["epoch"], entry["workers_changed"]) for entry in record["resumes"]] == [(completed, False)]
    assert len((run / "history.csv").read_text().splitlines()) == 13
    expected, resumed = _weights(reference), _weights(run / "model.keras")
    assert max(float(np.max(np.abs(a - b))) for a, b in zip(expected, resumed)) == 0.0


def test_sigterm_to_a_worker_names_the_chiefs_run_folder(write_spec, tmp_path, namespace):
    """A worker other than the chief keeps only a temporary folder: stopped by SIGTERM, it names the chief's run
    folder in the command that continues the run. The cluster names its chief `master`, as TFJob writes it."""
    _iris_files(tmp_path, [120])
    spec = write_spec(SHARDED_SPEC.format(train="train-0.csv", cache="true").replace("epochs: 12", "epochs: 200"))
    processes = _start_workers(namespace, spec, tmp_path, roles=("master", "worker"))
    deadline = time.monotonic() + WORKER_TIMEOUT
    while not list((tmp_path / "worker-0").glob("iris/*/checkpoints/last.json")):
        assert time.monotonic() < deadline and processes[0].poll() is None
        time.sleep(0.1)
    chief = _only_run(tmp_path / "worker-0")
    processes[1].send_signal(signal.SIGTERM)
    (code, output), (stopped, message) = _finish(processes)
    assert stopped == 128 + signal.SIGTERM, message[-3000:]
    assert f"Continue with: modelctl train --resume {chief}\n" in message
    assert "Traceback" not in message + output
    assert code == 129 and "error: worker 0 of the multi-worker run was lost" in output
    assert json.loads((chief / "run.json").read_text())["status"] == "interrupted"
