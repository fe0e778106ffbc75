"""Small builders for the JSON Schema shapes the spec uses again and again."""

from __future__ import annotations

from typing import Iterable, Mapping

from modelctl.registry.base import Registry


def closed(properties: Mapping[str, dict], description: str, required: Iterable[str] = (), **extra) -> dict:
    """A mapping that accepts exactly the given keys."""
    schema: dict = {"description": description, "type": "object", "properties": dict(properties),
                    "additionalProperties": False}
    required = list(required)
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


def prop(schema: dict, description: str, default=...) -> dict:
    """A property: `schema` with a description and, unless `...`, a default."""
    result = {"description": description, **schema}
    if default is not ...:
        result["default"] = default
    return result


def def_name(family: str, name: str) -> str:
    return f"{family}.{name}"


def typed_family(registry: Registry, family: str, description: str, *, allow_name: bool = True) -> tuple[dict, dict]:
    """Schema for `{type: NAME, ...arguments}` (or just `NAME`) over a registry.

    Returns the family's schema and the `$defs` it needs (one closed mapping per entry).
    The `type` key picks the entry; each entry's mapping accepts only its own arguments.
    """
    names = registry.names()
    defs = {}
    branches = []
    type_schema = {"title": registry.family, "description": f"The {registry.family}'s name.", "enum": names}
    for entry in registry:
        key = def_name(family, entry.name)
        defs[key] = closed({"type": {"description": entry.description, "const": entry.name}, **entry.args},
                           entry.description, required=["type", *entry.required])
        branches.append({"if": {"properties": {"type": {"const": entry.name}}, "required": ["type"]},
                         "then": {"$ref": f"#/$defs/{key}"}})
    mapping = {"type": "object", "properties": {"type": type_schema}, "required": ["type"], "allOf": branches}
    if not allow_name:
        return {"description": description, **mapping}, defs
    by_name = {"title": registry.family, "enum": [e.name for e in registry if not e.required]}
    return {"description": description, "if": {"type": "string"}, "then": by_name, "else": mapping}, defs


def keyed_steps(steps: Mapping[str, dict], title: str, description: str) -> dict:
    """A list of one-key mappings (`- standardize: {}`) or bare names (`- standardize`)."""
    item = {
        "title": title,
        "if": {"type": "string"},
        "then": {"title": title, "enum": [name for name, schema in steps.items() if _accepts_null(schema)]},
        "else": {"type": "object", "properties": dict(steps), "additionalProperties": False,
                 "minProperties": 1, "maxProperties": 1},
    }
    return {"description": description, "type": "array", "items": item, "default": []}


def _accepts_null(schema: dict) -> bool:
    kinds = schema.get("type")
    return kinds == "null" or (isinstance(kinds, list) and "null" in kinds) or "default" in schema


def discriminated(key: str, variants: Mapping[str, dict], description: str, *, title: str,
                  common: Mapping[str, dict] | None = None, required: Iterable[str] = ()) -> dict:
    """A mapping whose `key` picks which other keys are allowed.

    Args:
        key: the discriminating key (`format`, `type`).
        variants: value of `key` -> properties allowed for it (besides `common`).
        common: properties every variant accepts.
        required: keys every variant requires besides `key`.
    """
    common = dict(common or {})
    names = list(variants)
    branches = []
    for name, properties in variants.items():
        allowed = {key: {"const": name}, **common, **properties}
        branches.append({
            "if": {"properties": {key: {"const": name}}, "required": [key]},
            "then": {"properties": allowed, "additionalProperties": False},
        })
    outer = {key: {"title": title, "description": f"Which {title} this is.", "enum": names}, **common}
    return {"description": description, "type": "object", "properties": outer,
            "required": [key, *required], "allOf": branches}
