"""Parquet files, read a batch of rows at a time with `pyarrow.parquet.ParquetFile.iter_batches`, only the
columns asked for.

Arrow types become numpy arrays: integers, floats and booleans keep their
type; strings are object arrays of `str` and binary values of `bytes`, with
missing values as None; dates and timestamps are `datetime64`; fixed-size lists
are extra dimensions and other lists object arrays of arrays. A missing value in
an integer or boolean column is a bad row (numpy cannot hold one there); in a
float column it is NaN. Row numbers in messages count the file's rows from 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import BadRows, Source, first_problems, listing, resolve_files


class ParquetSource(Source):
    """A Parquet file, or several read one after another (a glob) that share the first file's columns.

    Options (from the spec's `data.source`):
        path: a file or a glob; matches are read in sorted order.
    """

    format = "parquet"

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        self.files = resolve_files(options["path"], base_dir)
        self.columns = list(self._open(self.files[0]).schema_arrow.names)
        self.groups: list[int] | None = None
        """The row groups a view made by `parts` reads (of its one file); None reads every group."""
        self.first_group = 0
        """The first row group of the first file a view made by `only` reads."""

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        self._read_rows = 0
        for file in self.files:
            parquet = self._open(file)
            found = list(parquet.schema_arrow.names)
            if found != self.columns:
                raise DataError(f"its columns {listing(found)} differ from the first file's: "
                                f"{listing(self.columns)}", file=file)
            yield from self.counted(file, self._file_batches(parquet, file, names, rows=rows, bad=bad))

    def parts(self) -> list[tuple["ParquetSource", int]]:
        """One part a row group, in a file whose every row read well (else the file is one part)."""
        if self.skipped or any(self.file_rows.get(file) is None for file in self.files):
            return []
        found = []
        for file in self.files:
            metadata = self._open(file).metadata
            if self.file_rows[file] != metadata.num_rows or metadata.num_row_groups < 2:
                found.append((self.only([file]), self.file_rows[file]))
                continue
            for group in range(metadata.num_row_groups):
                view = self.only([file])
                view.groups = [group]
                found.append((view, metadata.row_group(group).num_rows))
        return found if len(found) > 1 else []

    def only(self, files, skip_rows: int = 0) -> "ParquetSource":
        view = super().only(files)
        view.groups = None
        view.first_group = 0
        metadata = self._open(view.files[0]).metadata if skip_rows and view.files else None
        # Row numbers count the rows read; passing over a group is exact only where every row of the file read.
        if metadata is not None and self.file_rows.get(view.files[0]) == metadata.num_rows:
            while view.first_group < metadata.num_row_groups and \
                    view.passed_over + metadata.row_group(view.first_group).num_rows <= skip_rows:
                view.passed_over += metadata.row_group(view.first_group).num_rows
                view.first_group += 1
        return view

    def _file_batches(self, parquet, file: Path, names: list[str], *, rows: int, bad: BadRows):
        first_row = 1
        groups = self.groups
        if groups is not None:
            metadata = parquet.metadata
            first_row += sum(metadata.row_group(group).num_rows for group in range(groups[0]))
        elif file == self.files[0] and self.first_group:
            groups = range(self.first_group, parquet.metadata.num_row_groups)
            first_row += self.passed_over
        for record_batch in parquet.iter_batches(batch_size=rows, row_groups=groups, columns=names,
                                                 use_threads=True):
            self._read_rows += record_batch.num_rows
            yield _to_numpy(record_batch, names, file, first_row=first_row, bad=bad)
            first_row += record_batch.num_rows

    def count_rows(self) -> int:
        return sum(self.rows_in(file) for file in self.files)

    def estimated_rows(self) -> int:
        return self.count_rows()  # from each file's metadata

    def rows_in(self, file: Path) -> int:
        return self._open(file).metadata.num_rows

    def progress(self) -> float | None:
        if getattr(self, "_rows", None) is None:
            self._rows = self.count_rows()
        return min(1.0, getattr(self, "_read_rows", 0) / self._rows) if self._rows else None

    @staticmethod
    def _open(file: Path):
        import pyarrow
        import pyarrow.parquet

        try:
            return pyarrow.parquet.ParquetFile(file)
        except (pyarrow.ArrowInvalid, OSError) as error:
            raise DataError(f"cannot be read as Parquet: {error}", file=file) from None


def _to_numpy(record_batch, names: list[str], file: Path, *, first_row: int, bad: BadRows) -> dict[str, np.ndarray]:
    columns, masks = {}, []
    for name in names:
        array = record_batch.column(record_batch.schema.get_field_index(name))
        columns[name], nulls = _convert(array, name, file)
        masks.append(nulls)
    if all(mask is None for mask in masks):
        return columns
    size = record_batch.num_rows
    missing, first = first_problems([np.zeros(size, bool) if mask is None else mask for mask in masks], size)
    if bad.mode == "error":
        position = int(np.argmax(missing))
        name = names[first[position]]
        kind = record_batch.schema.field(name).type
        bad.found(f"missing value in a column of type {kind}; a numpy integer or boolean array cannot hold one",
                  "missing value", file, row=first_row + position, column=name)
    for index, name in enumerate(names):
        found = missing & (first == index)
        count = int(np.count_nonzero(found))
        if count:
            bad.count("missing value", count, name, file=file, records=first_row + np.flatnonzero(found))
    keep = ~missing
    return {name: values[keep] for name, values in columns.items()}


def _convert(array, name: str, file: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """One Arrow column as numpy, and a mask of the missing values numpy cannot hold (None: there are none)."""
    import pyarrow

    kind = array.type
    no_nulls = None
    if pyarrow.types.is_dictionary(kind):
        return _convert(array.dictionary_decode(), name, file)
    if pyarrow.types.is_integer(kind) or pyarrow.types.is_boolean(kind):
        if array.null_count:
            nulls = array.is_null().to_numpy(zero_copy_only=False)
            return array.fill_null(False if pyarrow.types.is_boolean(kind) else 0).to_numpy(zero_copy_only=False), nulls
        return array.to_numpy(zero_copy_only=False), no_nulls
    if pyarrow.types.is_floating(kind):
        return array.to_numpy(zero_copy_only=False), no_nulls
    if (pyarrow.types.is_string(kind) or pyarrow.types.is_large_string(kind) or pyarrow.types.is_binary(kind)
            or pyarrow.types.is_large_binary(kind)):
        return array.to_numpy(zero_copy_only=False), no_nulls
    if pyarrow.types.is_temporal(kind):
        return array.to_numpy(zero_copy_only=False), no_nulls
    if pyarrow.types.is_fixed_size_list(kind) and not array.null_count:
        inner, nulls = _convert(array.flatten(), name, file)
        if nulls is None:
            return inner.reshape(len(array), kind.list_size, *inner.shape[1:]), no_nulls
    if pyarrow.types.is_list(kind) or pyarrow.types.is_large_list(kind) or pyarrow.types.is_fixed_size_list(kind):
        values = np.empty(len(array), dtype=object)
        values[:] = [None if item is None else np.array(item) for item in array.to_pylist()]
        return values, no_nulls
    raise DataError(f"has Arrow type {kind}, which cannot be read as an array; readable types are integers, "
                    f"floats, booleans, strings, binary, dates, timestamps and lists of these", file=file,
                    column=name)
