"""CSV and TSV files, read with `pyarrow.csv`: a block of rows at a time, only the columns asked for.

Files are UTF-8 (a byte-order mark is ignored). Fields are typed by
`column_types`; the other columns get the narrowest type that holds their first
`INFER_ROWS` values (`int`, `float`, then `string`). Numbers are read as Arrow
reads them: spaces around them are ignored, an `int` is an optional minus sign
and digits within the int64 range, a `float` may also have a sign, a decimal
point and an exponent, or be `inf`, `infinity` or `nan` in any case. A later
value that does not fit its type is a bad row: the error names the file, the
row and the column, and says how to declare the type. Rows are numbered as a
spreadsheet shows them (the header is row 1). A blank line is not an example but
keeps its number; a record with more or fewer fields than there are columns is
a bad row.

Each block is converted by Arrow's CSV reader in one go, straight into typed
columns. When a value of a block does not convert, that file is read again from
the block on with every column as text, and each block's text is typed with
`pyarrow.compute` (a pattern match, then a cast), which finds every bad value of
the block at once. A bad row's spreadsheet number is worked out only when an
error names it.

The header alone, which is all `modelctl validate` reads, is read with the
standard `csv` module, so that checking a spec's columns does not load pyarrow.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path
from typing import Iterator

from modelctl.util.lazy import numpy as np

from modelctl.data.errors import DataError, shown
from modelctl.data.formats.text_types import from_arrow, from_text, infer_kind, sentence
from modelctl.data.sources import BadRows, Source, first_problems, listing, resolve_files
from modelctl.errors import did_you_mean

INFER_ROWS = 1000
"""Rows of the first file that the type of an undeclared column is inferred from."""

BLOCK_BYTES = 1 << 20
"""Bytes of a file parsed at a time (a record must fit in one block); blocks of 1 MiB stream about as fast
as larger ones."""

SAMPLE_BYTES = 1 << 20
"""Bytes at the start of a file whose lines tell how many rows the files hold (`estimated_rows`)."""

WHOLE_FILE_BYTES = 256 << 20
"""Files up to this size are parsed at once, on every core (about twice as fast as streaming them a block at
a time: 0.5 s against 1.0 s for an 87 MB table of 55 columns on 2 cores); larger ones stream, so that memory
stays bounded."""

PART_BYTES = 8 << 20
"""Bytes of a block a large file is read in when a streamed epoch reads the source in a permuted order
(`DelimitedSource.parts`)."""

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
        self.na_values = list(dict.fromkeys(options["na_values"]))
        self.header = bool(options["header"])
        self.files = resolve_files(options["path"], base_dir)
        first = self.first_file = self.files[0]  # the header every file must have, also in a view of some files
        self.first_record = _first_record(first, self.delimiter, self.format)
        self.header_fields = self._header(first, self.first_record)
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
        self._kinds: dict[str, str] | None = None
        self.byte_range: tuple[int, int] | None = None
        """The bytes of its one file a view made by `parts` reads (a block of whole records); None: every byte."""

    @property
    def kinds(self) -> dict[str, str]:
        """Column -> `float`, `int` or `string`: declared, or inferred from the first file's first `INFER_ROWS`
        well-formed rows (read when first asked for)."""
        if self._kinds is None:
            undeclared = [name for name in self.columns if name not in self.declared]
            sample = self._sample(undeclared) if undeclared else {}
            self._kinds = {name: self.declared.get(name) or infer_kind(sample[name], self.na_values)
                           for name in self.columns}
        return self._kinds

    def parts(self) -> list[tuple["DelimitedSource", int]]:
        """One part a file, and a file of more than twice `PART_BYTES` in blocks of about `PART_BYTES` that end
        at a line break, when no value is quoted (a quoted value may hold a line break) and no line is blank."""
        if self.skipped or any(self.file_rows.get(file) is None for file in self.files):
            return []
        found = []
        for file in self.files:
            blocks = _record_blocks(file, header=self.header) if file.stat().st_size > 2 * PART_BYTES else None
            if blocks is None or sum(rows for _, _, rows in blocks) != self.file_rows[file]:
                found.append((self.only([file]), self.file_rows[file]))
                continue
            for start, end, rows in blocks:
                view = self.only([file])
                view.byte_range = (start, end)
                found.append((view, rows))
        return found if len(found) > 1 else []

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        kinds = self.kinds
        self._read_bytes, self._reading = 0, None
        if self.byte_range is not None:
            yield from self.counted(self.files[0], self._block_chunks(self.files[0], names, kinds))
            return
        for file in self.files:
            if self.has_records(file):
                reader = _FileReader(self, file, names, kinds=kinds, bad=bad)
                self._reading = reader
                yield from self.counted(file, reader.chunks())
            else:
                self.file_rows[file] = 0
            self._read_bytes += file.stat().st_size
            self._reading = None

    def progress(self) -> float | None:
        total = sum(file.stat().st_size for file in self.files)
        reading = getattr(self, "_reading", None)
        done = getattr(self, "_read_bytes", 0) + (reading.position() if reading is not None else 0)
        return min(1.0, done / total) if total else None

    def count_rows(self) -> int:
        return sum(self.rows_in(file) for file in self.files)

    def estimated_rows(self) -> int:
        """The files' bytes over the bytes a line takes in the first `SAMPLE_BYTES` of the first file (a record
        over several lines, in quotes, counts as several rows)."""
        if not self.files:
            return 0
        with self.files[0].open("rb") as stream:
            sample = stream.read(SAMPLE_BYTES)
        lines = sample.count(b"\n") + (0 if sample.endswith(b"\n") or not sample else 1)
        total = sum(file.stat().st_size for file in self.files)
        return round(total * lines / len(sample)) if sample else 0

    def rows_in(self, file: Path) -> int:
        if not self.has_records(file):
            return 0
        counter = _Misshapen()
        reader = self.open_file(file, self.columns[:1], {}, misshapen=counter, text=True)
        return sum(batch.num_rows for batch in _batches(reader, file, self.format)) + counter.total

    def row_of(self, file: Path, record: int) -> int:
        return _spreadsheet_row(file, record + (1 if self.header else 0), self.delimiter)

    # Opening files -----------------------------------------------------------------------------------------

    def _header(self, file: Path, record: tuple[int, list[str]] | None) -> list[str] | None:
        if not self.header:
            return None
        if record is None:
            raise DataError("is empty; expected a header row naming the columns (or set `header: false`)",
                            file=file)
        row_number, fields = record
        if row_number != 1:
            raise DataError("row 1 is blank; expected a header row naming the columns", file=file)
        return fields

    def has_records(self, file: Path) -> bool:
        """Whether a file holds a record; a file of a glob must have the first file's header row.

        Raises:
            DataError: the file is empty or starts with a blank line while `header` is true, or its header row
                differs from the first file's.
        """
        record = self.first_record if file == self.first_file else _first_record(file, self.delimiter, self.format)
        fields = self._header(file, record)
        if fields is not None and fields != self.header_fields:
            raise DataError(f"the header row {listing(fields)} differs from the first file's "
                            f"({shown(self.first_file)}): {listing(self.header_fields)}", file=file, row=1)
        return record is not None

    def open_file(self, file: Path, names: list[str], kinds: dict[str, str], *, misshapen: "_Misshapen",
                  text: bool = False, threads: bool = True, stream=None, whole: bool = False):
        """A streaming `pyarrow.csv` reader of the columns `names` of `file`, typed by `kinds`; with `text`,
        every column is read as written (no missing values), for typing with `pyarrow.compute`. Without
        `threads` the reader numbers the records it hands to `misshapen`. `stream` is the file opened as a
        `pyarrow.OSFile`, when the caller follows how far the reader has read. With `whole`, the file is parsed
        at once on every core and its batches handed on from memory.

        Raises:
            _ConversionFailed: the first block has a value that does not convert to its column's type.
            DataError: the file cannot be read as CSV or TSV.
        """
        import pyarrow
        import pyarrow.csv

        arrow_types = {"float": pyarrow.float64(), "int": pyarrow.int64(), "string": pyarrow.string()}
        if self.header and len(set(self.header_fields)) == len(self.header_fields):
            # The reader reads the header row itself (a quoted name may span lines).
            keys = dict(zip(self.columns, self.header_fields))
            read_options = pyarrow.csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=threads)
        else:
            keys = {name: name for name in self.columns}
            read_options = pyarrow.csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=threads,
                                                   column_names=self.columns, skip_rows=1 if self.header else 0)
        convert = pyarrow.csv.ConvertOptions(
            include_columns=[keys[name] for name in names],
            column_types={keys[name]: pyarrow.string() if text else arrow_types[kinds[name]] for name in names},
            null_values=[] if text else self.na_values, strings_can_be_null=not text,
            quoted_strings_can_be_null=not text)
        parse = pyarrow.csv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=misshapen)
        try:
            if whole:
                return _WholeFile(pyarrow.csv.read_csv(file if stream is None else stream, read_options=read_options,
                                                       parse_options=parse, convert_options=convert))
            return pyarrow.csv.open_csv(file if stream is None else stream, read_options=read_options,
                                        parse_options=parse, convert_options=convert)
        except (pyarrow.ArrowInvalid, OSError) as error:
            raise _read_error(error, file, self.format) from None

    def _block_chunks(self, file: Path, names: list[str], kinds: dict[str, str]) -> Iterator[dict[str, np.ndarray]]:
        """The rows of `byte_range` of `file`, typed by Arrow. A part is read only after the whole file read
        well, so a value that does not convert or a record with the wrong number of fields means the file
        changed since.

        Raises:
            DataError: the file changed since it was first read.
        """
        import pyarrow
        import pyarrow.csv

        start, end = self.byte_range
        with open(file, "rb") as handle:
            handle.seek(start)
            data = handle.read(end - start)
        arrow_types = {"float": pyarrow.float64(), "int": pyarrow.int64(), "string": pyarrow.string()}
        misshapen = _Misshapen()
        reader = pyarrow.csv.open_csv(
            pyarrow.BufferReader(data),
            read_options=pyarrow.csv.ReadOptions(block_size=BLOCK_BYTES, column_names=self.columns,
                                                 skip_rows=1 if self.header and start == 0 else 0),
            parse_options=pyarrow.csv.ParseOptions(delimiter=self.delimiter, invalid_row_handler=misshapen),
            convert_options=pyarrow.csv.ConvertOptions(
                include_columns=names, column_types={name: arrow_types[kinds[name]] for name in names},
                null_values=self.na_values, strings_can_be_null=True, quoted_strings_can_be_null=True))
        changed = DataError(f"changed since it was first read (bytes {start} to {end} no longer read as they did); "
                            "run again", file=file)
        try:
            for batch in _batches(reader, file, self.format):
                columns, problems = from_arrow(batch, names, kinds)
                if problems or misshapen.total:
                    raise changed
                yield columns
        except _ConversionFailed:
            raise changed from None

    def _sample(self, names: list[str]) -> dict[str, object]:
        """The first `INFER_ROWS` well-formed rows of the first file, as text (Arrow string arrays)."""
        import pyarrow

        first = self.first_file
        if self.first_record is None:
            return {name: pyarrow.array([], pyarrow.string()) for name in names}
        reader = self.open_file(first, names, {}, misshapen=_Misshapen(), text=True)
        parts, count = [], 0
        for batch in _batches(reader, first, self.format):
            parts.append(batch)
            count += batch.num_rows
            if count >= INFER_ROWS:
                break
        table = pyarrow.Table.from_batches(parts, reader.schema).slice(0, INFER_ROWS)
        return {name: table.column(index).combine_chunks() for index, name in enumerate(names)}

    def hint(self, name: str, reason: str) -> str:
        """What to declare for a column whose value did not fit its type."""
        if name in self.declared:
            if reason == "missing value":
                return " (`column_types` declares it int; declare it float to read missing values as NaN)"
            return ""
        kind = self.kinds[name]
        return (f" (the column's type, {kind}, was inferred from its first {INFER_ROWS} rows; declare it with "
                f"`column_types: {{{name}: {_HINT_TYPE.get(reason, 'string')}}}`)")


class _Misshapen:
    """The `invalid_row_handler` of a reader: skips each record with the wrong number of fields, counts it and
    keeps its field count by record number (the header is record 1; blank lines are not counted), when the
    reader numbers records."""

    def __init__(self):
        self.found: dict[int, int] = {}
        self.total = 0

    def __call__(self, row) -> str:
        self.total += 1
        if row.number is not None:
            self.found[row.number] = row.actual_columns
        return "skip"


class _WholeFile:
    """A file parsed at once, read back a block's batch at a time as from a streaming reader."""

    def __init__(self, table):
        self.schema = table.schema
        self._batches = iter(table.to_batches())

    def read_next_batch(self):
        return next(self._batches)


