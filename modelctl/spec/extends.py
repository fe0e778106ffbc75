"""`extends`: a spec written as changes to one or more base specs.

    # specs/wide.yaml
    extends: base.yaml                 # or a list: [base.yaml, gpu.yaml], merged in that order
    name: wide
    model:
      layers: [...]                    # lists replace the base's list
    training:
      early_stopping: null             # null removes the base's key

    document = load_resolved("specs/wide.yaml")
    document.data     # the bases merged in order, then the file's own keys (no `extends` key left)
    document.files    # ["specs/base.yaml", "specs/wide.yaml"]: every file it came from, bases first

Merging: mappings merge key by key, every other value (lists included) replaces the base's, and a
key whose value is `null` is removed. A base may extend bases of its own. Every value keeps the
file, line and column it was written at, so an error in a key that came from a base points into
the base. Base paths are relative to the file that names them. Relative paths inside a spec (the
data source, backbone weights) are read from the folder of the spec that is loaded, the one named
on the command line, wherever they were written.

A base may be partial: `schemas/modelctl.schema.json` requires only `modelctl: 1` in each file,
and `name` and `model` in the merged spec.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from modelctl.errors import Diagnostic, Location, SpecError, json_path
from modelctl.spec.loader import Document, kind_of, load_file

KEY = "extends"
"""The top-level key that names a spec's bases."""

MAX_DEPTH = 32
"""Longest chain of bases followed (a spec extending a base extending a base ...)."""


def load_resolved(path: str | Path) -> Document:
    """Read the spec at `path` and merge it onto its bases (see the module docstring).

    Args:
        path: the spec file, as named on the command line (messages show it as given).

    Returns:
        A Document whose `data` holds no `extends` key and whose `files` lists the files merged, bases
        first and `path` last. A spec without `extends` comes back as read, with `files` = [path].

    Raises:
        UsageError: `path` does not exist or cannot be read.
        SpecError: a file is not valid YAML, or an `extends` value names a file that does not exist, names
            a file twice, or leads back to a file that extends it (the error is at the `extends` entry).
    """
    return _resolve(load_file(path), chain=())


def _resolve(document: Document, chain: tuple[Path, ...]) -> Document:
    own = Path(document.source).resolve()
    chain = chain + (own,)
    document.files = [document.source]
    if not isinstance(document.data, dict) or KEY not in document.data:
        return document
    bases, problems = [], []
    for written, path in _base_names(document):
        try:
            bases.append(_load_base(document, written, path, chain=chain))
        except SpecError as error:  # every base's problems are shown, not only the first's
            problems += error.diagnostics
    if problems:
        raise SpecError(problems)
    merged = Document(document.source, {})
    for base in bases:
        _merge(merged, base, ())
        merged.files += [name for name in base.files if name not in merged.files]
    _merge(merged, _without_extends(document), ())
    # A problem with the spec as a whole (a missing `name`) is the extending file's, not its first base's.
    merged.values[()] = document.values.get((), Location(document.source, 1, 1))
    merged.files.append(document.source)
    return merged


def _base_names(document: Document) -> list[tuple[str, tuple]]:
    """(name as written, path in the document) of each base, in merge order."""
    value = document.data[KEY]
    if isinstance(value, str) and value.strip():
        return [(value, (KEY,))]
    if isinstance(value, list) and value and all(isinstance(item, str) and item.strip() for item in value):
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            if item in seen:
                raise _error(document, (KEY, index), f"'{item}' is named twice (first as item {seen[item]})")
            seen[item] = index
        return [(item, (KEY, index)) for index, item in enumerate(value)]
    raise _error(document, (KEY,), "`extends` names the base spec files this one is merged onto: a file name "
                                   "such as base.yaml, or a non-empty list of them; got "
                                   f"{_described(value)}")


def _load_base(document: Document, written: str, path: tuple, *, chain: tuple[Path, ...]) -> Document:
    folder = Path(document.source).parent
    file = Path(written) if Path(written).is_absolute() else folder / written
    resolved = file.resolve()
    if resolved in chain:
        cycle = " -> ".join(_shown(step) for step in (*chain[chain.index(resolved):], resolved))
        raise _error(document, path, f"'{written}' leads back to a spec that extends it: {cycle}")
    if len(chain) > MAX_DEPTH:
        raise _error(document, path, f"bases extend bases more than {MAX_DEPTH} levels deep")
    if not file.is_file():
        what = "is a folder, not a spec file" if file.is_dir() else "does not exist"
        raise _error(document, path, f"the base spec '{written}' {what} (looked for {_shown(file)}); "
                                     "base paths are relative to the file that names them")
    return _resolve(load_file(os.path.normpath(file)), chain)


def _without_extends(document: Document) -> Document:
    data = {key: value for key, value in document.data.items() if key != KEY}
    values = {path: where for path, where in document.values.items() if path[:1] != (KEY,)}
    keys = {path: where for path, where in document.keys.items() if path[:1] != (KEY,)}
    return Document(document.source, data, values, keys)


def _merge(target: Document, layer: Document, path: tuple) -> None:
    """Merge the mapping at `path` of `layer` onto the same mapping of `target`, positions included."""
    into = _at(target.data, path)
    for key, value in _at(layer.data, path).items():
        sub = path + (key,)
        if value is None:
            into.pop(key, None)
            _forget(target, sub)
            continue
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            target.values[sub] = layer.values.get(sub, target.values.get(sub))
            target.keys[sub] = layer.keys.get(sub, target.keys.get(sub))
            _merge(target, layer, sub)
            continue
        _forget(target, sub)
        into[key] = value
        for table, source in ((target.values, layer.values), (target.keys, layer.keys)):
            table.update({known: where for known, where in source.items() if known[:len(sub)] == sub})


def _at(data: dict, path: tuple) -> dict:
    for key in path:
        data = data[key]
    return data


def _forget(document: Document, path: tuple) -> None:
    """Drop the positions of the value at `path` and everything under it."""
    for table in (document.values, document.keys):
        for known in [known for known in table if known[:len(path)] == path]:
            del table[known]


def _error(document: Document, path: tuple, message: str) -> SpecError:
    return SpecError([Diagnostic(document.locate(path), json_path(path), message)])


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it lies inside it, else absolute."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)



def _described(value: Any) -> str:
    if value in ("", []):
        return "an empty " + ("list" if value == [] else "string")
    if isinstance(value, list):
        return "a list holding " + ", ".join(sorted({kind_of(item) for item in value if not isinstance(item, str)}
                                                     or {"an empty string"}))
    return kind_of(value)
