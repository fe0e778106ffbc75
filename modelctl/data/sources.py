"""Reading the examples a spec's `data.source` names, in batches of columns.

    source = open_source({"format": "csv", "path": "iris.csv"}, base_dir=Path("examples/iris"))
    source.columns                      # ['sepal_length', ..., 'species']
    for batch in source.batches(["sepal_length", "species"], rows=1024):
        batch["sepal_length"]           # numpy float64 array of up to 1024 values

Every format streams: a batch is read when it is asked for, and no reader holds
a whole file in memory. The `data.source` part of the spec schema
(`modelctl.spec.data_schema.source_schema`), built from the registry of source
formats (`modelctl.registry.sources`), says which keys each format takes and
their defaults; `open_source` checks a source against its format's entry and
opens it with the entry's reader.
"""

from __future__ import annotations

import contextlib
import copy
import glob
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from modelctl.util.lazy import numpy as np

from modelctl.data.errors import DataError, shown
from modelctl.errors import SpecError, did_you_mean
from modelctl.registry.sources import source_names, sources
from modelctl.util.storage import is_remote

ON_BAD_ROWS = ("error", "skip")

_MAX_LISTED = 20


class BadRows:
    """What a reader does with a row it cannot read: raise, or drop it and count it under its reason.

    Args:
        mode: `"error"` raises the row's `DataError`; `"skip"` counts the row in `counts`.
        counts: reason -> rows skipped; filled in place.
    """

    def __init__(self, mode: str, counts: dict[str, int]):
        self.mode = mode
        self.counts = counts

    def found(self, problem: str, reason: str, file: Path, *, row: int | None, column: str | None = None) -> None:
        """Report one bad row: `problem` is the error's sentence, `reason` the short text it is counted under."""
        if self.mode == "error":
            raise DataError(problem, file=file, row=row, column=column)
        self.count(reason, 1, column)

    def count(self, reason: str, rows: int, column: str | None = None) -> None:
        """Count `rows` skipped rows under `reason` (and `column`); only in `skip` mode."""
        key = f"column '{column}': {reason}" if column is not None else reason
        self.counts[key] = self.counts.get(key, 0) + rows