class _ConversionFailed(Exception):
    """A block of a typed read has a value that does not convert."""


class _FileReader:
    """The chunks of one file: typed by Arrow, on every core, while nothing is wrong; from the block where a
    value does not convert (or, in a read that stops at the first bad row, where anything is wrong), read again
    as text and typed by `pyarrow.compute`. That read stops at the first bad row on one thread, so that the
    reader numbers every record."""

    def __init__(self, source: DelimitedSource, file: Path, names: list[str], *, kinds: dict[str, str], bad: BadRows):
        self.source = source
        self.file = file
        self.names = names
        self.kinds = kinds
        self.bad = bad
        self.stop = bad.mode == "error"
        self.width = len(source.columns)
        self.given = 0              # well-formed rows of the file handled so far
        self.last_record = 1 if source.header else 0
        self.stream = None
        self.misshapen = _Misshapen()

    def position(self) -> int:
        """Bytes of the file the reader has read so far."""
        return 0 if self.stream is None or self.stream.closed else self.stream.tell()

    def _open(self, misshapen: _Misshapen, text: bool = False, threads: bool = True):
        import pyarrow

        whole = threads and not text and self.file.stat().st_size <= WHOLE_FILE_BYTES
        if self.stream is not None:
            self.stream.close()
        try:
            self.stream = pyarrow.OSFile(str(self.file))
        except OSError as error:
            raise DataError(f"cannot be read: {error}", file=self.file) from None
        return self.source.open_file(self.file, self.names, self.kinds,
                                     misshapen=misshapen, text=text, threads=threads,
                                     stream=self.stream, whole=whole)

    def chunks(self) -> Iterator[dict[str, np.ndarray]]:
        try:
            yield from self._chunks()
        finally:
            if self.stream is not None:
                self.stream.close()

    def _chunks(self) -> Iterator[dict[str, np.ndarray]]:
        misshapen = self.misshapen = _Misshapen()
        try:
            reader = self._open(misshapen)
            for batch in _batches(reader, self.file, self.source.format):
                if self.stop and misshapen.total:
                    break
                columns, problems = from_arrow(batch, self.names, self.kinds)
                if self.stop and problems:
                    break
                yield self._checked(batch.num_rows, columns, problems)
            else:
                if not misshapen.total:
                    return
                if not self.stop:
                    self.bad.count("wrong number of fields", misshapen.total)
                    return
        except _ConversionFailed:
            pass
        skip = self.given
        misshapen = self.misshapen = _Misshapen()
        reader = self._open(misshapen, text=True, threads=not self.stop)
        for batch in _batches(reader, self.file, self.source.format):
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch = batch.slice(skip)
            skip = 0
            columns, problems = from_text(batch, self.names, self.kinds, na_values=self.source.na_values)
            yield self._checked(batch.num_rows, columns, problems, text=batch, misshapen=misshapen)
        if self.stop:
            self._misshapen_until(misshapen, None)
        elif misshapen.total:
            self.bad.count("wrong number of fields", misshapen.total)

    def _checked(self, size: int, columns: dict[str, np.ndarray], problems: list, *, text=None,
                 misshapen: _Misshapen | None = None) -> dict[str, np.ndarray]:
        """The chunk's rows without its bad ones, counted; or, in a read that stops at the first bad row, an
        error for the first bad row in row order (records with the wrong number of fields among them)."""
        self.given += size
        if self.stop:
            if misshapen is None:
                self.last_record += size
                return columns
            records = self._records(size, misshapen)
            bad, first = first_problems([mask for mask, _, _ in problems], size)
            if bad.any():
                position = int(np.argmax(bad))
                self._misshapen_until(misshapen, int(records[position]))
                _, reason, column = problems[first[position]]
                value = text.column(self.names.index(column))[position].as_py()
                self.bad.found(sentence(reason, value) + self.source.hint(column, reason), reason, self.file,
                               row=_spreadsheet_row(self.file, int(records[position]),
                                                    self.source.delimiter), column=column)
            self._misshapen_until(misshapen, self.last_record)
            return columns
        if not problems:
            return columns
        bad, first = first_problems([mask for mask, _, _ in problems], size)
        # A chunk's rows are the file's records after those given before it, unless a record with the wrong
        # number of fields was passed over: the reader does not number those when it reads on several threads.
        placed = not self.misshapen.total
        for index, (_, reason, column) in enumerate(problems):
            found = bad & (first == index)
            count = int(np.count_nonzero(found))
            if count:
                self.bad.count(reason, count, column, file=self.file,
                               records=self.given - size + 1 + np.flatnonzero(found) if placed else None)
        keep = ~bad
        return {name: values[keep] for name, values in columns.items()}

    def _records(self, size: int, misshapen: _Misshapen) -> np.ndarray:
        """Record numbers (the header is 1, blank lines not counted) of the next `size` well-formed rows."""
        records = np.arange(self.last_record + 1, self.last_record + 1 + size, dtype=np.int64)
        for number in sorted(number for number in misshapen.found if number > self.last_record):
            if not size or number > records[-1]:
                break
            records[records >= number] += 1
        if size:
            self.last_record = int(records[-1])
        return records

    def _misshapen_until(self, misshapen: _Misshapen, last: int | None) -> None:
        """Raise for the first record with the wrong number of fields up to record `last` (None: any)."""
        found = [number for number in misshapen.found if last is None or number <= last]
        if found:
            number = min(found)
            self.bad.found(f"expected {self.width} fields, found {misshapen.found[number]}", "wrong number of fields",
                           self.file, row=_spreadsheet_row(self.file, number, self.source.delimiter))


