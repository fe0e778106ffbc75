"""Turn JSON Schema errors into modelctl diagnostics a person can act on.

Each message says what was received, what is allowed and, for a misspelled
name, the closest allowed one.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable, Iterator, Mapping

from jsonschema.exceptions import ValidationError

from modelctl.errors import Diagnostic, did_you_mean, one_of
from modelctl.spec.loader import Document, kind_of

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "a boolean", "null": "null"}


def diagnostics(document: Document, errors: Iterable[ValidationError]) -> list[Diagnostic]:
    """Diagnostics for `errors` raised while validating `document.data`."""
    errors = list(errors)
    unknown_key_at = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    result: list[Diagnostic] = []
    for error in errors:
        path = tuple(error.absolute_path)
        if (_title(error) == "layer" and error.validator in ("not", "enum") and path in unknown_key_at
                and isinstance(document_value(document, path), dict)):
            continue  # the unknown key already says what is wrong with this item
        result.extend(_convert(document, error))
    return _unique(result)


def rebased(document: Document, errors: Iterable[ValidationError], base: tuple,
            *, arg_paths: dict) -> list[Diagnostic]:
    """Diagnostics for errors found in a block layer's expanded arguments.

    Each error is placed where its argument was written: in the block, or at the
    `with` value that supplied a parameter.
    """
    errors = [error for error in errors if not _is_param_ref(error.instance)]
    for error in errors:
        relative = list(error.path)
        if relative and relative[0] in arg_paths:
            written = arg_paths[relative[0]]
            rest = relative[1:] if written[-1] == relative[0] else []
            error.path = error.relative_path = deque([*written, *rest])
        else:
            error.path = error.relative_path = deque([*base, *relative])
    return diagnostics(document, errors)


def section_problems(values: Mapping, properties: dict, *, where: str, path: tuple,
                     required: Iterable[str] = ()) -> list[Diagnostic]:
    """Every problem of `values`, the mapping a spec writes at `path`, against the schemas of its keys,
    unknown keys included: for values given outside a spec file (a Python call, a run's options), checked as
    validation checks a spec and shown in the same shape, `where: $.path: message`.

    Args:
        values: key -> value, as the spec would write them at `path`.
        properties: key -> JSON Schema of its value (from the schema or a registry entry).
        where: what the values came from, in place of a file position, such as `export options`.
        path: the keys of the section in the spec, such as `("export", "tflite")`.
        required: keys that must be given; default none.
    """
    from modelctl.errors import Location
    from modelctl.spec.strict import validator

    schema: dict = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    data: object = dict(values)
    for key in reversed(path):
        schema = {"type": "object", "properties": {key: schema}}
        data = {key: data}
    document = Document(source=where, data=data, values={(): Location(where)})
    return sorted(diagnostics(document, validator(schema).iter_errors(data)), key=Diagnostic.sort_key)


def _is_param_ref(value: object) -> bool:
    """An unresolved `$param` (already reported by the block expansion)."""
    return isinstance(value, str) and value.startswith("$") and value[1:].isidentifier()


def _unique(items: list[Diagnostic]) -> list[Diagnostic]:
    seen = set()
    unique = []
    for item in items:
        key = (item.location, item.path, item.message)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _title(error: ValidationError) -> str | None:
    schema = error.schema if isinstance(error.schema, dict) else {}
    return schema.get("title")


def _received(value: object) -> str:
    if isinstance(value, (dict, list)):
        return kind_of(value)
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{kind_of(value)} {text}" if value is not None else "null"


def _expected_types(kinds: object) -> str:
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return one_of([_TYPE_NAMES.get(kind, kind) for kind in kinds]).replace("'", "")


def _convert(document: Document, error: ValidationError) -> Iterator[Diagnostic]:
    path = tuple(error.absolute_path)
    value = error.instance
    validator = error.validator
    if _title(error) == "layer" and validator in ("not", "enum") and isinstance(document_value(document, path), dict):
        yield from _layer_kinds(document, path)
        return
    if "propertyNames" in error.absolute_schema_path:
        yield from _property_name(document, error, path)
        return
    if validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        for key in value:
            if key in allowed:
                continue
            if _title(error) == "layer":
                message = (f"'{key}' is not a known layer (or item key name, inputs, repeat, block, with)."
                           f"{did_you_mean(key, allowed)}")
            elif _title(error) == "augmentation layer":
                message = (f"'{key}' is not an augmentation layer: augmentation takes the layers that are active in "
                           f"training only. Expected one of {one_of(allowed)}.{did_you_mean(key, allowed)}")
            else:
                message = f"unknown key '{key}'. Allowed keys: {one_of(allowed)}.{did_you_mean(key, allowed)}"
            yield document.diagnostic(path + (key,), message, key=True)
        return
    if validator == "required":
        for key in error.validator_value:
            if isinstance(value, dict) and key not in value:
                description = error.schema.get("properties", {}).get(key, {}).get("description", "")
                hint = f" ({description.rstrip('.')})" if description else ""
                yield document.diagnostic(path, f"missing required key '{key}'{hint}")
        return
    if validator in ("anyOf", "oneOf"):
        yield from _alternatives(document, error, path)
        return
    yield document.diagnostic(path, _simple_message(error))


def _property_name(document: Document, error: ValidationError, path: tuple) -> Iterator[Diagnostic]:
    name = error.instance
    if error.validator == "enum":
        allowed = error.validator_value
        title = _title(error) or "key"
        message = f"'{name}' is not a known {title}. Expected one of {one_of(allowed)}.{did_you_mean(name, allowed)}"
    elif error.validator == "pattern":
        message = (f"'{name}' is not a valid name: use letters, digits and underscores, starting with a letter "
                   "or underscore")
    else:
        message = f"key '{name}': {_simple_message(error)}"
    yield document.diagnostic(path + (name,), message, key=True)


def document_value(document: Document, path: tuple) -> object:
    value = document.data
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _layer_kinds(document: Document, path: tuple) -> Iterator[Diagnostic]:
    """An item with no layer, or with several."""
    item = document_value(document, path)
    kinds = [key for key in item if key not in ("name", "inputs", "repeat", "with")]
    if not kinds:
        message = "the item names no layer: write one such as `dense: {units: 8}` or `block: NAME`"
    else:
        message = f"the item names several layers ({', '.join(kinds)}); write one layer per item"
    yield document.diagnostic(path, message)


def _alternatives(document: Document, error: ValidationError, path: tuple) -> Iterator[Diagnostic]:
    branches = [sub for sub in error.context if not _is_null_branch(sub)]
    deeper = [sub for sub in branches if len(sub.absolute_path) > len(error.absolute_path)
              or sub.validator not in ("type", "required")]
    if deeper:
        for sub in _best_branch(deeper):
            yield from _convert(document, sub)
        return
    types = []
    for sub in error.context:
        if sub.validator == "type":
            kinds = sub.validator_value if isinstance(sub.validator_value, list) else [sub.validator_value]
            types.extend(kind for kind in kinds if kind not in types)
    if types:
        yield document.diagnostic(path, f"expected {_expected_types(types)}, got {_received(error.instance)}")
        return
    if error.validator == "oneOf" and all(sub.validator == "required" for sub in error.context):
        options = [sub.validator_value[0] for sub in error.context]
        present = [key for key in options if isinstance(error.instance, dict) and key in error.instance]
        if present:
            message = f"give only one of {one_of(options)}; found {one_of(present)}"
        else:
            message = f"give one of {one_of(options)}"
        yield document.diagnostic(path, message)
        return
    yield document.diagnostic(path, f"{_received(error.instance)} does not fit any allowed form")


def _is_null_branch(error: ValidationError) -> bool:
    return error.validator == "type" and error.validator_value == "null"


def _best_branch(errors: list[ValidationError]) -> list[ValidationError]:
    """Errors of the alternative that got furthest: the one whose errors lie deepest."""
    by_branch: dict = {}
    for sub in errors:
        by_branch.setdefault(sub.relative_schema_path[0] if sub.relative_schema_path else 0, []).append(sub)
    return max(by_branch.values(), key=lambda group: max(len(sub.absolute_path) for sub in group))


def _simple_message(error: ValidationError) -> str:
    value = error.instance
    bound = error.validator_value
    validator = error.validator
    title = _title(error)
    if validator == "enum":
        allowed = [item for item in bound if item is not None] if value is not None else bound
        noun = f"a known {title}" if title else "allowed"
        suggestion = did_you_mean(value, [str(item) for item in allowed])
        return f"{_quote(value)} is not {noun}. Expected one of {one_of(allowed)}.{suggestion}"
    if validator == "const":
        if error.absolute_path and error.absolute_path[-1] == "modelctl":
            return f"this release reads spec format {bound}; got {_quote(value)}"
        return f"expected {_quote(bound)}, got {_quote(value)}"
    if validator == "type":
        return f"expected {_expected_types(bound)}, got {_received(value)}"
    if validator == "minimum":
        return f"{value} is too small: the minimum is {bound}"
    if validator == "maximum":
        return f"{value} is too large: the maximum is {bound}"
    if validator == "exclusiveMinimum":
        return f"{value} is too small: it must be greater than {bound}"
    if validator == "exclusiveMaximum":
        return f"{value} is too large: it must be less than {bound}"
    if validator == "minItems":
        return f"the list has {len(value)} item{'s' if len(value) != 1 else ''}; at least {bound} needed"
    if validator == "maxItems":
        return f"the list has {len(value)} items; at most {bound} allowed"
    if validator == "uniqueItems":
        repeated = sorted({str(item) for item in value if value.count(item) > 1})
        return f"the list repeats {one_of(repeated)}; each value may appear once"
    if validator == "minLength":
        return "the value is empty; write a non-empty string"
    if validator == "pattern":
        return f"{_quote(value)} is not a valid name: use letters, digits, '_', '.' or '-' (pattern {bound})"
    if validator == "minProperties":
        return f"the mapping is empty; at least {bound} key{'s' if bound != 1 else ''} needed"
    if validator == "maxProperties":
        return f"the mapping has {len(value)} keys ({', '.join(value)}); at most {bound} allowed"
    return error.message


def _quote(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else repr(value)
