"""A modelctl source format from a plug-in: JSON Lines, one JSON object per line, its keys the columns.

    data:
      source: {format: jsonl, path: "logs/day-*.jsonl"}

The first object's keys are the columns, and its values their kinds: a number
makes a float column (missing values NaN), anything else a string column
(missing values None). A line that is not an object, or a value of another
kind, is a bad row: an error naming the file, the row (the line) and the column,
or skipped with `on_bad_rows: skip`. `modelctl predict` reads `.jsonl` files too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from modelctl.data.sources import Source, resolve_files
from modelctl.errors import DataError
from modelctl.registry.base import Entry
from modelctl.registry.sources import GLOB_PATH

ENTRY = Entry("jsonl", "modelctl_jsonl_source:JsonLinesSource", "JSON Lines: one JSON object per line.",
              {"path": GLOB_PATH}, meta={"suffixes": [".jsonl"]})
"""The registration: the name in specs, the reader class, the keys a spec writes and predict's file extension."""


class JsonLinesSource(Source):
    format = "jsonl"

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        self.files = resolve_files(options["path"], base_dir)
        first = next(self._lines(self.files[0]), None)
        if first is None or not isinstance(first[1], dict):
            raise DataError("expected a JSON object on the first line, its keys naming the columns",
                            file=self.files[0], row=1)
        self.columns = list(first[1])
        self.numeric = {name for name, value in first[1].items()
                        if isinstance(value, (int, float)) and not isinstance(value, bool)}

    def read(self, names, rows, bad):
        for file in self.files:
            yield from self.counted(file, self._file_chunks(file, names, rows, bad))

    def _file_chunks(self, file, names, rows, bad):
        chunk = {name: [] for name in names}
        for line, record in self._lines(file):
            values = self._values(record, names, file, line, bad)
            if values is None:
                continue
            for name, value in zip(names, values):
                chunk[name].append(value)
            if len(chunk[names[0]]) == rows:
                yield self._arrays(chunk)
                chunk = {name: [] for name in names}
        if chunk[names[0]]:
            yield self._arrays(chunk)

    def _values(self, record, names, file, line, bad):
        if not isinstance(record, dict):
            bad.found("expected a JSON object", "not an object", file, row=line)
            return None
        values = []
        for name in names:
            value = record.get(name)
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if value is not None and number != (name in self.numeric):
                bad.found(f"{json.dumps(value)} is not a {'number' if name in self.numeric else 'string'}",
                          "wrong kind of value", file, row=line, column=name)
                return None
            values.append(np.nan if value is None and name in self.numeric else value)
        return values

    def _arrays(self, chunk):
        return {name: np.array(values, dtype=np.float64 if name in self.numeric else object)
                for name, values in chunk.items()}

    def count_rows(self):
        return sum(self.rows_in(file) for file in self.files)

    def rows_in(self, file):
        return sum(1 for _ in self._lines(file))

    def row_of(self, file, record):
        lines = self._lines(file)
        for _ in range(record - 1):
            next(lines)
        return next(lines)[0]

    @staticmethod
    def _lines(file):
        """(line number, parsed value) of every non-blank line."""
        with open(file, encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if text.strip():
                    try:
                        yield number, json.loads(text)
                    except json.JSONDecodeError as error:
                        raise DataError(f"is not JSON: {error.msg}", file=file, row=number) from None
