"""Turn argument values written in a spec into the objects Keras layers take.

Initializers, regularizers and constraints are written as names or small
mappings (`{type: random_normal, stddev: 0.02}`, `{l2: 0.0001}`); wrapped
layers (`bidirectional: {layer: {lstm: {units: 32}}}`) are built recursively.
Which arguments need converting is read from the entry's argument schema.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from modelctl.errors import ModelctlError, one_of
from modelctl.registry.base import Entry


class ArgumentError(ModelctlError):
    """An argument value that cannot be turned into a Keras object; `argument` names it."""

    def __init__(self, argument: str, message: str):
        self.argument = argument
        super().__init__(message)


def _refs(schema: dict) -> set[str]:
    found = set()
    if "$ref" in schema:
        found.add(schema["$ref"].rsplit("/", 1)[-1])
    for option in schema.get("anyOf", []):
        found |= _refs(option)
    return found


def _with_arguments(cls: type, family: str, name: str, *, arguments: dict, argument: str) -> Any:
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    unknown = sorted(set(arguments) - accepted)
    if unknown:
        raise ArgumentError(argument, f"{family} '{name}' takes no argument {one_of(unknown)}; it takes "
                                      f"{one_of(sorted(accepted)) if accepted else 'none'}")
    return cls(**arguments)


def initializer(value: Any, argument: str, seed: int | None) -> Any:
    import keras

    if value is None or isinstance(value, str):
        return value
    arguments = dict(value)
    name = arguments.pop("type")
    cls = type(keras.initializers.get(name))
    if "seed" in inspect.signature(cls.__init__).parameters and arguments.get("seed") is None:
        arguments["seed"] = seed
    return _with_arguments(cls, "initializer", name, arguments=arguments, argument=argument)


def regularizer(value: Any, argument: str, seed: int | None) -> Any:
    import keras

    if value is None:
        return None
    return keras.regularizers.L1L2(l1=value.get("l1", 0.0), l2=value.get("l2", 0.0))


def constraint(value: Any, argument: str, seed: int | None) -> Any:
    import keras

    if value is None:
        return None
    if isinstance(value, str):
        return keras.constraints.get(value)
    arguments = dict(value)
    name = arguments.pop("type")
    return _with_arguments(type(keras.constraints.get(name)), "constraint", name, arguments=arguments,
                           argument=argument)


CONVERTERS: dict[str, Callable[[Any, str, int | None], Any]] = {
    "initializer": initializer,
    "regularizer": regularizer,
    "constraint": constraint,
}


def keras_arguments(entry: Entry, args: dict, seed: int | None, *, build_layer: Callable[[dict], Any]) -> dict:
    """Keyword arguments for `entry`'s Keras class from the spec's `args`.

    Args:
        entry: the layer's registry entry.
        args: argument values as written (after block parameters are filled in).
        seed: the spec's seed, given to random initializers that name none.
        build_layer: builds a wrapped layer from `{KIND: {...}}` (for bidirectional and the like).
    """
    result = {}
    for name, value in args.items():
        refs = _refs(entry.args.get(name, {}))
        if "wrapped_layer" in refs and isinstance(value, dict):
            result[name] = build_layer(value)
            continue
        converter = next((CONVERTERS[ref] for ref in refs if ref in CONVERTERS), None)
        result[name] = converter(value, name, seed) if converter else _plain(value)
    return result


def _plain(value: Any) -> Any:
    """Lists become tuples: Keras compares shapes and kernel sizes as tuples."""
    if isinstance(value, list):
        return tuple(_plain(item) for item in value)
    return value