def _batches(reader, file: Path, fmt: str):
    """The record batches of a `pyarrow.csv` reader.

    Raises:
        _ConversionFailed: a value does not convert to its column's type.
        DataError: the file cannot be read (not UTF-8 text, or not CSV).
    """
    import pyarrow

    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pyarrow.ArrowInvalid as error:
            raise _read_error(error, file, fmt) from None
        yield batch


def _read_error(error: Exception, file: Path, fmt: str) -> Exception:
    """The exception for an error of `pyarrow.csv`: `_ConversionFailed` for a value that does not convert, else
    a `DataError`."""
    text = str(error)
    if "UTF8" in text:
        return _utf8_error(file)
    if "conversion error" in text:
        return _ConversionFailed(text)
    if isinstance(error, OSError):
        return DataError(f"cannot be read: {error.strerror or text}", file=file)
    return DataError(f"cannot be read as {fmt.upper()}: {text.replace('CSV parse error: ', '')}", file=file)


# Files, records and row numbers ------------------------------------------------------------------------------

def _first_record(file: Path, delimiter: str, fmt: str) -> tuple[int, list[str]] | None:
    """(row number, fields) of the first non-blank record of a file, read with the `csv` module; None when
    the file has none."""
    try:
        with open(file, newline="", encoding="utf-8-sig") as handle:
            for row_number, record in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
                if record:
                    return row_number, record
    except UnicodeDecodeError as error:
        raise DataError(f"is not UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be decoded "
                        f"({error.reason}); save the file as UTF-8", file=file) from None
    except csv.Error as error:
        raise DataError(f"cannot be read as {fmt.upper()}: {error}", file=file, row=1) from None
    except OSError as error:
        raise DataError(f"cannot be read: {error.strerror}", file=file) from None
    return None


