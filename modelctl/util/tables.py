"""Printing tables: ruled and fitted to the window on a terminal, plain and never wrapped elsewhere.

Off a terminal (CI logs, a pipe, a file) rich does not know the width and falls back to 80 columns,
squeezing a wide table into wrapped cells that cannot be read or searched. There every row is
printed on one line instead, with columns aligned by spaces and no rules.
"""

from __future__ import annotations

import copy
import io

PLAIN_WIDTH = 100_000
"""Width a table may take off a terminal: in effect unlimited, so no cell wraps."""


def print_table(table, console) -> None:
    """Print a rich `table` on `console`.

    Args:
        table: a `rich.table.Table`; it is left unchanged.
        console: a `rich.console.Console`. On a terminal (`console.is_terminal`) the table is drawn with its rules
            and fitted to the window; otherwise it is written as plain lines: the title, the header, then one
            line per row, columns separated by two spaces, without styles or trailing spaces.
    """
    if console.is_terminal:
        console.print(table)
        return
    from rich.console import Console

    plain = copy.copy(table)
    plain.box = None
    plain.pad_edge = False
    plain.title = None  # rich wraps a title to the table's width: it gets a line of its own instead
    if table.title:
        console.out(str(table.title), highlight=False)
    buffer = io.StringIO()
    Console(file=buffer, width=PLAIN_WIDTH, color_system=None, force_terminal=False, highlight=False,
            emoji=False).print(plain)
    for line in buffer.getvalue().splitlines():
        console.out(line.rstrip(), highlight=False)
