"""How many training steps one call of the compiled training function runs (`training.steps_per_execution`).

    execution = resolve("auto", steps_per_epoch=625)
    execution.steps_per_execution     # 25
    execution.reason                  # "auto: 25 steps per call, the largest divisor of the 625 steps ..."

Keras runs `steps_per_execution` training steps inside one call of its
compiled function, so the Python work around a step (the call itself, the
callbacks, reading the logs) is paid once per call instead of once per step.
Batch callbacks then run once per call: progress moves, Ctrl-C and SIGTERM are
noticed, and the loss is checked for NaN once per call, with the index of the
call's first step (`on_train_batch_begin`) and of its last (`on_train_batch_end`).

Every call runs exactly that many steps. Keras counts an epoch in calls and does
not shorten the last one: where the value does not divide the steps of an epoch,
the last call of each epoch runs on into the batches of the next (an epoch of 10
steps at 4 per call trains 12). Resuming, the epoch-keyed shuffling and the
schedules all rely on an epoch being exactly its steps, so the value must divide
them, and `auto` picks the largest divisor up to `AUTO_LIMIT`.

Why 64: on a 2-core CPU a small MLP (54 features, dense 256-256-7, batch 256)
trains about twice as fast at 32 to 64 steps per call as at 1, and little faster
above; a step that takes long (a large convolutional model) gains nothing and
loses nothing but progress updates, which 64 steps still give several times a
minute for steps under a second (`bench/bench_steps.py` prints the figures).
"""

from __future__ import annotations

import dataclasses

from modelctl.errors import ModelctlError
from modelctl.spec.checks import divisors, indivisible_steps

AUTO_LIMIT = 64
"""The most steps per call `auto` chooses."""


class StepsPerExecutionError(ModelctlError):
    """`training.steps_per_execution` does not divide the steps of an epoch. Exit code 1."""


@dataclasses.dataclass(frozen=True)
class Execution:
    """How an epoch's training steps are grouped into executions (calls of the compiled training function).

    Args:
        steps_per_epoch: training steps per epoch.
        steps_per_execution: steps per call of the compiled training function; divides `steps_per_epoch`.
        reason: one sentence saying why, for `--dry-run` and the run's record.
    """

    steps_per_epoch: int
    steps_per_execution: int
    reason: str

    @property
    def executions_per_epoch(self) -> int:
        return self.steps_per_epoch // self.steps_per_execution

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def resolve(requested: int | str, steps_per_epoch: int, *, origin: str = "", distribution: str = "one_device",
            replicas: int = 1) -> Execution:
    """The steps per execution for `training.steps_per_execution` = `requested` in epochs of `steps_per_epoch` steps.

    Args:
        requested: `auto` (the default, as the schema says) or an integer of at least 1. `auto` is the largest
            divisor of `steps_per_epoch` up to `AUTO_LIMIT` (64), and 1 under `mirrored` over several replicas.
        steps_per_epoch: training steps per epoch, at least 1.
        origin: where the steps come from, for messages, such as `105 training examples in batches of 16`;
            default none.
        distribution: the plan's distribution (`one_device`, `mirrored`, `multi_worker` or `tpu`); default
            `one_device`.
        replicas: the plan's replicas; default 1.

    Raises:
        StepsPerExecutionError: `requested` is an integer that does not divide `steps_per_epoch`, or is above 1
            under `mirrored` over several replicas.
    """
    if steps_per_epoch < 1:
        raise ValueError(f"Invalid value for argument `steps_per_epoch`. Expected an integer of at least 1. "
                         f"Received: steps_per_epoch={steps_per_epoch}")
    if requested != "auto" and (isinstance(requested, bool) or not isinstance(requested, int) or requested < 1):
        raise ValueError(f"Invalid value for argument `requested`. Expected 'auto' or an integer of at least 1. "
                         f"Received: requested={requested!r}")
    shown = f" ({origin})" if origin else ""
    # Keras 3.15's `fit` fails under MirroredStrategy over two or more replicas once its step loop runs more than
    # one step (InvalidArgumentError: "You must feed a value for placeholder tensor 'while/cond/Placeholder'").
    unfused = distribution == "mirrored" and replicas > 1
    if unfused and requested != 1:
        if requested != "auto":
            raise StepsPerExecutionError(
                f"{requested} steps per execution cannot run under distribution 'mirrored' over {replicas} "
                f"replicas: Keras's fit fails there when an execution runs more than one step. Use 1 or 'auto'")
        return Execution(steps_per_epoch, 1, f"auto: 1 step per execution under mirrored over {replicas} "
                                              f"replicas, where Keras's fit cannot run more")
    if requested == "auto":
        chosen = max(divisor for divisor in divisors(steps_per_epoch) if divisor <= AUTO_LIMIT)
        if chosen == steps_per_epoch:
            reason = f"auto: {chosen} step{'s' if chosen != 1 else ''} per execution, the whole epoch{shown}"
        elif chosen == 1:
            reason = (f"auto: 1 step per execution, as no number from 2 to {AUTO_LIMIT} divides the {steps_per_epoch} "
                      f"steps of an epoch{shown}; a data.batch_size or training.steps_per_epoch giving a "
                      f"number of steps with such a divisor trains faster")
        else:
            reason = (f"auto: {chosen} steps per execution, the largest divisor of the {steps_per_epoch} steps of an "
                      f"epoch{shown} up to {AUTO_LIMIT}")
        return Execution(steps_per_epoch, chosen, reason)
    problem = indivisible_steps(requested, steps_per_epoch, origin)
    if problem:
        raise StepsPerExecutionError(problem)
    return Execution(steps_per_epoch, requested, f"{requested} step{'s' if requested != 1 else ''} per "
                                                 f"execution (asked for)")
