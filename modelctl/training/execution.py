"""How many training steps one call of the compiled training function runs (`training.steps_per_execution`).

    execution = resolve("auto", steps_per_epoch=313)
    execution.steps_per_execution     # 63: 5 executions an epoch, the last of 61 steps
    execution.reason                  # "auto: 63 steps per execution: the 313 steps of an epoch in 5 executions ..."

Keras runs `steps_per_execution` training steps inside one call of its
compiled function, so the Python work around a step (the call itself, the
callbacks, reading the logs) is paid once per call instead of once per step.
Batch callbacks then run once per call: progress moves, Ctrl-C and SIGTERM are
noticed, and the loss is checked for NaN once per call, with the index of the
call's first step (`on_train_batch_begin`) and of its last (`on_train_batch_end`).

Keras's `fit` ends a call early when its dataset runs out. The training dataset
gives each epoch as one pass of exactly its steps (`modelctl.data.batching`, with
an `EpochClock` that a callback sets at each epoch's start), so any value works
for any number of steps: the last call of an epoch runs the steps left, and an
epoch is exactly its steps, as resuming, the epoch-keyed shuffling and the
schedules need. `auto` takes the fewest calls of at most `AUTO_LIMIT` steps and
spreads the steps evenly over them (313 steps: 5 calls of 63, the last of 61).

The custom loop of multi-worker training (`modelctl.training.loop`) reads one
endless dataset and runs whole calls, so there the value must divide the steps
of an epoch, and `auto` takes the largest divisor up to `AUTO_LIMIT`.

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
        steps_per_execution: steps per call of the compiled training function; the last call of an epoch runs
            the steps left when it does not divide `steps_per_epoch`.
        reason: one sentence saying why, for `--dry-run` and the run's record.
    """

    steps_per_epoch: int
    steps_per_execution: int
    reason: str

    @property
    def executions_per_epoch(self) -> int:
        return -(-self.steps_per_epoch // self.steps_per_execution)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def resolve(requested: int | str, steps_per_epoch: int, *, origin: str = "", distribution: str = "one_device",
            replicas: int = 1) -> Execution:
    """The steps per execution for `training.steps_per_execution` = `requested` in epochs of `steps_per_epoch` steps.

    Args:
        requested: `auto` (the default, as the schema says) or an integer of at least 1. `auto` is the fewest
            calls of at most `AUTO_LIMIT` (64) steps, the steps spread evenly over them; under `multi_worker` the
            largest divisor of `steps_per_epoch` up to `AUTO_LIMIT`; 1 under `mirrored` over several replicas.
        steps_per_epoch: training steps per epoch, at least 1.
        origin: where the steps come from, for messages, such as `105 training examples in batches of 16`;
            default none.
        distribution: the plan's distribution (`one_device`, `mirrored`, `multi_worker` or `tpu`); default
            `one_device`.
        replicas: the plan's replicas; default 1.

    Raises:
        StepsPerExecutionError: `requested` is above 1 under `mirrored` over several replicas, or under
            `multi_worker` an integer that does not divide `steps_per_epoch`.
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
    if distribution == "multi_worker":
        return _whole_calls(requested, steps_per_epoch, shown=shown, origin=origin)
    if requested != "auto":
        return Execution(steps_per_epoch, requested, f"{requested} step{'s' if requested != 1 else ''} per "
                                                     f"execution (asked for){_last(requested, steps_per_epoch)}")
    calls = -(-steps_per_epoch // AUTO_LIMIT)
    chosen = -(-steps_per_epoch // calls)
    if chosen == steps_per_epoch:
        reason = f"auto: {chosen} step{'s' if chosen != 1 else ''} per execution, the whole epoch{shown}"
    else:
        reason = (f"auto: {chosen} steps per execution: the {steps_per_epoch} steps of an epoch{shown} in {calls} "
                  f"executions of at most {AUTO_LIMIT}{_last(chosen, steps_per_epoch)}")
    return Execution(steps_per_epoch, chosen, reason)


def _last(chosen: int, steps_per_epoch: int) -> str:
    """Words on the shorter last execution of an epoch, when there is one."""
    left = steps_per_epoch % chosen
    return f", the last of {left}" if left else ""


def _whole_calls(requested: int | str, steps_per_epoch: int, *, shown: str, origin: str) -> Execution:
    """Steps per execution for the multi-worker loop, whose calls all run as many steps: a divisor."""
    if requested == "auto":
        chosen = max(divisor for divisor in divisors(steps_per_epoch) if divisor <= AUTO_LIMIT)
        if chosen == steps_per_epoch:
            reason = f"auto: {chosen} step{'s' if chosen != 1 else ''} per execution, the whole epoch{shown}"
        elif chosen == 1:
            reason = (f"auto: 1 step per execution, as no number from 2 to {AUTO_LIMIT} divides the {steps_per_epoch} "
                      f"steps of an epoch{shown} (the multi-worker loop runs whole executions); a data.batch_size "
                      "or training.steps_per_epoch giving a number of steps with such a divisor trains faster")
        else:
            reason = (f"auto: {chosen} steps per execution, the largest divisor of the {steps_per_epoch} steps of an "
                      f"epoch{shown} up to {AUTO_LIMIT} (the multi-worker loop runs whole executions)")
        return Execution(steps_per_epoch, chosen, reason)
    problem = indivisible_steps(requested, steps_per_epoch, origin)
    if problem:
        raise StepsPerExecutionError(problem + " (the multi-worker loop runs whole executions)")
    return Execution(steps_per_epoch, requested, f"{requested} step{'s' if requested != 1 else ''} per "
                                                 f"execution (asked for)")
