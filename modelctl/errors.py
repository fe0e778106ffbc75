"""The one error shape of modelctl.

Every problem a user can cause is a `ModelctlError`. The CLI catches this base
class only, prints its message and exits with its `exit_code`; anything else is
a bug and keeps its traceback.

Problems inside a spec are `Diagnostic`s, each anchored at a `Location`:

    specs/cnn.yaml:14:18: $.model.layers[2].activation: 'rleu' is not a known activation. Did you mean 'relu'?

Spec values given outside a file (a `training` mapping passed in Python, a run's export options) are
checked by the same schema and shown in the same shape, with what they came from in place of the
position (`modelctl.spec.messages.section_problems`):

    export options: $.export.tflite.quantise: unknown key 'quantise'. Allowed keys: ... Did you mean 'quantize'?

Problems in the data are `DataError`s, naming the file, the row and the column:

    examples/iris/iris.csv:row 14: column 'sepal_length': 'abc' is not a number

(`data_message` writes that shape; code that knows only an example's number gives it, and the data
pipeline turns it into the file and row.)

Rows are numbered as a spreadsheet shows them. In a CSV or TSV file the file's
first line is row 1, so when the file has a header row the first example is
row 2; blank lines are not examples but keep their number, and a quoted value
spanning several lines stays in one row. In files without a header line
(Parquet, TFRecord) row 1 is the first example (the first record).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path
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


class MissingDependency(ModelctlError):
    """An optional package or program that a command needs is not installed; the message says how to install
    it. Exit code 1."""


class EvaluationError(ModelctlError):
    """Labels, scores, metric names or plot inputs that do not fit together. Exit code 1.

    The message says what was received and what is allowed, for example:

        y_score must have shape (n, C) with C >= 2 for label type 'categorical'; received shape (150,)

    Raised by `modelctl.evaluation` and by the label types' checks of scores (`modelctl.features.labels`).
    """


class SpecError(ModelctlError):
    """A spec with one or more errors; carries every diagnostic, sorted by position."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


def shown(path: str | os.PathLike) -> str:
    """`path` as messages show it: an absolute path inside the working folder relative to it, others as given."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class DataError(ModelctlError):
    """A source that cannot be read: a missing file, a bad value, an unknown column. Exit code 1.

    The one shape of data errors is `file:row N: column 'x': problem`, each part left out when unknown.
    Code that sees a batch of values but not where they were read (a feature type, a label) gives the
    1-based `example` number instead; the data pipeline, which knows the source, turns it into the file and
    row (`modelctl.data.sources.located`), and only when it cannot is the error shown as
    `example N: column 'x': problem`.

    Args:
        problem: what was found and what was expected, such as `'abc' is not a number`; several
            problems go on separate lines, each shown with the file, row and column.
        file: the file (or folder, or glob pattern) concerned; None when no single file is.
        row: 1-based row (see the module docstring); None when the problem is not one row's.
        column: the column concerned; None when not one column's.
        example: 1-based number of the example in its source, for an error raised where the file and row
            are not known; default None.
    """

    def __init__(self, problem: str, file: str | os.PathLike | None = None, row: int | None = None,
                 *, column: str | None = None, example: int | None = None):
        self.problem = problem
        self.file = None if file is None else Path(file)
        self.row = row
        self.column = column
        self.example = None if example is None else int(example)
        super().__init__(data_message(problem, file=file, row=row, column=column, example=self.example))


def data_message(problem: str, *, file: str | os.PathLike | None = None, row: int | None = None,
                 column: str | None = None, example: int | None = None) -> str:
    """The one shape of data errors: `file:row N: column 'x': problem`, a line per line of `problem`.

    Args:
        problem: what is wrong; several problems go on separate lines.
        file: the file concerned, or None. row: its 1-based row, or None. column: the column, or None.
        example: the 1-based example number, shown as `example N` when no file is given; default None.
    """
    parts = []
    if file is not None:
        parts.append(shown(file) + (f":row {row}" if row is not None else ""))
    elif row is not None:
        parts.append(f"row {row}")
    elif example is not None:
        parts.append(f"example {example}")
    if column is not None:
        parts.append(f"column '{column}'")
    return "\n".join(": ".join([*parts, line]) for line in problem.split("\n"))


def did_you_mean(received: object, allowed: Sequence[str]) -> str:
    """Return ` Did you mean 'x'?` for the closest allowed name, or ``""``."""
    if not isinstance(received, str):
        return ""
    close = difflib.get_close_matches(received, list(allowed), n=1, cutoff=0.6)
    if not close:
        close = [name for name in allowed if name.lower() == received.lower()]
    return f" Did you mean '{close[0]}'?" if close else ""


def one_of(allowed: Iterable[object], limit: int = 16) -> str:
    """Format allowed values as `'a', 'b' or 'c'`, eliding long lists; booleans and None as a spec writes them
    (`true`, `false`, `null`)."""
    names = [f"'{value}'" if isinstance(value, str) else _written(value) for value in allowed]
    if not names:
        return "nothing"
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" ... ({len(names)} in all; `modelctl schema` lists them)"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]


def _written(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else repr(value)


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
