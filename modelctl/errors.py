"""The one error shape of modelctl.

Every problem a user can cause is a `ModelctlError`. The CLI catches this base
class only, prints its message and exits with its `exit_code`; anything else is
a bug and keeps its traceback.

Problems inside a spec are `Diagnostic`s, each anchored at a `Location`:

    specs/cnn.yaml:14:18: $.model.layers[2].activation: 'rleu' is not a known activation. Did you mean 'relu'?
"""

from __future__ import annotations

import dataclasses
import difflib
from typing import Iterable, Sequence

ERROR = "error"
WARNING = "warning"


@dataclasses.dataclass(frozen=True, order=True)
class Location:
    """Where a value came from.

    Args:
        source: a file path, or the text of a `--set` argument.
        line: 1-based line, 0 when unknown.
        column: 1-based column, 0 when unknown.
    """

    source: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line:
            return f"{self.source}:{self.line}:{self.column}"
        return self.source


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    """One problem in a spec.

    Args:
        location: where the offending value is written.
        path: JSON path of the value, such as `$.model.layers[2].units`.
        message: what is wrong, what was received and what is allowed.
        severity: `"error"` or `"warning"`.
    """

    location: Location
    path: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        prefix = "" if self.severity == ERROR else "warning: "
        return f"{self.location}: {self.path}: {prefix}{self.message}"

    def sort_key(self) -> tuple:
        return (self.location.source, self.location.line, self.location.column, self.path, self.message)

    def as_dict(self) -> dict:
        return {
            "file": self.location.source,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "severity": self.severity,
            "message": self.message,
        }


class ModelctlError(Exception):
    """Base class of every error a user can cause. Exit code 1."""

    exit_code = 1


class UsageError(ModelctlError):
    """A command line that cannot be carried out (no such file, bad option). Exit code 2."""

    exit_code = 2


class SpecError(ModelctlError):
    """A spec with one or more errors; carries every diagnostic, sorted by position."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def did_you_mean(received: object, allowed: Sequence[str]) -> str:
    """Return ` Did you mean 'x'?` for the closest allowed name, or ``""``."""
    if not isinstance(received, str):
        return ""
    close = difflib.get_close_matches(received, list(allowed), n=1, cutoff=0.6)
    if not close:
        close = [name for name in allowed if name.lower() == received.lower()]
    return f" Did you mean '{close[0]}'?" if close else ""


def one_of(allowed: Iterable[object], limit: int = 16) -> str:
    """Format allowed values as `'a', 'b' or 'c'`, eliding long lists."""
    names = [repr(value) if not isinstance(value, str) else f"'{value}'" for value in allowed]
    if not names:
        return "nothing"
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" ... ({len(names)} in all; `modelctl schema` lists them)"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def json_path(parts: Iterable[object]) -> str:
    """Render path parts as a JSON path: `("model", "layers", 2)` -> `$.model.layers[2]`."""
    text = "$"
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            text += f".{part}"
        else:
            text += f"[{part!r}]"
    return text
