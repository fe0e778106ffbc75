"""Learning-rate schedules built from a spec's `training.schedule`.

`build_schedule` turns the spec's epochs into steps and returns what an
optimizer takes as its `learning_rate`: a float (a constant rate without
warm-up) or a Keras `LearningRateSchedule`. There is one builder per entry of
`modelctl.registry.schedules`, named like it. `OneCycle` and `Warmup` are
modelctl's own schedules, registered with Keras so a saved model reloads.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Mapping

import keras
from keras import ops

from modelctl.errors import ModelctlError, did_you_mean, one_of
from modelctl.registry.schedules import SCHEDULES

LearningRateSchedule = keras.optimizers.schedules.LearningRateSchedule


class ScheduleError(ModelctlError):
    """A schedule that does not fit the run (too few values for its boundaries, a warm-up as long as the run)."""


@dataclasses.dataclass(frozen=True)
class Run:
    """What a schedule builder knows of the run.

    Args:
        initial_learning_rate: the optimizer's learning rate.
        steps_per_epoch: training steps (batches) per epoch.
        epochs: epochs the schedule spans, that is the run after the warm-up.
    """

    initial_learning_rate: float
    steps_per_epoch: int
    epochs: float

    def steps(self, epochs: float | None = None) -> int:
        """Whole steps in `epochs` (None: the schedule's whole span), at least 1."""
        return max(1, round((self.epochs if epochs is None else epochs) * self.steps_per_epoch))


def build_schedule(config: str | Mapping, initial_learning_rate: float, *, steps_per_epoch: int,
                   epochs: int) -> LearningRateSchedule | float:
    """Return the learning rate an optimizer is given for `config`.

    Args:
        config: a schedule name, or `{type: NAME, ...arguments}` as in a spec.
        initial_learning_rate: the optimizer's `learning_rate`; the schedule starts from it.
        steps_per_epoch: training steps per epoch (at least 1).
        epochs: epochs of the run.

    Raises:
        UnknownNameError: no schedule has that name.
        ScheduleError: arguments that are unknown, missing, or do not fit the run.
    """
    entry = SCHEDULES.get(config)
    options = _options(entry, config)
    warmup_epochs = options.pop("warmup_epochs")
    start_factor = options.pop("warmup_start_factor")
    if warmup_epochs and warmup_epochs >= epochs:
        raise ScheduleError(f"warmup_epochs must be shorter than the run ({epochs} epochs). "
                            f"Received: warmup_epochs={warmup_epochs}")
    run = Run(float(initial_learning_rate), steps_per_epoch, epochs - warmup_epochs)
    schedule = entry.load()(run, **options)
    if not warmup_epochs:
        return schedule
    return Warmup(schedule, max(1, round(warmup_epochs * steps_per_epoch)), float(start_factor))


def _options(entry, config: str | Mapping) -> dict:
    """The schedule's arguments: the defaults, overridden by those written in `config`."""
    given = {key: value for key, value in config.items() if key != "type"} if isinstance(config, Mapping) else {}
    for key in given:
        if key not in entry.args:
            raise ScheduleError(f"'{key}' is not an argument of schedule '{entry.name}'. Expected one of "
                                f"{one_of(list(entry.args))}.{did_you_mean(key, list(entry.args))}")
    missing = [name for name in entry.required if name not in given]
    if missing:
        raise ScheduleError(f"schedule '{entry.name}' needs {one_of(missing)}")
    return {**entry.defaults(), **given}


def constant(run: Run) -> float:
    return run.initial_learning_rate


def piecewise(run: Run, boundaries: list, values: list) -> LearningRateSchedule:
    if len(values) != len(boundaries) + 1:
        raise ScheduleError(f"piecewise needs one more value than boundaries. Received: {len(boundaries)} "
                            f"boundaries and {len(values)} values")
    steps = [round(epoch * run.steps_per_epoch) for epoch in boundaries]
    if any(later <= earlier for earlier, later in zip(steps, steps[1:])) or steps[0] < 1:
        raise ScheduleError(f"piecewise boundaries must fall on increasing steps after step 0 "
                            f"({run.steps_per_epoch} steps per epoch). Received: boundaries={boundaries}, "
                            f"which fall on steps {steps}")
    return keras.optimizers.schedules.PiecewiseConstantDecay(steps, [float(value) for value in values])


def exponential(run: Run, decay_epochs: float, decay_rate: float,
                *, staircase: bool = False) -> LearningRateSchedule:
    return keras.optimizers.schedules.ExponentialDecay(run.initial_learning_rate, run.steps(decay_epochs),
                                                       float(decay_rate), staircase)


def polynomial(run: Run, decay_epochs: float | None = None, end_learning_rate: float = 0.0001, *, power: float = 1.0,
               cycle: bool = False) -> LearningRateSchedule:
    return keras.optimizers.schedules.PolynomialDecay(run.initial_learning_rate, run.steps(decay_epochs),
                                                      float(end_learning_rate), float(power), cycle)


def inverse_time(run: Run, decay_epochs: float, decay_rate: float,
                 *, staircase: bool = False) -> LearningRateSchedule:
    return keras.optimizers.schedules.InverseTimeDecay(run.initial_learning_rate, run.steps(decay_epochs),
                                                       float(decay_rate), staircase)


def cosine_decay(run: Run, decay_epochs: float | None = None, alpha: float = 0.0) -> LearningRateSchedule:
    return keras.optimizers.schedules.CosineDecay(run.initial_learning_rate, run.steps(decay_epochs), float(alpha))


def cosine_decay_restarts(run: Run, first_decay_epochs: float, t_mul: float = 2.0, *, m_mul: float = 1.0,
                          alpha: float = 0.0) -> LearningRateSchedule:
    return keras.optimizers.schedules.CosineDecayRestarts(run.initial_learning_rate, run.steps(first_decay_epochs),
                                                          float(t_mul), float(m_mul), float(alpha))


def one_cycle(run: Run, max_learning_rate: float | None = None, pct_start: float = 0.3, *, div_factor: float = 25.0,
              final_div_factor: float = 1e4) -> LearningRateSchedule:
    peak = run.initial_learning_rate if max_learning_rate is None else float(max_learning_rate)
    return OneCycle(peak, run.steps(), float(pct_start), div_factor=float(div_factor),
                    final_div_factor=float(final_div_factor))


def _half_cosine(start, end, progress):
    """From `start` at progress 0 to `end` at progress 1, along half a cosine."""
    return end + (start - end) * 0.5 * (1.0 + ops.cos(math.pi * progress))


@keras.saving.register_keras_serializable(package="modelctl")
class OneCycle(LearningRateSchedule):
    """The one-cycle policy: the rate rises, then falls lower than it started, both along half a cosine.

    From `max_learning_rate / div_factor` the rate rises to `max_learning_rate` over the first
    `pct_start` of `total_steps`, then falls to `max_learning_rate / div_factor / final_div_factor`
    at `total_steps`, and stays there.

    Args:
        max_learning_rate: the peak rate, above 0.
        total_steps: steps of the cycle, at least 1.
        pct_start: fraction of the cycle spent rising, in (0, 1). Default 0.3.
        div_factor: the cycle starts at `max_learning_rate / div_factor`, at least 1. Default 25.0.
        final_div_factor: the cycle ends at its start rate / `final_div_factor`, at least 1. Default 1e4.
        name: name of the schedule. Default "OneCycle".
    """

    def __init__(self, max_learning_rate: float, total_steps: int, pct_start: float = 0.3, *, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, name: str = "OneCycle"):
        super().__init__()
        if not 0 < pct_start < 1:
            raise ValueError(f"Invalid value for argument `pct_start`. Expected a number in (0, 1). "
                             f"Received: pct_start={pct_start}")
        if total_steps < 1:
            raise ValueError(f"Invalid value for argument `total_steps`. Expected an integer >= 1. "
                             f"Received: total_steps={total_steps}")
        self.max_learning_rate = max_learning_rate
        self.total_steps = total_steps
        self.pct_start = pct_start
        self.div_factor = div_factor
        self.final_div_factor = final_div_factor
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        start = self.max_learning_rate / self.div_factor
        end = start / self.final_div_factor
        rise = self.pct_start * self.total_steps
        rising = _half_cosine(start, self.max_learning_rate, step / rise)
        falling = _half_cosine(self.max_learning_rate, end,
                               ops.clip((step - rise) / (self.total_steps - rise), 0.0, 1.0))
        return ops.where(step < rise, rising, falling)

    def get_config(self) -> dict:
        return {"max_learning_rate": self.max_learning_rate, "total_steps": self.total_steps,
                "pct_start": self.pct_start, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "name": self.name}


@keras.saving.register_keras_serializable(package="modelctl")
class Warmup(LearningRateSchedule):
    """Linear warm-up, then another schedule.

    Over `warmup_steps` steps the rate rises linearly from `start_factor` times the schedule's initial
    value (its value at step 0) to that value; then the schedule runs, its steps counted from the end
    of the warm-up.

    Args:
        schedule: what follows the warm-up: a `LearningRateSchedule`, or a constant rate.
        warmup_steps: steps of the warm-up, at least 1.
        start_factor: the rate at step 0 as a fraction of the schedule's initial value, in [0, 1].
            Default 0.0.
        name: name of the schedule. Default "Warmup".
    """

    def __init__(self, schedule: LearningRateSchedule | float, warmup_steps: int, start_factor: float = 0.0,
                 *, name: str = "Warmup"):
        super().__init__()
        if warmup_steps < 1:
            raise ValueError(f"Invalid value for argument `warmup_steps`. Expected an integer >= 1. "
                             f"Received: warmup_steps={warmup_steps}")
        if not 0 <= start_factor <= 1:
            raise ValueError(f"Invalid value for argument `start_factor`. Expected a number in [0, 1]. "
                             f"Received: start_factor={start_factor}")
        self.schedule = schedule
        self.warmup_steps = warmup_steps
        self.start_factor = start_factor
        self.name = name

    def _after(self, step):
        if isinstance(self.schedule, LearningRateSchedule):
            return ops.cast(self.schedule(step), "float32")
        return ops.convert_to_tensor(self.schedule, "float32")

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = float(self.warmup_steps)
        target = self._after(ops.convert_to_tensor(0.0))
        rising = target * (self.start_factor + (1.0 - self.start_factor) * step / warmup)
        return ops.where(step < warmup, rising, self._after(ops.maximum(step - warmup, 0.0)))

    def get_config(self) -> dict:
        schedule = self.schedule
        if isinstance(schedule, LearningRateSchedule):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "warmup_steps": self.warmup_steps, "start_factor": self.start_factor,
                "name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Warmup:
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)
