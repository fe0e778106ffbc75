"""`--set dotted.path=value` overrides applied to a loaded spec.

Values are read as YAML (`5`, `true`, `adam`, `[32, 32]`), never evaluated.
Errors in an overridden value point at the `--set` argument, not the file.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from modelctl.errors import Diagnostic, Location, SpecError, UsageError, json_path
from modelctl.spec.loader import Document, load_text

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(text: str) -> tuple:
    """`model.layers[2].dense.units` (or `model.layers.2.dense.units`) -> ("model", "layers", 2, "dense", "units")."""
    parts: list[Any] = []
    position = 0
    for match in _TOKEN.finditer(text):
        between = text[position:match.start()]
        if between not in ("", "."):
            raise ValueError(text)
        name, index = match.groups()
        parts.append(int(index) if index is not None else int(name) if name.isdigit() else name)
        position = match.end()
    if position != len(text) or not parts or text.startswith(".") or text.endswith("."):
        raise ValueError(text)
    return tuple(parts)


def apply_overrides(document: Document, overrides: Iterable[str]) -> None:
    """Apply each `path=value` to `document` in order.

    Raises:
        UsageError: an override is not of the form `dotted.path=value`.
        SpecError: an override's value is not valid YAML or its path cannot be followed.
    """
    for text in overrides:
        key, sep, raw = text.partition("=")
        try:
            if not sep:
                raise ValueError(text)
            path = parse_path(key.strip())
        except ValueError:
            raise UsageError(f"--set {text}: expected `dotted.path=value`, such as `training.epochs=5` or "
                             "`model.layers[0].dense.units=64`") from None
        source = f"--set {text}"
        try:
            value = load_text(raw, source, expect_mapping=False).data if raw.strip() else ""
        except SpecError as error:
            # Positions inside a one-line value mean little; name the argument and the problem.
            raise SpecError([Diagnostic(Location(source), json_path(path), item.message.removeprefix("YAML syntax: "))
                             for item in error.diagnostics]) from None
        _assign(document, path, value, location=Location(source))


def _assign(document: Document, path: tuple, value: Any, *, location: Location) -> None:
    unfollowed = set_value(document.data, path, value, create=True)
    if unfollowed is not None:
        depth, parent = unfollowed
        raise _cannot_follow(location, path[: depth + 1], parent)
    for table in (document.values, document.keys):
        for known in [known for known in table if known[: len(path)] == path]:
            del table[known]
    for sub in _paths(value, path):
        document.values[sub] = location
    document.keys[path] = location


def set_value(data: Any, path: tuple, value: Any, *, create: bool) -> tuple[int, Any] | None:
    """Set `value` at `path` (keys and list indexes) in `data`; None when it is set, else (the depth of the part
    that cannot be followed, the value it was looked up in).

    Args:
        create: make the missing mappings (or lists) on the way, as `--set` does; False follows only what is
            written, so that only the last key may be missing (a value left at its default).
    """
    parent = data
    for depth, part in enumerate(path[:-1]):
        if isinstance(parent, dict) and isinstance(part, str) and (create or part in parent):
            if part not in parent:
                parent[part] = {} if isinstance(path[depth + 1], str) else []
            if not create and not isinstance(parent[part], (dict, list)):
                return depth, parent
            parent = parent[part]
        elif isinstance(parent, list) and isinstance(part, int) and part < len(parent):
            parent = parent[part]
        else:
            return depth, parent
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        parent[last] = value
    else:
        return len(path) - 1, parent
    return None


def _paths(value: Any, path: tuple) -> Iterable[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, path + (index,))


def _cannot_follow(location: Location, path: tuple, parent: Any) -> SpecError:
    if isinstance(parent, list):
        message = f"the list has {len(parent)} items; indexes run from 0 to {len(parent) - 1}"
    elif isinstance(parent, dict):
        message = "a list index cannot select a key of a mapping"
    else:
        message = f"cannot go inside a plain value ({parent!r})"
    return SpecError([Diagnostic(location, json_path(path), message)])
