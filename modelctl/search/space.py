"""From a spec's `search.parameters` to Optuna suggestions, and from a trial's values to `--set` overrides.

    values = suggest(trial, parameters)      # {"model.layers[0].dense.units": 64, ...}
    overrides(values)                        # ["model.layers[0].dense.units=64", ...]

Optuna stores the values of a `choice` only when they are plain scalars; a
choice among mappings or lists (`{type: sgd, momentum: 0.9}`) is stored as the
JSON text of each value and read back by `decode` as the value written in the spec.
"""

from __future__ import annotations

import json
from typing import Any

from modelctl.spec.search import grid

_PLAIN = (str, int, float, bool, type(None))


def _plain_choices(values: list) -> bool:
    return all(isinstance(value, _PLAIN) for value in values)


def choices(parameter: dict) -> list:
    """The values Optuna chooses among for a `choice` parameter: the values themselves, or their JSON text."""
    values = list(parameter["values"])
    return values if _plain_choices(values) else [json.dumps(value, sort_keys=True) for value in values]


def suggest(trial, parameters: dict) -> dict[str, Any]:
    """Ask `trial` (an `optuna.Trial`) for a value of every parameter; returns path -> value as the spec takes it."""
    values = {}
    for name, parameter in parameters.items():
        kind = parameter["type"]
        if kind == "choice":
            values[name] = trial.suggest_categorical(name, choices(parameter))
        elif kind == "int":
            values[name] = trial.suggest_int(name, parameter["low"], parameter["high"], step=parameter.get("step", 1),
                                             log=parameter.get("log", False))
        else:
            values[name] = trial.suggest_float(name, float(parameter["low"]), float(parameter["high"]),
                                               log=kind == "loguniform")
    return decode(values, parameters)


def decode(stored: dict[str, Any], parameters: dict) -> dict[str, Any]:
    """Values as Optuna stores them (`trial.params`) -> values as the spec takes them."""
    values = {}
    for name, value in stored.items():
        parameter = parameters.get(name, {})
        if parameter.get("type") == "choice" and not _plain_choices(parameter["values"]):
            value = dict(zip(choices(parameter), parameter["values"])).get(value, json.loads(value))
        values[name] = value
    return values


def grid_space(parameters: dict) -> dict[str, list]:
    """The grid sampler's search space: every value of each (discrete) parameter, as Optuna stores it."""
    space = grid(parameters)
    return {name: choices(parameters[name]) if parameters[name]["type"] == "choice" else values
            for name, values in space.items()}


def overrides(values: dict[str, Any]) -> list[str]:
    """`path=value` overrides for `values`, shorter paths first so that a parameter inside another's value (such
    as `training.optimizer.learning_rate` beside `training.optimizer`) is applied after it. Values are written
    as JSON, which YAML reads back exactly."""
    return [f"{name}={json.dumps(value)}" for name, value in sorted(values.items(), key=lambda item: len(item[0]))]