def _record_blocks(file: Path, *, header: bool) -> list[tuple[int, int, int]] | None:
    """(start, end, rows) of blocks of about `PART_BYTES` bytes of whole lines that make up `file`, rows not
    counting the header; None when a record holds a quote character (a quoted value may span lines) or a line
    is blank. Read once, a block at a time."""
    size = file.stat().st_size
    blocks: list[list[int]] = []
    start, rows, previous, last = 0, 0, b"", b""
    with open(file, "rb") as handle:
        # A header of quoted names on one line is read with the first block: only the records may not hold quotes.
        header_line = handle.readline() if header else b""
        if header_line.count(b'"') % 2:
            return None
        handle.seek(0)
        while data := handle.read(max(PART_BYTES, len(header_line) + 1)):
            if handle.tell() < size:
                data += handle.readline()  # the block ends at a line break
            joined = previous + data
            records = data[len(header_line):] if not blocks else data
            if b'"' in records or b"\n\n" in joined or b"\n\r\n" in joined or b"\r\r" in joined:
                return None
            rows += data.count(b"\n")
            previous, last = joined[-2:], data[-1:]
            blocks.append([start, handle.tell(), rows])
            start, rows = handle.tell(), 0
    if not blocks:
        return None
    if last != b"\n":
        blocks[-1][2] += 1  # a last line without a line break
    if header:
        blocks[0][2] -= 1
    return [(first, end, count) for first, end, count in blocks]


