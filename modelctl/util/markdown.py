"""Pieces of the Markdown reports: text on one line, table cells, links to files beside the report."""

from __future__ import annotations

import os
from pathlib import Path


def inline(text: object) -> str:
    """`text` on one line: every run of whitespace, newlines included, becomes one space."""
    return " ".join(str(text).split())


def cell(text: object) -> str:
    """`text` as a table cell: on one line, its `|` escaped."""
    return inline(text).replace("|", "\\|")


def link(path: Path, folder: Path) -> str:
    """The target of a link from a report in `folder` to `path`: relative, with `/`, and in `<...>` when it holds a
    space or a bracket."""
    relative = os.path.relpath(os.path.abspath(path), os.path.abspath(folder)).replace(os.sep, "/")
    return f"<{relative}>" if any(char in relative for char in " ()<>") else relative
