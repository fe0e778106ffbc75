"""Reading a run's JSON files against their schemas, so that a damaged or foreign file is one clear error.

    value = read_checked(path, RECORD_SCHEMA)       # the parsed JSON, or RunError listing every problem

Every problem is shown in the project's shape, the file in place of a line (a JSON file written by modelctl
has no lines worth naming):

    runs/iris/20261123T101500Z/run.json: $.status: 'paused' is not one of ['running', 'completed', ...]

The schemas are JSON Schema (draft 2020-12) checked by jsonschema, as spec files are.
"""

from __future__ import annotations

import json
from pathlib import Path

from modelctl.errors import ModelctlError


class RunError(ModelctlError):
    """A run folder that cannot be created or read, or that holds no run a command can use. Exit code 1."""


def read_json(path: Path) -> object:
    """The JSON value of `path`.

    Raises:
        RunError: the file is missing or is not JSON.
    """
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: no such file; is {Path(path).parent} a run folder made by `modelctl train`?") \
            from None
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot be read: {error}") from None


def problems(value: object, schema: dict) -> list[tuple[str, str]]:
    """(JSON path, message) of each way `value` breaks `schema`, sorted by path."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    return sorted((error.json_path, error.message) for error in validator.iter_errors(value))


def checked(value: object, schema: dict, *, source: str | Path) -> object:
    """`value` when it fits `schema`.

    Raises:
        RunError: every problem, one line each, named after `source`.
    """
    found = problems(value, schema)
    if found:
        raise RunError("\n".join(f"{source}: {path}: {message}" for path, message in found))
    return value


def read_checked(path: Path, schema: dict) -> object:
    """The JSON value of `path`, checked against `schema`.

    Raises:
        RunError: the file is missing, is not JSON, or does not fit the schema.
    """
    return checked(read_json(path), schema, source=path)


__all__ = ["RunError", "checked", "problems", "read_checked", "read_json"]