def _utf8_error(file: Path) -> DataError:
    """The error naming the first byte of a file that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(file, "rb") as handle:
        while True:
            block = handle.read(1 << 20)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as error:
                return DataError(f"is not UTF-8 text: byte 0x{error.object[error.start]:02x} cannot be decoded "
                                 f"({error.reason}); save the file as UTF-8", file=file)
            if not block:
                return DataError("is not UTF-8 text; save the file as UTF-8", file=file)


def _spreadsheet_row(file: Path, record: int, delimiter: str) -> int:
    """The row a spreadsheet shows for record `record` (the header is record 1, blank lines are not counted):
    the record number itself unless the file has blank lines before its end, which keep their numbers."""
    if not _has_blank_lines(file):
        return record
    import pyarrow
    import pyarrow.csv

    # Every non-blank record is given more fields than it has, so that the handler sees each one with its
    # number counting blank lines too; the blank lines themselves are read as rows.
    found: list[int] = []

    def handler(row) -> str:
        if len(found) < record:
            found.append(row.number)
        return "skip"

    reader = pyarrow.csv.open_csv(
        file, read_options=pyarrow.csv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False,
                                                   column_names=[f"c{index}" for index in range(4096)]),
        parse_options=pyarrow.csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                                               invalid_row_handler=handler),
        convert_options=pyarrow.csv.ConvertOptions(include_columns=["c0"], column_types={"c0": pyarrow.string()}))
    for _ in reader:
        if len(found) >= record:
            break
    return found[record - 1] if len(found) >= record else record


def _has_blank_lines(file: Path) -> bool:
    """Whether a line break follows another (a blank line, or one inside a quoted value) before the file's
    last text; read a block at a time with numpy."""
    size = file.stat().st_size
    end = size
    with open(file, "rb") as handle:
        while end > 0:
            handle.seek(max(0, end - 4096))
            tail = handle.read(end - max(0, end - 4096))
            kept = tail.rstrip(b"\r\n")
            if kept:
                end = end - len(tail) + len(kept)
                break
            end -= len(tail)
        handle.seek(0)
        previous = b""
        read = 0
        while read < end:
            block = handle.read(min(1 << 24, end - read))
            if not block:
                break
            read += len(block)
            data = np.frombuffer(previous + block, dtype=np.uint8)
            newline = (data == 10)
            breaks = newline | (data == 13)
            # "\n\n", "\n\r" (as in "\n\r\n") and "\r\r" start a blank line.
            if np.any(newline[:-1] & breaks[1:]) or np.any((data[:-1] == 13) & (data[1:] == 13)):
                return True
            previous = block[-1:]
    return False


__all__ = ["BLOCK_BYTES", "DelimitedSource", "INFER_ROWS"]
