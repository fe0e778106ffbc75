"""`modelctl train`: run folders, every optimizer and schedule, resume, faults, strategies, k-fold."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import iris_data, quiet_console
from modelctl.errors import SpecError, UsageError
from modelctl.evaluation.plots import learning_curves_plot
from modelctl.registry.optimizers import OPTIMIZERS
from modelctl.registry.schedules import SCHEDULES
from modelctl.spec.validate import load_spec
from modelctl.model.saving import load_model
from modelctl.runs import read_json
from modelctl.training.trainer import TrainingDiverged, TrainingInterrupted, train

SPEC = f"""
modelctl: 1
name: iris
seed: 11
{iris_data()}
model:
  layers:
    - dense: {{units: 16, activation: relu}}
    - dropout: 0.3
    - gaussian_noise: 0.1
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 4
  optimizer: {{type: adam, learning_rate: 0.01}}
  metrics: [accuracy]
"""



def _document(write_spec, text=SPEC, overrides=()):
    return load_spec(write_spec(text), list(overrides))


def test_a_run_folder_holds_everything_and_is_never_reused(write_spec, tmp_path):
    document = _document(write_spec)
    first = train(document, tmp_path / "runs", quiet_console(), quiet=True, plot_history=learning_curves_plot)
    second = train(document, tmp_path / "runs", quiet_console(), quiet=True)
    assert first.run_dir != second.run_dir and first.run_dir.parent == second.run_dir.parent
    names = sorted(path.name for path in first.run_dir.iterdir())
    assert names == ["checkpoints", "history.csv", "metrics.json", "model.keras", "plots", "preprocessing.json",
                     "run.json", "spec.yaml"]
    record = read_json(first.run_dir / "run.json")
    assert record["status"] == "completed" and record["strategy"]["distribution"] == "one_device"
    assert record["versions"]["tensorflow"] and len(record["spec_hash"]) == 64
    assert sorted(path.name for path in (first.run_dir / "checkpoints").iterdir()) == \
        ["best.keras", "last.json", "last.keras"]
    history = (first.run_dir / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 5
    assert set(read_json(first.run_dir / "metrics.json")) == {"train", "validation", "test"}
    assert (first.run_dir / "plots" / "learning_curves.png").stat().st_size > 1000
    # Same spec and seed: the same metrics, run to run.
    assert first.metrics == second.metrics


def _pairs():
    schedules = [entry.name for entry in SCHEDULES]
    options = {"piecewise": {"boundaries": [2], "values": [0.01, 0.001]}, "exponential": {"decay_epochs": 0.5,
               "decay_rate": 0.9}, "inverse_time": {"decay_epochs": 1, "decay_rate": 0.5},
               "cosine_decay_restarts": {"first_decay_epochs": 1}, "one_cycle": {"max_learning_rate": 0.02}}
    for index, entry in enumerate(OPTIMIZERS):
        schedule = schedules[index % len(schedules)]
        warmup = {"warmup_epochs": 0.5, "warmup_start_factor": 0.1 if entry.name == "ftrl" else 0.0}
        yield entry.name, {"type": schedule, **warmup, **options.get(schedule, {})}
    yield "sgd", {"type": schedules[-1], **options.get(schedules[-1], {})}


@pytest.mark.slow
def test_every_optimizer_and_schedule_trains(write_spec, tmp_path):
    pairs = list(_pairs())
    assert {schedule["type"] for _, schedule in pairs} == {entry.name for entry in SCHEDULES}
    for optimizer, schedule in pairs:
        overrides = [f"training.optimizer.type={optimizer}", "training.epochs=1", "training.optimizer.clipnorm=1.0",
                     *(f"training.schedule.{key}={json.dumps(value)}" for key, value in schedule.items())]
        if optimizer == "sgd":
            overrides += ["training.optimizer.momentum=0.9", "training.optimizer.nesterov=true"]
        text = SPEC + "  schedule: {type: constant}\n"
        result = train(_document(write_spec, text, overrides), tmp_path / "runs", quiet_console(), quiet=True)
        assert all(np.isfinite(row["loss"]) for row in result.history), (optimizer, schedule)


class _InterruptAt(keras.callbacks.Callback):
    """Sends a signal (SIGTERM unless told) to this process as the `execution`-th execution of an epoch (counted
    from 1; default the second) begins, as a supervisor would. With one step per execution, that is the start of
    that step."""

    def __init__(self, epoch, execution=2, number=signal.SIGTERM):
        super().__init__()
        self.epoch = epoch
        self.execution = execution
        self.number = number
        self.current = -1
        self.begun = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch
        self.begun = 0

    def on_train_batch_begin(self, batch, logs=None):
        self.begun += 1
        if self.current == self.epoch and self.begun == self.execution:
            signal.raise_signal(self.number)


FUSED = ["training.steps_per_execution=7", "data.batch_size=5"]
"""21 steps per epoch (105 training examples), run as 3 executions of 7 steps."""

SINGLE = ["training.steps_per_execution=1"]


@pytest.mark.slow
@pytest.mark.parametrize("overrides", [SINGLE, FUSED], ids=["single-steps", "fused-steps"])
def test_an_interrupted_run_resumes_to_the_same_weights(write_spec, tmp_path, overrides):
    text = SPEC + "  schedule: {type: cosine_decay, warmup_epochs: 1}\n  early_stopping: {patience: 1}\n"
    document = _document(write_spec, text, overrides)
    whole = train(document, tmp_path / "whole", quiet_console(), quiet=True)
    with pytest.raises(TrainingInterrupted) as caught:
        train(document, tmp_path / "cut", quiet_console(), quiet=True, extra_callbacks=[_InterruptAt(2)])
    assert caught.value.exit_code == 128 + signal.SIGTERM
    assert "epoch 2 is saved" in str(caught.value) and "--resume" in str(caught.value)
    cut = next((tmp_path / "cut" / "iris").iterdir())
    assert read_json(cut / "checkpoints" / "last.json")["epoch"] == 2
    assert read_json(cut / "run.json")["status"] == "interrupted"
    resumed = train(load_spec(cut / "spec.yaml"), tmp_path / "cut", quiet_console(), quiet=True, resume=cut)
    assert resumed.run_dir == cut and [row["epoch"] for row in resumed.history] == [1, 2, 3, 4]
    expected = load_model(whole.run_dir / "model.keras").get_weights()
    for got, want in zip(load_model(cut / "model.keras").get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.parametrize("overrides, number, shown", [
    (SINGLE, signal.SIGTERM, "epoch 3/4 interrupted after 2 of 7 steps; not saved"),
    (FUSED, signal.SIGINT, "epoch 3/4 interrupted after 14 of 21 steps; not saved"),
], ids=["single-steps", "fused-steps"])
def test_an_interrupted_epoch_is_not_shown_as_completed(write_spec, tmp_path, overrides, number, shown):
    """A signal as the second execution begins stops training when that execution ends."""
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(TrainingInterrupted) as caught:
        train(_document(write_spec, overrides=overrides), tmp_path / "runs", console,
              extra_callbacks=[_InterruptAt(2, number=number)])
    lines = console.file.getvalue().splitlines()
    assert lines[0].startswith("data cache: ")  # which prepared-data cache entry the run read or wrote
    assert [line.split("  ")[0] for line in lines[1:]] == ["epoch 1/4", "epoch 2/4", shown]
    assert "epoch 2 is saved" in str(caught.value) and caught.value.exit_code == 128 + number


def test_a_signal_while_an_epoch_is_saved_leaves_that_epoch_completed():
    import io

    from rich.console import Console

    from modelctl.training.callbacks import Progress, StopOnSignal, cut_short

    console = Console(file=io.StringIO(), width=200)
    stop = StopOnSignal()
    progress = Progress(console, 4, 7, live=False, stop=[stop])
    progress.on_epoch_begin(0)
    stop.on_epoch_end(0)
    stop.received = signal.SIGTERM  # arrives after the epoch's steps, while the callbacks after it run
    assert not cut_short([stop])
    progress.on_epoch_end(0, {"loss": 0.5})
    assert console.file.getvalue().startswith("epoch 1/4  ") and console.file.getvalue().endswith("  loss 0.5\n")


class _InterruptAfterLastStep(keras.callbacks.Callback):
    """Sends SIGTERM as the last step of the second epoch ends: every step of that epoch is trained."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch + 1 == self.params["steps"]:
            signal.raise_signal(signal.SIGTERM)


