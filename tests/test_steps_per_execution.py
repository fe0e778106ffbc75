"""`training.steps_per_execution`: what `auto` chooses, which values are refused, and how fused steps reach the
callbacks in Keras's `fit` and in the custom loop. Whole runs are in test_train.py."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from modelctl.spec.checks import divisors
from modelctl.training.execution import AUTO_LIMIT, StepsPerExecutionError, resolve


@pytest.mark.parametrize("steps, chosen", [
    (1, 1), (7, 7), (64, 64), (65, 33), (100, 50), (128, 64), (313, 63), (625, 63), (782, 61), (6400, 64),
    (613, 62),
])
def test_auto_takes_the_fewest_executions_of_at_most_64_steps_spread_evenly(steps, chosen):
    assert AUTO_LIMIT == 64
    execution = resolve("auto", steps)
    assert execution.steps_per_execution == chosen
    calls = math.ceil(steps / 64)
    assert execution.executions_per_epoch == calls and chosen * (calls - 1) < steps <= chosen * calls


@pytest.mark.parametrize("steps, chosen", [
    (1, 1), (7, 7), (64, 64), (100, 50), (128, 64), (625, 25), (782, 46), (6400, 64), (134, 2), (613, 1),
])
def test_auto_under_multi_worker_is_the_largest_divisor_of_the_epoch_up_to_64(steps, chosen):
    """The multi-worker loop reads every epoch from one iterator and runs whole executions."""
    assert resolve("auto", steps, distribution="multi_worker", replicas=2).steps_per_execution == chosen


def test_auto_says_why():
    assert resolve("auto", 625, origin="160000 training examples in batches of 256").reason == (
        "auto: 63 steps per execution: the 625 steps of an epoch (160000 training examples in batches of 256) in 10 "
        "executions of at most 64, the last of 58")
    assert resolve("auto", 100).reason == "auto: 50 steps per execution: the 100 steps of an epoch in 2 executions " \
        "of at most 64"
    assert resolve("auto", 7).reason == "auto: 7 steps per execution, the whole epoch"
    assert resolve("auto", 613, distribution="multi_worker").reason == (
        "auto: 1 step per execution, as no number from 2 to 64 divides the 613 steps of an epoch (the multi-worker "
        "loop runs whole executions); a data.batch_size or training.steps_per_epoch giving a number of steps with "
        "such a divisor trains faster")


def test_any_value_is_taken_as_written_and_the_last_execution_runs_the_steps_left():
    execution = resolve(125, 625)
    assert (execution.steps_per_execution, execution.executions_per_epoch, execution.reason) == \
        (125, 5, "125 steps per execution (asked for)")
    execution = resolve(64, 625)
    assert (execution.executions_per_epoch, execution.reason) == \
        (10, "64 steps per execution (asked for), the last of 49")
    assert resolve(1, 613).steps_per_execution == 1


def test_under_multi_worker_a_value_that_does_not_divide_the_epoch_is_refused_with_the_nearest_divisors():
    with pytest.raises(StepsPerExecutionError) as caught:
        resolve(64, 625, origin="training.steps_per_epoch", distribution="multi_worker")
    assert str(caught.value) == (
        "64 does not divide the 625 steps of an epoch (training.steps_per_epoch): every execution runs 64 steps, so "
        "the last one of an epoch would train on the next epoch's batches. Use a divisor of 625, such as 25 or "
        "125, or 'auto' (the multi-worker loop runs whole executions)")
    with pytest.raises(StepsPerExecutionError, match="Use a divisor of 7, such as 7, or 'auto'"):
        resolve(8, 7, distribution="multi_worker")


SPEC = """
modelctl: 1
name: fused
seed: 1
model:
  inputs:
    x: {shape: [4]}
  layers:
    - dense: {units: 1}
training:
  steps_per_epoch: 100
  steps_per_execution: 8
