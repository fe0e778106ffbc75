"""CSV and TSV files, read record by record with the `csv` module.

Files are UTF-8 (a byte-order mark is ignored). Fields are typed by
`column_types`; the other columns get the narrowest type that holds their first
`INFER_ROWS` values (`int`, `float`, then `string`, see
`modelctl.data.values.infer_kind`). A later value that does not fit its type is
a bad row: the error names the file, the row and the column, and says how to
declare the type. Rows are numbered as a spreadsheet shows them (the header is
row 1). A blank line is not an example; a record with more or fewer fields than
there are columns is a bad row.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data.errors import DataError, shown
from modelctl.data.sources import BadRows, Source, listing, resolve_files
from modelctl.data.values import infer_kind, parse_column
from modelctl.errors import did_you_mean

INFER_ROWS = 1000
"""Rows of the first file that the type of an undeclared column is inferred from."""

_HINT_TYPE = {"not a number": "string", "not an integer": "float", "out of the int64 range": "float",
              "missing value": "float"}


class DelimitedSource(Source):
    """A CSV or TSV file, or several read one after another (a glob).

    Options (from the spec's `data.source`; defaults from the schema):
        path: a file or a glob; matches are read in sorted order and must share the first file's header.
        header: whether the first row names the columns; default true.
        column_names: the column names when `header` is false (required then); when `header` is true they
            replace the header's names. Default null.
        column_types: column -> `float` (float64, missing values NaN), `int` (int64; a missing value is a bad
            row) or `string` (object array of str, missing values None). Default {} (every type inferred).
        na_values: texts read as missing values, compared exactly; default `["", "NA", "NaN", "nan", "null"]`.
        delimiter: one character; default `,` for csv and a tab for tsv.
    """

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        self.format = options["format"]
        self.delimiter = options["delimiter"]
        if len(self.delimiter) != 1:
            raise DataError(f"`delimiter` must be one character; received {self.delimiter!r}", file=self.where)
        self.na_values = frozenset(options["na_values"])
        self.header = bool(options["header"])
        self.files = resolve_files(options["path"], base_dir)
        first = self.files[0]
        records = self._records(first)
        try:
            self.header_fields = self._read_header(first, records)
            sample = [record for _, record in itertools.islice(records, INFER_ROWS)]
        finally:
            records.close()
        names = options["column_names"]
        if names is None:
            if not self.header:
                raise DataError("`header` is false, so `column_names` must list the columns' names",
                                file=self.where)
            names = self.header_fields
        elif self.header and len(names) != len(self.header_fields):
            raise DataError(f"`column_names` lists {len(names)} names but the header row has "
                            f"{len(self.header_fields)} fields: {listing(self.header_fields)}", file=first, row=1)
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise DataError(f"column names must be unique; repeated: {listing(repeated)}", file=first,
                            row=1 if options["column_names"] is None else None)
        self.columns = list(names)
        declared = options["column_types"]
        unknown = [name for name in declared if name not in self.columns]
        if unknown:
            raise DataError("\n".join(f"`column_types` names {name!r}, which is not a column. Available columns: "
                                      f"{listing(self.columns)}.{did_you_mean(name, self.columns)}"
                                      for name in unknown), file=first)
        self.declared = dict(declared)
        width = len(self.columns)
        self.kinds = {name: declared.get(name) or
                      infer_kind((record[index] for record in sample if len(record) == width), self.na_values)
                      for index, name in enumerate(self.columns)}

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        indices = [self.columns.index(name) for name in names]
        width = len(self.columns)
        for file in self.files:
            records = self._records(file)
            try:
                self._check_header(file, self._read_header(file, records))
                row_numbers: list[int] = []
                kept: list[list[str]] = []
                misshapen: dict[int, tuple[str, str, None]] = {}
                for row_number, record in records:
                    if len(record) != width:
                        misshapen[row_number] = (f"expected {width} fields, found {len(record)}",
                                                 "wrong number of fields", None)
                        continue
                    row_numbers.append(row_number)
                    kept.append(record)
                    if len(kept) + len(misshapen) >= rows:
                        yield self._typed(file, row_numbers, kept, misshapen, names, indices, bad)
                        row_numbers, kept, misshapen = [], [], {}
                if kept or misshapen:
                    yield self._typed(file, row_numbers, kept, misshapen, names, indices, bad)
            finally:
                records.close()

    def count_rows(self) -> int:
        total = 0
        for file in self.files:
            records = self._records(file)
            try:
                self._read_header(file, records)
                total += sum(1 for _ in records)
            finally:
                records.close()
        return total

    def _records(self, file: Path) -> Iterator[tuple[int, list[str]]]:
        """(row number, fields) of every non-blank record, the header included."""
        row_number = 0
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                for row_number, record in enumerate(csv.reader(handle, delimiter=self.delimiter), start=1):
                    if record:
                        yield row_number, record
        except UnicodeDecodeError as error:
            raise DataError(f"is not UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be decoded "
                            f"({error.reason}); save the file as UTF-8", file=file) from None
        except csv.Error as error:
            raise DataError(f"cannot be read as {self.format.upper()}: {error}", file=file,
                            row=row_number + 1) from None
        except OSError as error:
            raise DataError(f"cannot be read: {error.strerror}", file=file) from None

    def _read_header(self, file: Path, records: Iterator[tuple[int, list[str]]]) -> list[str] | None:
        if not self.header:
            return None
        first = next(records, None)
        if first is None:
            raise DataError("is empty; expected a header row naming the columns (or set `header: false`)",
                            file=file)
        row_number, fields = first
        if row_number != 1:
            raise DataError("row 1 is blank; expected a header row naming the columns", file=file)
        return fields

    def _check_header(self, file: Path, fields: list[str] | None) -> None:
        if fields is not None and fields != self.header_fields:
            raise DataError(f"the header row {listing(fields)} differs from the first file's "
                            f"({shown(self.files[0])}): {listing(self.header_fields)}", file=file, row=1)

    def _typed(self, file: Path, row_numbers: list[int], records: list[list[str]],
               misshapen: dict[int, tuple[str, str, None]], names: list[str], indices: list[int],
               bad: BadRows) -> dict[str, np.ndarray]:
        """Type the columns of a group of records; bad rows (these and the `misshapen` ones, by row number)
        raise in row order or are dropped."""
        columns = {}
        problems: dict[int, tuple[str, str, str | None]] = dict(misshapen)
        first_problem: dict[int, int] = {}
        fields = list(zip(*records)) if records else [()] * len(self.columns)
        for name, index in zip(names, indices):
            values, found = parse_column(fields[index], self.kinds[name], self.na_values)
            columns[name] = values
            for problem in found:
                row_number = row_numbers[problem.position]
                if row_number not in problems:
                    first_problem[row_number] = problem.position
                    problems[row_number] = (problem.problem + self._hint(name, problem.reason), problem.reason, name)
        for row_number in sorted(problems):
            text, reason, name = problems[row_number]
            bad.found(text, reason, file, row_number, name)
        if not first_problem:
            return columns
        keep = np.ones(len(records), dtype=bool)
        keep[list(first_problem.values())] = False
        return {name: values[keep] for name, values in columns.items()}

    def _hint(self, name: str, reason: str) -> str:
        if name in self.declared:
            if reason == "missing value":
                return " (`column_types` declares it int; declare it float to read missing values as NaN)"
            return ""
        kind = self.kinds[name]
        return (f" (the column's type, {kind}, was inferred from its first {INFER_ROWS} rows; declare it with "
                f"`column_types: {{{name}: {_HINT_TYPE.get(reason, 'string')}}}`)")