def test_a_signal_after_an_epoch_s_last_step_keeps_that_epoch(write_spec, tmp_path):
    import io

    from rich.console import Console

    console = Console(file=io.StringIO(), width=200)
    with pytest.raises(TrainingInterrupted) as caught:
        train(_document(write_spec, overrides=SINGLE), tmp_path / "runs", console,
              extra_callbacks=[_InterruptAfterLastStep()])
    lines = console.file.getvalue().splitlines()
    assert [line.split("  ")[0] for line in lines[1:]] == ["epoch 1/4", "epoch 2/4"], lines
    assert str(caught.value).startswith("training stopped by SIGTERM after epoch 2, which is saved in ")
    cut = next((tmp_path / "runs" / "iris").iterdir())
    assert read_json(cut / "checkpoints" / "last.json")["epoch"] == 2
    assert read_json(cut / "run.json")["epochs_completed"] == 2


def test_an_interruption_before_the_first_epoch_ends_offers_no_resume(write_spec, tmp_path):
    with pytest.raises(TrainingInterrupted) as caught:
        train(_document(write_spec, overrides=SINGLE), tmp_path / "runs", quiet_console(), quiet=True,
              extra_callbacks=[_InterruptAt(0, execution=1)])  # one step per execution: the epoch is cut
    assert str(caught.value) == ("training stopped by SIGTERM during epoch 1, before any epoch was completed; "
                                 "nothing is saved to resume from")