"""


@pytest.mark.parametrize("distribution, refused", [("auto", False), ("one_device", False), ("mirrored", False),
                                                   ("multi_worker", True)])
def test_validate_refuses_a_value_that_does_not_divide_the_epoch_only_under_multi_worker(tmp_path, distribution,
                                                                                         refused):
    """One process runs any number of steps per execution; the multi-worker loop runs whole executions."""
    from modelctl.spec.validate import validate_file

    path = tmp_path / "fused.yaml"
    path.write_text(SPEC + f"  distribution: {distribution}\n")
    messages = [item.message for item in validate_file(path).errors]
    assert messages == ([
        "8 does not divide the 100 steps of an epoch (training.steps_per_epoch): every execution runs 8 steps, so "
        "the last one of an epoch would train on the next epoch's batches. Use a divisor of 100, such as 5 or 10, "
        "or 'auto' (the multi-worker loop runs whole executions)"] if refused else [])
    path.write_text(SPEC.replace("steps_per_execution: 8", "steps_per_execution: 10")
                    + f"  distribution: {distribution}\n")
    assert validate_file(path).errors == []


@pytest.mark.parametrize("number", [0, -1, 2.5, True, "fast"])
def test_values_outside_the_schema_are_a_programming_error(number):
    with pytest.raises(ValueError, match="Expected 'auto' or an integer of at least 1"):
        resolve(number, 10)


def test_mirrored_over_several_replicas_runs_one_step_per_execution():
    """Keras's `fit` fails there with fused steps; one replica, one device and the custom loop do not."""
    execution = resolve("auto", 625, distribution="mirrored", replicas=2)
    assert (execution.steps_per_execution, execution.reason) == \
        (1, "auto: 1 step per execution under mirrored over 2 replicas, where Keras's fit cannot run more")
    assert resolve(1, 625, distribution="mirrored", replicas=2).steps_per_execution == 1
    with pytest.raises(StepsPerExecutionError) as caught:
        resolve(5, 625, distribution="mirrored", replicas=2)
    assert str(caught.value) == ("5 steps per execution cannot run under distribution 'mirrored' over 2 replicas: "
                                 "Keras's fit fails there when an execution runs more than one step. Use 1 or "
                                 "'auto'")
    assert resolve("auto", 625, distribution="mirrored", replicas=1).steps_per_execution == 63
    assert resolve("auto", 625, distribution="multi_worker", replicas=4).steps_per_execution == 25


@pytest.mark.parametrize("number", [1, 2, 12, 97, 625, 720720])
def test_divisors(number):
    assert divisors(number) == [candidate for candidate in range(1, number + 1) if number % candidate == 0]


def _steps_counter():
    class Steps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_train_batch_begin(self, batch, logs=None):
            self.calls.append(("begin", batch))

        def on_train_batch_end(self, batch, logs=None):
            self.calls.append(("end", batch, int(self.model.optimizer.iterations.numpy())))

    return Steps()


def test_keras_runs_whole_executions_past_the_end_of_an_epoch_of_an_endless_dataset():
    """Why an endless dataset needs a divisor: at 4 steps per execution, an epoch of 10 steps trains 12, the last 2
    on batches of the next epoch, and callbacks see the steps numbered up to 11."""
    import tensorflow as tf

    x = np.arange(40, dtype="float32").reshape(20, 2)
    dataset = tf.data.Dataset.from_tensor_slices((x, x[:, :1])).batch(2).repeat()
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", steps_per_execution=4)
    steps = _steps_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=10, callbacks=[steps], verbose=0, shuffle=False)
    assert steps.calls == [("begin", 0), ("end", 3, 4), ("begin", 4), ("end", 7, 8), ("begin", 8), ("end", 11, 12)]


def test_the_nan_guard_names_the_steps_of_the_execution():
    from modelctl.training.callbacks import NaNGuard

    guard = NaNGuard()
    guard.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    guard.on_epoch_begin(2)
    guard.on_train_batch_begin(0)
    guard.on_train_batch_end(7, {"loss": 0.5})
    assert guard.found is None
    guard.on_train_batch_begin(8)
    guard.on_train_batch_end(15, {"loss": math.inf})
    assert guard.found == (3, 9, 16, math.inf) and guard.model.stop_training