class Source:
    """Examples stored in one format, read as batches of named columns.

    Attributes:
        format: the source format (`csv`, `parquet`, ...).
        columns: column names in file order.
        files: the files read, resolved, in reading order (a glob's matches sorted by path).
        skipped: after iterating `batches(..., on_bad_rows="skip")`, reason -> rows skipped, such as
            `{"column 'x': not a number": 3}`; a row is counted once, under its first problem.
        file_rows: after iterating `batches(...)` to the end, file -> rows it gave (bad rows the reader dropped
            not counted), for a format that reads file after file (CSV, TSV, Parquet, TFRecord); empty for
            the others.
        passed_over: rows at the start of the first file that a view made by `only` does not read; 0 for a
            source that reads every row.
    """

    format: str = ""

    def __init__(self, options: dict, base_dir: Path):
        self.options = options
        self.base_dir = Path(base_dir)
        self.columns: list[str] = []
        self.files: list[Path] = []
        self.skipped: dict[str, int] = {}
        self.file_rows: dict[Path, int] = {}
        self.passed_over = 0

    @property
    def where(self) -> Path:
        """What messages name for the source as a whole: its path as written, joined to the base folder."""
        return self.base_dir / self.options["path"]

    def batches(self, columns: Sequence[str] | None = None, rows: int = 4096,
                on_bad_rows: str = "error") -> Iterator[dict[str, np.ndarray]]:
        """Stream the examples as dicts of column name -> numpy array, one entry per row.

        Args:
            columns: names of the columns to read, in the order the dicts list them; default None reads
                every column in file order.
            rows: rows per batch, at least 1; default 4096. Every batch but the last holds exactly `rows`
                rows; no batch is empty.
            on_bad_rows: `"error"` (default) raises a `DataError` naming the file, row and column of the
                first bad row; `"skip"` drops bad rows and counts them in `skipped`.

        Raises:
            DataError: a column is not in the source (raised here, before iteration), or a row is bad and
                `on_bad_rows` is `"error"` (raised while iterating).
        """
        if isinstance(rows, bool) or not isinstance(rows, (int, np.integer)) or rows < 1:
            raise ValueError(f"Invalid value for argument `rows`. Expected an integer >= 1. Received: rows={rows!r}")
        if on_bad_rows not in ON_BAD_ROWS:
            raise ValueError(f"Invalid value for argument `on_bad_rows`. Expected one of {ON_BAD_ROWS}. "
                             f"Received: on_bad_rows={on_bad_rows!r}")
        names = self.select(columns)
        self.skipped = {}
        self.file_rows = {}
        return rebatch(self.read(names, int(rows), BadRows(on_bad_rows, self.skipped)), int(rows))

    def only(self, files: Sequence[Path], skip_rows: int = 0) -> "Source":
        """The same source reading only `files` (some of `files`, in the order given); its own `skipped` and
        `file_rows`. Only for a format that reads file after file (`file_rows` says so once read).

        Args:
            files: the files to read.
            skip_rows: rows at the start of the first file the view need not give; default 0. A format that can
                pass over rows without reading them (Parquet: whole row groups, in a file whose every row reads
                well) does, and says how many in the view's `passed_over`; the others read them.
        """
        view = copy.copy(self)
        view.files = list(files)
        view.skipped = {}
        view.file_rows = {}
        view.passed_over = 0
        return view

    def counted(self, file: Path, chunks: Iterable[dict[str, np.ndarray]]) -> Iterator[dict[str, np.ndarray]]:
        """`chunks` of `file`, adding their rows to `file_rows[file]`: how a reader that reads file after file
        says where each file's rows are."""
        self.file_rows.setdefault(file, 0)
        for chunk in chunks:
            self.file_rows[file] += _length(chunk)
            yield chunk

    def count_rows(self) -> int:
        """Rows stored in the source, bad ones included; reads file metadata where the format keeps a count,
        otherwise streams through the files without typing values."""
        raise NotImplementedError

    def estimated_rows(self) -> int | None:
        """About how many rows the source holds, without reading it through: exact where the format keeps a count
        (Parquet, NumPy, folders), estimated from a sample of the text otherwise (CSV, TSV); None for a format that
        cannot tell cheaply."""
        return None

    def rows_in(self, file: Path) -> int | None:
        """Examples stored in one of `files`, bad ones included; None for a format that does not keep its
        examples as the rows of files read one after another (then errors name the example by number)."""
        return None

    def row_of(self, file: Path, record: int) -> int:
        """The row (as `modelctl.errors` numbers rows) of the `record`-th example (1-based) of `file`;
        default `record`, for a format without a header line."""
        return record

    def locate(self, example: int) -> tuple[Path, int] | None:
        """The file and row of the `example`-th example (1-based) the source gives, or None when it cannot be
        told: the format has no rows (`rows_in`), or bad rows were skipped, so numbers no longer match rows."""
        if self.skipped or example < 1:
            return None
        before = 0
        for file in self.files:
            rows = self.rows_in(file)
            if rows is None:
                return None
            if example <= before + rows:
                return file, self.row_of(file, example - before)
            before += rows
        return None

    def progress(self) -> float | None:
        """The share of the source that the batches being iterated have read so far, from 0 to 1 (bytes of a
        CSV or TSV file, rows of a Parquet file); None for a format that cannot tell without reading."""
        return None

    def select(self, columns: Sequence[str] | None) -> list[str]:
        """Check requested column names against the source's; None means every column."""
        if columns is None:
            return list(self.columns)
        if isinstance(columns, str) or not columns:
            raise ValueError(f"Invalid value for argument `columns`. Expected a non-empty list of column names or "
                             f"None. Received: columns={columns!r}")
        known = set(self.columns)
        missing = [name for name in columns if name not in known]
        if missing:
            lines = [f"no column {name!r}. Available columns: {listing(self.columns)}."
                     f"{did_you_mean(name, self.columns)}" for name in missing]
            raise DataError("\n".join(lines), file=self.where)
        return list(dict.fromkeys(columns))

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        """Yield chunks of at most `rows` rows of the columns `names` (possibly fewer, possibly empty)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.format} {shown(self.where)}: {len(self.columns)} columns>"


@contextlib.contextmanager
def located(source: "Source | None") -> Iterator[None]:
    """Give a `DataError` raised inside, that names an example by number only, the file and row of that
    example in `source` (see `Source.locate`); others pass unchanged, and so does every error when `source` is
    None or cannot tell where the example is."""
    try:
        yield
    except DataError as error:
        if error.example is None or error.file is not None or source is None:
            raise
        place = source.locate(error.example)
        if place is None:
            raise
        raise DataError(error.problem, file=place[0], row=place[1], column=error.column) from error


def first_problems(masks: Sequence[np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of `rows` rows have a problem, and for each the index of its first problem in `masks` (one
    boolean mask of bad rows per kind of problem, in the order a row's problems are reported)."""
    if not masks:
        return np.zeros(rows, dtype=bool), np.zeros(rows, dtype=np.intp)
    stacked = np.stack([np.asarray(mask, dtype=bool) for mask in masks])
    return stacked.any(axis=0), np.argmax(stacked, axis=0)


def listing(names: Sequence[str]) -> str:
    """Names quoted and comma-separated; a long list shows its first names and its length."""
    quoted = ", ".join(repr(name) for name in names[:_MAX_LISTED])
    return quoted + (f" ... ({len(names)} in all)" if len(names) > _MAX_LISTED else "")