def test_a_diverging_loss_names_epoch_and_step(write_spec, tmp_path):
    """One step per execution: the step. Several: the first and last step of the execution the loss became NaN
    in, which holds the step found with one."""
    diverging = ["training.optimizer.type=sgd", "training.optimizer.learning_rate=1.0e+12", "data.batch_size=4"]
    with pytest.raises(TrainingDiverged) as single:
        train(_document(write_spec, overrides=[*diverging, *SINGLE]), tmp_path / "runs", quiet_console(),
              quiet=True)
    found = re.match(r"the loss became (nan|inf) at epoch 1, step (\d+); lower training.optimizer.learning_rate",
                     str(single.value))
    assert found, str(single.value)
    step = int(found.group(2))
    with pytest.raises(TrainingDiverged) as fused:
        train(_document(write_spec, overrides=[*diverging, "training.steps_per_execution=3"]), tmp_path / "runs",
              quiet_console(), quiet=True)
    first = (step - 1) // 3 * 3 + 1
    assert str(fused.value).startswith(
        f"the loss became {found.group(1)} at epoch 1, one of steps {first} to {first + 2} (the loss is seen once "
        f"per execution of 3 steps, training.steps_per_execution); lower training.optimizer.learning_rate")


class _Iterations(keras.callbacks.Callback):
    """The optimizer's step counter after each epoch."""

    def __init__(self):
        super().__init__()
        self.at_epoch_end = []

    def on_epoch_end(self, epoch, logs=None):
        self.at_epoch_end.append(int(self.model.optimizer.iterations.numpy()))