@pytest.mark.parametrize("steps_per_execution", [2, 4])
def test_the_loop_fuses_steps_as_fit_does(steps_per_execution):
    """Same model and batches at 2 and 4 steps per execution: the same training callback calls (first step on
    begin, last step on end, stopping where a callback says) with the same logs, and the same history. Validation
    runs one batch per call in the loop, so test batch callbacks are left out of the comparison."""
    import tensorflow as tf

    import test_multi_worker as case
    from modelctl.training.loop import fit_distributed

    def compiled():
        model = case._model(multi_output=False)
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=steps_per_execution)
        return model

    by_fit, by_loop = case.Events(), case.Events()
    fitted = compiled().fit(case._dataset(False, True).repeat(), epochs=3, steps_per_epoch=4,
                            validation_data=case._dataset(False, False), callbacks=[by_fit], verbose=0,
                            shuffle=False).history
    looped = fit_distributed(compiled(), tf.distribute.get_strategy(), case._dataset(False, True).repeat(), epochs=3,
                             initial_epoch=0, steps_per_epoch=4, validation_dataset=case._dataset(False, False),
                             callbacks=[by_loop], steps_per_execution=steps_per_execution)

    def training_calls(events):
        return [(name, index, logs) for name, index, logs in events.calls if not name.startswith("test_")]

    expected, got = training_calls(by_fit), training_calls(by_loop)
    assert [(name, index) for name, index, _ in got] == [(name, index) for name, index, _ in expected]
    ends = [index for name, index, _ in got if name == "train_batch_end"]
    assert ends[:4 // steps_per_execution] == list(range(steps_per_execution - 1, 4, steps_per_execution))
    for (name, _, want), (_, _, logs) in zip(expected, got):
        assert logs == pytest.approx(want, rel=1e-5, abs=1e-6), name
    assert case.max_difference(fitted, looped) < 1e-5


def test_the_loop_refuses_a_value_that_does_not_divide_the_epoch():
    import tensorflow as tf

    import test_multi_worker as case
    from modelctl.training.loop import fit_distributed

    with pytest.raises(ValueError, match="Expected a divisor of steps_per_epoch=4. Received: steps_per_execution=3"):
        fit_distributed(case._model(False), tf.distribute.get_strategy(), case._dataset(False, True).repeat(),
                        epochs=1, initial_epoch=0, steps_per_epoch=4, steps_per_execution=3)


CLOCKED = """
modelctl: 1
name: clocked
seed: 3
data:
  source: {format: csv, path: table.csv}
  features:
    x: {type: numeric, columns: [a, b]}
  labels:
    y: {column: y, type: categorical}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  batch_size: 5
model:
  layers:
    - dense: {units: 2, activation: softmax}
"""


@pytest.mark.parametrize("held", [True, False], ids=["held", "streamed"])
def test_a_shorter_last_execution_ends_each_epoch_of_a_clocked_dataset(tmp_path, held):
    """50 examples in batches of 5 at 4 steps per execution: every epoch runs 10 steps (executions of 4, 4 and 2),
    on that epoch's batches, whether held or streamed."""
    import tensorflow as tf

    from modelctl.data.batching import EpochClock
    from modelctl.data.budget import Budget
    from modelctl.data.pipeline import prepare
    from modelctl.spec.validate import load_spec
    from modelctl.training.callbacks import FollowEpochs

    rows = [f"{index},{index % 7},{'pq'[index % 2]}" for index in range(50)]
    (tmp_path / "table.csv").write_text("a,b,y\n" + "\n".join(rows) + "\n")
    (tmp_path / "spec.yaml").write_text(CLOCKED)
    prepared = prepare(load_spec(tmp_path / "spec.yaml"), budget=None if held else Budget(held_bytes=0))
    assert prepared.steps("train") == 10 and (prepared.store.held("train") is not None) == held
    clock = EpochClock(1)
    clocked = prepared.dataset("train", ["y"], training=True, clock=clock, steps=10)
    endless = prepared.dataset("train", ["y"], training=True, initial_epoch=1, epochs=3)
    assert clocked.cardinality().numpy() == 10

    def ids(dataset):
        return [features["x"][:, 0].numpy().astype(int).tolist() for features, _ in dataset]

    expected = ids(endless.take(20))
    assert ids(clocked) == expected[:10]
    clock.epoch = 2
    assert ids(clocked) == expected[10:]

    class Seen(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begun, self.iterations = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.begun.append(batch)

        def on_epoch_end(self, epoch, logs=None):
            self.iterations.append(int(self.model.optimizer.iterations.numpy()))

    inputs = keras.Input((2,), name="x")
    model = keras.Model({"x": inputs}, keras.layers.Dense(2, activation="softmax")(inputs))
    model.compile("sgd", "sparse_categorical_crossentropy", steps_per_execution=4)
    seen = Seen()
    clock.epoch = 0
    model.fit(clocked, epochs=3, initial_epoch=1, steps_per_epoch=10, callbacks=[FollowEpochs(clock), seen],
              verbose=0)
    assert seen.begun == [0, 4, 8] * 2 and seen.iterations == [10, 20]
    assert tf.is_tensor(next(iter(clocked))[0]["x"])
