"""The error raised for data that cannot be read: it names the file, the row and the column.

    examples/iris/iris.csv:row 14: column 'sepal_length': 'abc' is not a number

Rows are numbered as a spreadsheet shows them. In a CSV or TSV file the file's
first line is row 1, so when the file has a header row the first example is
row 2; blank lines are not examples but keep their number, and a quoted value
spanning several lines stays in one row. In files without a header line
(Parquet, TFRecord) row 1 is the first example (the first record).
"""

from __future__ import annotations

import os
from pathlib import Path

from modelctl.errors import ModelctlError


def shown(path: str | os.PathLike) -> str:
    """`path` as messages show it: an absolute path inside the working folder relative to it, others as given."""
    path = Path(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class DataError(ModelctlError):
    """A source that cannot be read: a missing file, a bad value, an unknown column. Exit code 1.

    Args:
        problem: what was found and what was expected, such as `'abc' is not a number`; several
            problems go on separate lines, each shown with the file, row and column.
        file: the file (or folder, or glob pattern) concerned; None when no single file is.
        row: 1-based row (see the module docstring); None when the problem is not one row's.
        column: the column concerned; None when not one column's.
    """

    def __init__(self, problem: str, file: str | os.PathLike | None = None, row: int | None = None,
                 column: str | None = None):
        self.problem = problem
        self.file = None if file is None else Path(file)
        self.row = row
        self.column = column
        parts = []
        if file is not None:
            parts.append(shown(file) + (f":row {row}" if row is not None else ""))
        elif row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column '{column}'")
        super().__init__("\n".join(": ".join([*parts, line]) for line in problem.split("\n")))