def test_fused_steps_train_the_weights_single_steps_do(write_spec, tmp_path):
    """The same run at 1 and at 7 steps per execution (`auto` for 7 steps per epoch): the same learning rate after
    every epoch (the schedule counts steps, not executions), the same weights, random generators included."""
    text = SPEC + "  schedule: {type: cosine_decay, warmup_epochs: 1}\n"
    single = train(_document(write_spec, text, SINGLE), tmp_path / "single", quiet_console(), quiet=True)
    counted = _Iterations()
    fused = train(_document(write_spec, text), tmp_path / "fused", quiet_console(), quiet=True,
                  extra_callbacks=[counted])
    assert read_json(fused.run_dir / "run.json")["execution"]["steps_per_execution"] == 7
    assert counted.at_epoch_end == [7, 14, 21, 28]
    assert [row["learning_rate"] for row in fused.history] == \
        pytest.approx([row["learning_rate"] for row in single.history], rel=1e-6)
    expected = load_model(single.run_dir / "model.keras").get_weights()
    for got, want in zip(load_model(fused.run_dir / "model.keras").get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.slow
def test_dry_run_and_run_json_say_how_many_steps_run_per_execution(write_spec, tmp_path, runner):
    from modelctl.cli.app import app

    spec = write_spec(SPEC)
    dry = runner.invoke(app, ["train", str(spec), "--dry-run", "--set", "data.batch_size=5"])
    assert dry.exit_code == 0, dry.output
    assert "steps: 21 per epoch, steps_per_execution 21\n- auto: 21 steps per execution, the whole epoch (105 " \
           "training examples in batches of 5)\n" in dry.output
    result = train(_document(write_spec, overrides=["training.epochs=1", "data.batch_size=2"]), tmp_path / "runs",
                   quiet_console(), quiet=True)
    assert read_json(result.run_dir / "run.json")["execution"] == {
        "steps_per_epoch": 53, "steps_per_execution": 53,
        "reason": "auto: 53 steps per execution, the whole epoch (105 training examples in batches of 2)"}


def test_steps_per_execution_that_does_not_divide_the_epoch_runs_the_steps_left_last(write_spec, tmp_path):
    """3 steps per execution over the 7 steps of an epoch: executions of 3, 3 and 1, exactly 7 steps an epoch, the
    weights that single steps train."""
    text = SPEC + "  schedule: {type: cosine_decay, warmup_epochs: 1}\n"
    single = train(_document(write_spec, text, SINGLE), tmp_path / "single", quiet_console(), quiet=True)
    counted = _Iterations()
    fused = train(_document(write_spec, text, ["training.steps_per_execution=3"]), tmp_path / "fused",
                  quiet_console(), quiet=True, extra_callbacks=[counted])
    assert read_json(fused.run_dir / "run.json")["execution"] == {
        "steps_per_epoch": 7, "steps_per_execution": 3, "reason": "3 steps per execution (asked for), the last of 1"}
    assert counted.at_epoch_end == [7, 14, 21, 28]
    expected = load_model(single.run_dir / "model.keras").get_weights()
    for got, want in zip(load_model(fused.run_dir / "model.keras").get_weights(), expected):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_an_unwritable_output_folder_fails_before_training(write_spec, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    with pytest.raises(UsageError, match="the run folder cannot be created"):
        train(_document(write_spec), blocked / "runs", quiet_console(), quiet=True)


@pytest.mark.slow
def test_kfold_reports_mean_and_spread(write_spec, tmp_path, runner):
    from modelctl.cli.app import app

    spec = write_spec(SPEC)
    result = runner.invoke(app, ["train", str(spec), "--folds", "3", "--set", "training.epochs=1", "--quiet",
                                 "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    parent = next((tmp_path / "runs" / "iris").iterdir())
    summary = read_json(parent / "cross_validation.json")
    assert summary["folds"] == 3 and len(summary["per_fold"]) == 3
    assert set(summary["metrics"]["validation"]["accuracy"]) == {"mean", "std", "values"}
    assert sorted(path.name for path in parent.iterdir() if path.is_dir()) == ["fold-1", "fold-2", "fold-3"]


def test_cli_train_prints_plain_epoch_lines_off_a_terminal(write_spec, tmp_path, runner):
    from modelctl.cli.app import app

    spec = write_spec(SPEC)
    result = runner.invoke(app, ["train", str(spec), "--set", "training.epochs=2", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and lines[0].startswith("epoch 1/2") and "val_loss" in lines[0]
    dry = runner.invoke(app, ["train", str(spec), "--dry-run", "--output", str(tmp_path / "dry")])
    assert dry.exit_code == 0 and "nothing was trained" in dry.output and not (tmp_path / "dry").exists()
    missing = runner.invoke(app, ["train", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "Traceback" not in missing.output


MIRRORED = """
import sys
from modelctl.util.tf import tensorflow
tf = tensorflow()
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from pathlib import Path
from rich.console import Console
from modelctl.spec.validate import load_spec
from modelctl.training import hardware
from modelctl.training.trainer import train
chosen = hardware.plan
def two_cpus(training, found, batch_size=None):
    return hardware.Plan("mirrored", devices=("/cpu:0", "/cpu:1"), replicas=2, batch_size=batch_size,
                         per_replica_batch_size=batch_size // 2, reasons=("two logical CPUs",))
hardware.plan = two_cpus
result = train(load_spec(sys.argv[1]), Path(sys.argv[2]), Console(), quiet=True)
print(result.plan["distribution"], result.plan["replicas"], result.history[-1]["loss"])
"""


@pytest.mark.slow
def test_mirrored_strategy_over_two_logical_cpus(write_spec, tmp_path):
    spec = write_spec(SPEC)
    done = subprocess.run([sys.executable, "-c", MIRRORED, str(spec), str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    distribution, replicas, loss = done.stdout.split()[-3:]
    assert (distribution, replicas) == ("mirrored", "2") and np.isfinite(float(loss))

