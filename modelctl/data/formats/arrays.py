"""NumPy arrays: one `.npy` file per column, or the arrays of one `.npz` file as columns.

The first axis of every array is the example axis and every array must have as
many rows as the others; the other axes are kept, so an array of shape
(1797, 8, 8) gives batches of shape (rows, 8, 8). Arrays of Python objects are
refused: loading them would unpickle the file's content.
"""

from __future__ import annotations

import contextlib
import math
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import BadRows, Source, resolve_file

_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
"""Header readers of the `.npy` format versions that numpy documents; version 3.0 arrays are loaded whole."""

_OBJECTS = ("holds Python objects, which cannot be read without unpickling the file; save it with a numeric or "
            "string dtype")


def _check_rows(lengths: dict[str, tuple[Path, int]], where: Path) -> int:
    """The common row count of the arrays, or a DataError listing every array's."""
    counts = {rows for _, rows in lengths.values()}
    if len(counts) > 1:
        detail = ", ".join(f"{name!r} ({path.name}): {rows}" for name, (path, rows) in lengths.items())
        raise DataError(f"every array needs the same number of rows (its first axis); found {detail}", file=where)
    return counts.pop() if counts else 0


class NpySource(Source):
    """Columns stored as `.npy` files, memory-mapped so that a batch reads only its rows.

    Options (from the spec's `data.source`):
        arrays: column name -> `.npy` file (relative to the spec's folder); the columns are in this order.
    """

    format = "npy"

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        paths = {name: resolve_file(path, base_dir) for name, path in options["arrays"].items()}
        lengths = {}
        for name, path in paths.items():
            array = self._load(path)
            if array.ndim == 0:
                raise DataError("holds a single value; expected an array with one row per example", file=path)
            lengths[name] = (path, array.shape[0])
            del array
        self.rows = _check_rows(lengths, self.where)
        self.paths = paths
        self.columns = list(paths)
        self.files = list(paths.values())

    @property
    def where(self) -> Path:
        return self.base_dir

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        arrays = {name: self._load(self.paths[name]) for name in names}
        for start in range(0, self.rows, rows):
            yield {name: np.array(array[start:start + rows]) for name, array in arrays.items()}

    def count_rows(self) -> int:
        return self.rows

    def estimated_rows(self) -> int:
        return self.rows

    @staticmethod
    def _load(path: Path) -> np.ndarray:
        try:
            with open(path, "rb") as handle:
                version = np.lib.format.read_magic(handle)
                if version in _HEADERS and _HEADERS[version](handle)[2].hasobject:
                    raise DataError(_OBJECTS, file=path)
            return np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as error:
            raise DataError(f"cannot be read as a .npy array: {error}", file=path) from None


class _Member:
    """The header of one array inside an `.npz` file."""

    def __init__(self, archive: zipfile.ZipFile, member: str, path: Path):
        self.member = member
        self.path = path
        with archive.open(member) as handle:
            self.version, self.shape, self.fortran, self.dtype = _read_header(handle, path, member)

    @property
    def streams(self) -> bool:
        """Whether rows can be read in order from the stored bytes (C order, header version 1 or 2)."""
        return self.version in _HEADERS and (not self.fortran or len(self.shape) <= 1)

    def reader(self, archive: zipfile.ZipFile, stack: contextlib.ExitStack) -> Callable[[int], np.ndarray]:
        """A function returning the next `count` rows at each call."""
        if not self.streams:
            whole = _load_member(self.path, self.member)
            position = [0]

            def next_rows_loaded(count: int) -> np.ndarray:
                start = position[0]
                position[0] += count
                return np.array(whole[start:start + count])

            return next_rows_loaded
        handle = stack.enter_context(archive.open(self.member))
        _read_header(handle, self.path, self.member)
        row_shape = self.shape[1:]
        row_bytes = self.dtype.itemsize * math.prod(row_shape)

        def next_rows(count: int) -> np.ndarray:
            data = handle.read(count * row_bytes)
            if len(data) != count * row_bytes:
                raise DataError(f"array {self.member[:-4]!r} is truncated: its header promises {self.shape[0]} rows",
                                file=self.path)
            return np.frombuffer(data, dtype=self.dtype).reshape(count, *row_shape).copy()

        return next_rows


def _read_header(handle, path: Path, member: str) -> tuple[tuple[int, int], tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(handle)
        if version in _HEADERS:
            shape, fortran, dtype = _HEADERS[version](handle)
        else:
            shape, fortran, dtype = _load_member(path, member).shape, False, None
    except ValueError as error:
        raise DataError(f"array {member[:-4]!r} cannot be read: {error}", file=path) from None
    if dtype is not None and dtype.hasobject:
        raise DataError(f"array {member[:-4]!r} " + _OBJECTS, file=path)
    return version, tuple(shape), fortran, dtype


def _load_member(path: Path, member: str) -> np.ndarray:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive[member[:-4]]
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(f"array {member[:-4]!r} " + _OBJECTS, file=path) from None
        raise DataError(f"array {member[:-4]!r} cannot be read: {error}", file=path) from None


class NpzSource(Source):
    """The arrays of one `.npz` file as columns, in stored order.

    Each array is read from the archive a batch of rows at a time (an `.npz` file cannot be
    memory-mapped); an array saved in Fortran order is read whole when it is first needed.

    Options (from the spec's `data.source`):
        path: the `.npz` file.
    """

    format = "npz"

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        path = resolve_file(options["path"], base_dir)
        self.files = [path]
        with self._archive() as archive:
            members = [_Member(archive, name, path) for name in archive.namelist() if name.endswith(".npy")]
        if not members:
            raise DataError("holds no arrays; expected an .npz file written by numpy.savez", file=path)
        for member in members:
            if not member.shape:
                raise DataError(f"array {member.member[:-4]!r} holds a single value; expected one row per "
                                f"example", file=path)
        self.members = {member.member[:-4]: member for member in members}
        self.rows = _check_rows({name: (path, member.shape[0]) for name, member in self.members.items()}, path)
        self.columns = list(self.members)

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        with self._archive() as archive, contextlib.ExitStack() as stack:
            readers = {name: self.members[name].reader(archive, stack) for name in names}
            for start in range(0, self.rows, rows):
                count = min(rows, self.rows - start)
                yield {name: reader(count) for name, reader in readers.items()}

    def count_rows(self) -> int:
        return self.rows

    def estimated_rows(self) -> int:
        return self.rows

    def _archive(self) -> zipfile.ZipFile:
        try:
            return zipfile.ZipFile(self.files[0])
        except (zipfile.BadZipFile, OSError) as error:
            raise DataError(f"cannot be read as an .npz file: {error}", file=self.files[0]) from None
