"""Compile a built model with the spec's optimizer, schedule, losses, loss weights and metrics.

Each output gets its own loss and metrics when the spec maps them by output
name; a single loss or metric list applies to every output. Metric objects are
named as the spec writes them, so the names training logs (`val_accuracy`,
`val_label_accuracy`) are the ones `validate` accepted for callbacks to monitor.
"""

from __future__ import annotations

from typing import Any, Mapping

from modelctl.training.errors import TrainingError
from modelctl.registry.losses import LOSSES
from modelctl.registry.metrics import METRICS
from modelctl.registry.optimizers import OPTIMIZERS
from modelctl.spec.checks import DEFAULT_LOSS
from modelctl.spec.typed import Spec, Training


def _config(written: str | Mapping) -> tuple[str, dict]:
    if isinstance(written, str):
        return written, {}
    arguments = dict(written)
    return arguments.pop("type"), arguments


def _floats(entry, arguments: dict) -> dict:
    """Numbers declared as `number` are given to Keras as floats (some metrics reject ints)."""
    result = {}
    for name, value in arguments.items():
        kinds = entry.args.get(name, {}).get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        result[name] = float(value) if "number" in kinds and isinstance(value, int) and not isinstance(value, bool) \
            else value
    return result


def build_optimizer(training: Training, steps_per_epoch: int, learning_rate_scale: float = 1.0):
    """The optimizer of `training`, its learning rate following `training.schedule` when one is given.

    Args:
        training: the spec's `training` section.
        steps_per_epoch: training steps per epoch, to turn the schedule's epochs into steps.
        learning_rate_scale: factor applied to the learning rate (the number of replicas under `linear` scaling).
    """
    from modelctl.training.schedules import build_schedule

    name, arguments = _config(training.optimizer)
    entry = OPTIMIZERS.get(name)
    arguments = _floats(entry, {**entry.defaults(), **arguments})
    learning_rate = float(arguments["learning_rate"]) * learning_rate_scale
    schedule = training.schedule
    if schedule:
        learning_rate = build_schedule(schedule, learning_rate, steps_per_epoch=steps_per_epoch,
                                       epochs=training.epochs)
    arguments["learning_rate"] = learning_rate
    return entry.load()(**arguments)


def build_loss(written: Any):
    name, arguments = _config(written)
    entry = LOSSES.get(name)
    return entry.load()(**_floats(entry, arguments))


def build_metric(written: Any):
    name, arguments = _config(written)
    entry = METRICS.get(name)
    if entry.meta.get("compile_as") and not arguments:
        return entry.meta["compile_as"]
    return entry.load()(name=name, **_floats(entry, arguments))


def compile_arguments(spec: Spec, output_names: list[str], *, steps_per_epoch: int,
                      learning_rate_scale: float = 1.0) -> dict:
    """Keyword arguments for `model.compile` (optimizer, loss, loss_weights, metrics).

    Args:
        spec: the validated spec (`Document.spec`).
        output_names: the model's output names, in order.
        steps_per_epoch: training steps per epoch.
        learning_rate_scale: factor applied to the learning rate.
    """
    training = spec.training
    labels = spec.label_types()
    written_loss = training.loss
    losses = {}
    for index, output in enumerate(output_names):
        label = output if output in labels else (list(labels)[index] if index < len(labels) else None)
        if isinstance(written_loss, dict) and "type" not in written_loss:
            loss = written_loss.get(output)
        else:
            loss = written_loss
        if loss is None and label is not None:
            loss = DEFAULT_LOSS[labels[label]]
        if loss is None:
            raise TrainingError(f"output '{output}' has no loss: give training.loss, or data.labels so that "
                                "one can be chosen for the label type")
        losses[output] = build_loss(loss)
    written_metrics = training.metrics
    metrics = {}
    for output in output_names:
        group = written_metrics.get(output, []) if isinstance(written_metrics, dict) else written_metrics
        metrics[output] = [build_metric(metric) for metric in group]
    single = len(output_names) == 1
    arguments = {
        "optimizer": build_optimizer(training, steps_per_epoch, learning_rate_scale),
        "loss": losses[output_names[0]] if single else losses,
        "metrics": metrics[output_names[0]] if single else metrics,
    }
    if training.loss_weights:
        arguments["loss_weights"] = {output: float(training.loss_weights.get(output, 1.0))
                                     for output in output_names}
    return arguments
