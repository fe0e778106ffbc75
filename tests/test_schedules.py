"""`build_schedule`: epochs become steps, each schedule gives the rates worked out by hand, and models reload.

Each case is (config, initial learning rate, steps per epoch, epochs, {step: expected rate}).
"""

from __future__ import annotations

import keras
import pytest

from modelctl.training.schedules import OneCycle, ScheduleError, Warmup, build_schedule

CASES = {
    # A constant rate with warm-up over 1 epoch (4 steps) from 0: 0.1 * step / 4, then 0.1.
    "constant-warmup": ({"type": "constant", "warmup_epochs": 1}, 0.1, 4, 3,
                        {0: 0.0, 1: 0.025, 2: 0.05, 3: 0.075, 4: 0.1, 100: 0.1}),
    # Boundaries at epochs 1 and 2.5 = steps 4 and 10; Keras switches after the boundary step.
    "piecewise": ({"type": "piecewise", "boundaries": [1, 2.5], "values": [0.1, 0.01, 0.001]}, 0.5, 4, 5,
                  {0: 0.1, 4: 0.1, 5: 0.01, 10: 0.01, 11: 0.001}),
    # 0.1 * 0.5 ** (step / 4).
    "exponential": ({"type": "exponential", "decay_epochs": 1, "decay_rate": 0.5}, 0.1, 4, 5,
                    {0: 0.1, 2: 0.07071068, 4: 0.05, 8: 0.025}),
    "exponential-staircase": ({"type": "exponential", "decay_epochs": 1, "decay_rate": 0.5, "staircase": True},
                              0.1, 4, 5, {3: 0.1, 6: 0.05, 8: 0.025}),
    # Half an epoch = 2 steps: 0.1 * 0.5 ** (4 / 2).
    "exponential-fraction": ({"type": "exponential", "decay_epochs": 0.5, "decay_rate": 0.5}, 0.1, 4, 5,
                             {4: 0.025}),
    # Warm-up of half an epoch (2 steps), then the decay counts its steps from there: step 6 is decay step 4.
    "exponential-warmup": ({"type": "exponential", "decay_epochs": 1, "decay_rate": 0.5, "warmup_epochs": 0.5},
                           0.1, 4, 5, {0: 0.0, 1: 0.05, 2: 0.1, 6: 0.05}),
    # Whole run = 2 * 5 = 10 steps: (0.1 - 0.0001) * (1 - step / 10) + 0.0001.
    "polynomial": ({"type": "polynomial"}, 0.1, 5, 2, {0: 0.1, 5: 0.05005, 10: 0.0001, 15: 0.0001}),
    # 0.1 * (1 - 5 / 10) ** 2.
    "polynomial-power": ({"type": "polynomial", "end_learning_rate": 0.0, "power": 2}, 0.1, 5, 2, {5: 0.025}),
    # Cycling: at step 15 the decay spans ceil(15 / 10) * 10 = 20 steps: 0.1 * (1 - 15 / 20).
    "polynomial-cycle": ({"type": "polynomial", "end_learning_rate": 0.0, "cycle": True}, 0.1, 5, 2,
                         {5: 0.05, 15: 0.025}),
    # 0.1 / (1 + step / 4).
    "inverse-time": ({"type": "inverse_time", "decay_epochs": 1, "decay_rate": 1.0}, 0.1, 4, 5,
                     {2: 0.06666667, 4: 0.05, 12: 0.025}),
    "inverse-time-staircase": ({"type": "inverse_time", "decay_epochs": 1, "decay_rate": 1.0, "staircase": True},
                               0.1, 4, 5, {3: 0.1, 6: 0.05}),
    # Whole run = 8 steps: 0.1 * (0.9 * (1 + cos(pi * step / 8)) / 2 + 0.1).
    "cosine": ({"type": "cosine_decay", "alpha": 0.1}, 0.1, 4, 2, {0: 0.1, 4: 0.055, 8: 0.01, 20: 0.01}),
    "cosine-epochs": ({"type": "cosine_decay", "decay_epochs": 1}, 0.1, 4, 2, {2: 0.05, 4: 0.0, 8: 0.0}),
    # Warm-up over 4 steps from 0.5 * 0.1; then cosine over the 2 epochs left (8 steps).
    "cosine-warmup": ({"type": "cosine_decay", "warmup_epochs": 1, "warmup_start_factor": 0.5}, 0.1, 4, 3,
                      {0: 0.05, 2: 0.075, 4: 0.1, 8: 0.05, 12: 0.0}),
    # Periods of 4 then 8 steps, each starting at 0.5 times the one before. Step 10 is 6/8 into period 2:
    # 0.1 * 0.5 * (1 + cos(0.75 pi)) / 2 = 0.05 * 0.14644661.
    "cosine-restarts": ({"type": "cosine_decay_restarts", "first_decay_epochs": 1, "m_mul": 0.5}, 0.1, 4, 5,
                        {0: 0.1, 2: 0.05, 4: 0.05, 8: 0.025, 10: 0.0073223305}),
    # 8 steps, 2 rising from 0.1 / 25 = 0.004 to 0.1, 6 falling to 0.004 / 1e4 = 4e-7.
    "one-cycle": ({"type": "one_cycle", "pct_start": 0.25}, 0.1, 4, 2,
                  {0: 0.004, 1: 0.052, 2: 0.1, 5: 0.0500002, 8: 4e-7, 12: 4e-7}),
    # Peak 1.0, start 1.0 / 10 = 0.1, end 0.1 / 100 = 0.001.
    "one-cycle-peak": ({"type": "one_cycle", "max_learning_rate": 1.0, "pct_start": 0.25, "div_factor": 10,
                        "final_div_factor": 100}, 0.1, 4, 2, {0: 0.1, 1: 0.55, 2: 1.0, 5: 0.5005, 8: 0.001}),
    # Warm-up over 4 steps to the cycle's start (0.004); the cycle takes the 8 steps left.
    "one-cycle-warmup": ({"type": "one_cycle", "pct_start": 0.25, "warmup_epochs": 1}, 0.1, 4, 3,
                         {2: 0.002, 4: 0.004, 5: 0.052, 6: 0.1, 9: 0.0500002}),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_schedule_values(case):
    config, learning_rate, steps_per_epoch, epochs, expected = case
    schedule = build_schedule(config, learning_rate, steps_per_epoch=steps_per_epoch, epochs=epochs)
    got = {step: float(schedule(step)) for step in expected}
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_every_schedule_has_a_case():
    from modelctl.registry.schedules import SCHEDULES

    assert {case[0]["type"] for case in CASES.values()} == set(SCHEDULES.names())


def test_constant_without_warmup_is_a_plain_rate():
    assert build_schedule("constant", 0.01, steps_per_epoch=10, epochs=3) == 0.01


def test_warmup_rounds_to_whole_steps():
    schedule = build_schedule({"type": "constant", "warmup_epochs": 0.3}, 0.1, steps_per_epoch=10, epochs=2)
    assert isinstance(schedule, Warmup) and schedule.warmup_steps == 3


@pytest.mark.parametrize("config, message", [
    ({"type": "piecewise", "boundaries": [1, 2], "values": [0.1, 0.01]},
     "piecewise needs one more value than boundaries. Received: 2 boundaries and 2 values"),
    ({"type": "piecewise", "boundaries": [1, 1.1], "values": [0.1, 0.01, 0.001]},
     "piecewise boundaries must fall on increasing steps after step 0 (4 steps per epoch). Received: "
     "boundaries=[1, 1.1], which fall on steps [4, 4]"),
    ({"type": "cosine_decay", "warmup_epochs": 5},
     "warmup_epochs must be shorter than the run (5 epochs). Received: warmup_epochs=5"),
    ({"type": "cosine_decay", "alhpa": 0.1},
     "'alhpa' is not an argument of schedule 'cosine_decay'. Expected one of 'decay_epochs', 'alpha', "
     "'warmup_epochs' or 'warmup_start_factor'. Did you mean 'alpha'?"),
    ({"type": "exponential", "decay_rate": 0.5}, "schedule 'exponential' needs 'decay_epochs'"),
])
def test_schedule_errors(config, message):
    with pytest.raises(ScheduleError) as error:
        build_schedule(config, 0.1, steps_per_epoch=4, epochs=5)
    assert str(error.value) == message


@pytest.mark.parametrize("config", [
    {"type": "one_cycle", "warmup_epochs": 1},
    {"type": "cosine_decay", "warmup_epochs": 0.5, "warmup_start_factor": 0.1},
    {"type": "constant", "warmup_epochs": 1},
    {"type": "one_cycle"},
], ids=["one-cycle-warmup", "cosine-warmup", "constant-warmup", "one-cycle"])
def test_model_with_schedule_saves_and_reloads(config, tmp_path):
    import numpy as np

    keras.utils.set_random_seed(0)
    schedule = build_schedule(config, 0.1, steps_per_epoch=4, epochs=3)
    assert isinstance(schedule, (Warmup, OneCycle))
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule), loss="mse")
    model.fit(np.ones((8, 2), "float32"), np.zeros((8, 1), "float32"), batch_size=2, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)

    reloaded = keras.saving.load_model(path)
    assert reloaded.optimizer.get_config()["learning_rate"] == model.optimizer.get_config()["learning_rate"]
    assert int(reloaded.optimizer.iterations) == 4
    assert float(reloaded.optimizer.learning_rate) == pytest.approx(float(schedule(4)))
