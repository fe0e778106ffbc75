"""Pieces of the Markdown reports: text on one line, tables, links to files beside the report."""

from __future__ import annotations

import os
from pathlib import Path


def inline(text: object) -> str:
    """`text` on one line: every run of whitespace, newlines included, becomes one space."""
    return " ".join(str(text).split())


def cell(text: object) -> str:
    """`text` as a table cell: on one line, its `|` escaped."""
    return inline(text).replace("|", "\\|")


def table(header: list[str], rows: list[tuple], align: list[str]) -> list[str]:
    """The lines of a table: the `header`, the `align` row (`---`, `---:`...) and one line per row, every value a
    `cell`."""
    lines = ["| " + " | ".join(cell(name) for name in header) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]


def link(path: Path, folder: Path) -> str:
    """The target of a link from a report in `folder` to `path`: relative, with `/`, and in `<...>` when it holds a
    space or a bracket."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")
    return f"<{relative}>" if any(char in relative for char in " ()<>") else relative
