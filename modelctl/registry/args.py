"""Argument schemas written as data.

Each function returns a JSON Schema (draft 2020-12) fragment for one argument,
with its description and default. Registries describe their entries' arguments
with these, and the spec schema in `schemas/` is generated from them.

    {"units": integer("Number of output units.", minimum=1)}
"""

from __future__ import annotations

from typing import Any, Iterable

REQUIRED = object()
"""Marks an argument that has no default: the spec must give it."""


def _finish(schema: dict, description: str, default: Any) -> dict:
    schema = {"description": description, **schema}
    if default is not REQUIRED:
        schema["default"] = default
    return schema


def _nullable(schema: dict, default: Any) -> dict:
    """Allow null as well when the default is null."""
    if default is None and "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema = {**schema, "type": [*kinds, "null"]}
    return schema


def integer(description: str, default: Any = REQUIRED, *, minimum: int | None = None,
            maximum: int | None = None) -> dict:
    """An integer, optionally bounded (inclusive)."""
    schema: dict = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return _finish(_nullable(schema, default), description, default)


def number(description: str, default: Any = REQUIRED, *, minimum: float | None = None,
           maximum: float | None = None, exclusive_minimum: float | None = None,
           exclusive_maximum: float | None = None) -> dict:
    """A number (integers accepted), optionally bounded."""
    schema: dict = {"type": "number"}
    for key, value in (("minimum", minimum), ("maximum", maximum),
                       ("exclusiveMinimum", exclusive_minimum), ("exclusiveMaximum", exclusive_maximum)):
        if value is not None:
            schema[key] = value
    return _finish(_nullable(schema, default), description, default)


def fraction(description: str, default: Any = REQUIRED) -> dict:
    """A number in [0, 1)."""
    return number(description, default, minimum=0, exclusive_maximum=1)


def boolean(description: str, default: Any = REQUIRED) -> dict:
    return _finish(_nullable({"type": "boolean"}, default), description, default)


def string(description: str, default: Any = REQUIRED, *, pattern: str | None = None, min_length: int = 1) -> dict:
    schema: dict = {"type": "string", "minLength": min_length}
    if pattern:
        schema["pattern"] = pattern
    return _finish(_nullable(schema, default), description, default)


def choice(values: Iterable[Any], description: str, default: Any = REQUIRED) -> dict:
    """One of a fixed set of values."""
    values = list(values)
    if default is None and None not in values:
        values.append(None)
    return _finish({"enum": values}, description, default)


def integers(description: str, default: Any = REQUIRED, length: int | None = None, *, minimum: int | None = None,
             min_items: int = 1) -> dict:
    """A list of integers, of a fixed length when `length` is given."""
    items: dict = {"type": "integer"}
    if minimum is not None:
        items["minimum"] = minimum
    schema: dict = {"type": "array", "items": items, "minItems": length or min_items}
    if length:
        schema["maxItems"] = length
    return _finish(_nullable(schema, default), description, default)


def shape(description: str, default: Any = REQUIRED) -> dict:
    """A tensor shape without the batch dimension; null stands for a variable size."""
    schema = {"type": "array", "items": {"type": ["integer", "null"], "minimum": 1}, "minItems": 1}
    return _finish(_nullable(schema, default), description, default)


def int_or_tuple(rank: int, description: str, default: Any = REQUIRED, *, minimum: int = 1) -> dict:
    """An integer, or a list of `rank` integers (kernel sizes, strides, pool sizes)."""
    item = {"type": "integer", "minimum": minimum}
    options: list[dict] = [item, {"type": "array", "items": item, "minItems": rank, "maxItems": rank}]
    if default is None:
        options.append({"type": "null"})
    return _finish({"anyOf": options}, description, default)


def any_of(options: list[dict], description: str, default: Any = REQUIRED) -> dict:
    """One of several schemas (each without description)."""
    return _finish({"anyOf": options}, description, default)


def ref(definition: str, description: str, default: Any = REQUIRED) -> dict:
    """A reference to a shared definition in the spec schema's `$defs`; null is allowed when the default is null."""
    schema: dict = {"$ref": f"#/$defs/{definition}"}
    if default is None:
        schema = {"anyOf": [schema, {"type": "null"}]}
    return _finish(schema, description, default)


def obj(properties: dict, description: str, default: Any = REQUIRED, *, required: Iterable[str] = ()) -> dict:
    """A closed mapping with the given properties."""
    schema: dict = {"type": "object", "properties": properties, "additionalProperties": False}
    required = list(required)
    if required:
        schema["required"] = required
    return _finish(_nullable(schema, default), description, default)


def is_required(schema: dict) -> bool:
    return "default" not in schema