def rebatch(chunks: Iterable[dict[str, np.ndarray]], rows: int) -> Iterator[dict[str, np.ndarray]]:
    """Regroup chunks of any size into batches of exactly `rows` rows, the last one possibly smaller."""
    pending: list[dict[str, np.ndarray]] = []
    count = 0
    for chunk in chunks:
        size = _length(chunk)
        if not size:
            continue
        if not pending and size == rows:
            yield chunk
            continue
        pending.append(chunk)
        count += size
        while count >= rows:
            merged = _concatenate(pending)
            yield {name: values[:rows] for name, values in merged.items()}
            pending = [{name: values[rows:] for name, values in merged.items()}]
            count -= rows
        if not count:
            pending = []
    if count:
        yield _concatenate(pending)


def _length(chunk: dict[str, np.ndarray]) -> int:
    return len(next(iter(chunk.values()))) if chunk else 0


def _concatenate(chunks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    if len(chunks) == 1:
        return chunks[0]
    return {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]}


def has_glob(pattern: str) -> bool:
    return any(character in pattern for character in "*?[")


def resolve_files(pattern: str, base_dir: Path) -> list[Path]:
    """The files a source's `path` names: one file, or a glob's matches sorted by path (`**` spans folders).

    Raises:
        DataError: no file matches, or the one file named does not exist or is a folder.
        StorageError: on object storage (`s3://`, `gs://`), likewise, or the storage refused.
    """
    if is_remote(pattern):
        return _staged(pattern)
    joined = Path(base_dir) / pattern
    if has_glob(pattern):
        # root_dir keeps glob characters in the folder's own name literal.
        found = (Path(base_dir) / match for match in glob.glob(pattern, root_dir=base_dir, recursive=True))
        matches = sorted(match.resolve() for match in found if match.is_file())
        if not matches:
            raise DataError(f"no file matches the pattern {pattern!r} in the folder {shown(base_dir)}")
        return matches
    if joined.is_dir():
        raise DataError("is a folder; expected a file (or a glob such as `part-*.csv`)", file=joined)
    return [resolve_file(pattern, base_dir)]


def resolve_file(path: str, base_dir: Path) -> Path:
    """The one file `path` names, read relative to `base_dir`; glob characters are taken literally.

    Raises:
        DataError: the file does not exist or is a folder.
    """
    if is_remote(path):
        return _staged(path)[0]
    joined = Path(base_dir) / path
    if joined.is_dir():
        raise DataError("is a folder; expected a file", file=joined)
    if not joined.is_file():
        raise DataError(f"no such file (read relative to {shown(base_dir)})", file=joined)
    return joined.resolve()


def _staged(url: str) -> list[Path]:
    """Local copies of the objects a `s3://` or `gs://` path names, kept in the cache folder's `remote/` and
    fetched again only when an object changes (`modelctl.util.storage.staged`)."""
    from modelctl.data.cache import default_folder
    from modelctl.util.storage import staged

    return staged(url, default_folder() / "remote")


def source_options(source: dict) -> dict:
    """Check a `data.source` mapping against the schema and fill in its defaults.

    Raises:
        SpecError: listing every problem, each as `data source: $.data.source.key: message`: an unknown format
            or key, a missing key, a value of the wrong type.
    """
    from modelctl.spec.messages import section_problems

    if not isinstance(source, dict):
        raise DataError(f"a source is a mapping with a `format` key; received {type(source).__name__} {source!r}")
    where, path = "data source", ("data", "source")
    fmt = source.get("format")
    if fmt not in sources():
        known = {"format": {"enum": source_names(), "title": "source format"}}
        raise SpecError(section_problems({"format": fmt}, known, where=where, path=path))
    properties = {"format": {"const": fmt}, **sources().get(fmt).args}
    required = [key for key, schema in properties.items() if "default" not in schema and "const" not in schema]
    problems = section_problems(source, properties, where=where, path=path, required=required)
    if problems:
        raise SpecError(problems)
    defaults = {key: schema["default"] for key, schema in properties.items() if "default" in schema}
    return {**defaults, **source}


def open_source(source: dict, base_dir: Path) -> Source:
    """Open the source a spec's `data.source` describes; files are found and headers read, no rows yet.

    Args:
        source: the `data.source` mapping; `format` is a format of the registry
            (`modelctl.registry.sources`: csv, tsv, parquet, npy, npz, image_folder, text_folder, tfrecord and
            those of plug-ins), and the other keys are those its entry allows.
        base_dir: the folder relative paths are read from (the spec's folder).

    Raises:
        SpecError: the mapping does not fit the format's schema.
        DataError: a file is missing, no file matches a glob, or a file's header cannot be read.
    """
    options = source_options(source)
    reader = sources().get(options["format"]).load()
    return reader(options, Path(base_dir))


__all__ = ["BadRows", "DataError", "ON_BAD_ROWS", "Source", "first_problems", "listing", "located", "open_source",
           "rebatch", "resolve_file", "resolve_files", "source_options"]
