"""What each column of a table holds, read from its first rows, and what `modelctl init --data` makes of it.

    profile = read_profile(Path("data/customers.csv"), labels=["churned"], task=None)
    profile.columns[0].role       # "numeric", "categorical", "text", "skip" or "label"
    profile.columns[0].reason     # why, in words, for the table `init` prints and the spec's comments

The rules, in order (a column's values are strings; the source's missing-value strings read as missing):

- a column named by `--label` is a label (an empty cell in it is an error): numeric with more than 20 values
  or a fraction, or `--task regression`, is `regression`; two values `binary`; more `categorical`, with
  their count;
- empty in every row read, or one value in every row: left out;
- every value a number: numeric, unless it counts the rows (1, 2, 3, ...) or is named like an identifier
  (`id`, `user_id`, `uuid`, `index`) and differs in every row;
- dates (`2024-05-01`, with or without a time): left out, since no feature type reads dates;
- long text (5 words or 40 characters on average): text;
- a different value in nearly every row (90 % of at least 20 rows), or named like an identifier: left out;
- otherwise categorical, keeping the 50 most frequent values when there are more.

The CSV reader is Python's own `csv` module, so that `init` needs neither pyarrow nor pandas; at most
`SAMPLE_ROWS` rows are profiled and at most `COUNT_ROWS` counted.
"""

from __future__ import annotations

import csv
import dataclasses
import re
from collections import Counter
from pathlib import Path

from modelctl.errors import UsageError, did_you_mean, one_of

SAMPLE_ROWS = 10_000
"""Rows read to decide what each column holds."""

COUNT_ROWS = 1_000_000
"""Rows counted at most (the model and batch size follow the count)."""

NA_VALUES = frozenset(["", "NA", "NaN", "nan", "null"])
"""Strings read as missing: the default `na_values` of CSV sources."""

MAX_CLASSES = 1000
"""Most classes a categorical label may have."""

MAX_CATEGORIES = 50
"""Values a categorical feature keeps (the most frequent); the rest share one out-of-vocabulary slot."""

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "csv", ".parquet": "parquet",
                  ".pq": "parquet"}

_ID_NAME = re.compile(r"(^|[_\W])(id|uuid|guid|index|idx|key)$|^unnamed: ?\d+$|^(row|record)_?(number|no|num)$",
                      re.IGNORECASE)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
BOOLEAN_VALUES = {"0", "1", "true", "false", "yes", "no"}
"""A binary label whose values (lower-cased) are among these needs no `positive`: 1, true and yes are."""


@dataclasses.dataclass
class Column:
    """One column of the table, and what `init` makes of it.

    Attributes:
        name: the column's name in the file.
        values: the values of the rows read, None where missing.
        role: `numeric`, `categorical`, `text` (features), `label`, or `skip` (left out).
        kind: for a label, its type: `categorical`, `binary` or `regression`; else None.
        reason: why, in words.
    """

    name: str
    values: list
    role: str = ""
    kind: str | None = None
    reason: str = ""

    @property
    def present(self) -> list[str]:
        return [value for value in self.values if value is not None]

    @property
    def missing(self) -> int:
        return sum(value is None for value in self.values)

    @property
    def counts(self) -> Counter:
        return Counter(self.present)

    @property
    def numeric(self) -> bool:
        present = self.present
        return bool(present) and all(_is_number(value) for value in present)

    @property
    def integer(self) -> bool:
        return self.numeric and all(float(value).is_integer() for value in self.present)

    @property
    def classes(self) -> list[str]:
        """The distinct values, sorted (numerically when every one is a number)."""
        values = list(self.counts)
        return sorted(values, key=float) if self.numeric else sorted(values)


@dataclasses.dataclass
class Profile:
    """A table and its columns, as `init --data` read them.

    Attributes:
        path: the file.
        format: the source format: `csv`, `tsv` or `parquet`.
        columns: every column, in file order.
        rows: rows in the file, counted up to `COUNT_ROWS`.
        more_rows: the file has more rows than were counted.
        task: `classification` or `regression` when `--task` gave it, else None.
    """

    path: Path
    format: str
    columns: list[Column]
    rows: int
    more_rows: bool = False
    task: str | None = None

    @property
    def read(self) -> int:
        """Rows profiled."""
        return len(self.columns[0].values) if self.columns else 0

    def role(self, role: str) -> list[Column]:
        return [column for column in self.columns if column.role == role]


def read_profile(path: Path, labels: list[str], task: str | None = None) -> Profile:
    """Read the first rows of the table at `path` and decide what each column is (see the module docstring).

    Args:
        path: a CSV, TSV or Parquet file (by its suffix: .csv, .txt, .tsv, .tab, .parquet, .pq).
        labels: the label columns; empty picks a column named label, target, class or y, else the last one.
        task: `classification`, `regression`, or None (default) to decide from the label's values.

    Raises:
        UsageError: the file cannot be read, has no rows, or a label column is not in it or cannot be the
            task asked for.
    """
    path = Path(path)
    source_format = TABLE_SUFFIXES.get(path.suffix.lower())
    if source_format is None:
        raise UsageError(f"{path}: --data takes a CSV, TSV or Parquet file or a folder of images or texts; "
                         f"the suffix {path.suffix or '(none)'!r} is not one of "
                         f"{one_of(sorted(TABLE_SUFFIXES))}")
    if source_format == "parquet":
        names, rows, total, more = _read_parquet(path)
    else:
        names, rows, total, more = _read_delimited(path, "\t" if source_format == "tsv" else ",")
    if not rows:
        raise UsageError(f"{path}: the file has a header but no rows to learn from")
    columns = [Column(name, [row[index] for row in rows]) for index, name in enumerate(names)]
    profile = Profile(path, source_format, columns, total, more, task)
    for name in labels or [_guess_label(names)]:
        if name not in names:
            raise UsageError(f"--label {name}: {path} has no column {name!r}. Its columns: {one_of(names)}."
                             f"{did_you_mean(name, names)}")
        _label(columns[names.index(name)], task, guessed=not labels)
    for column in columns:
        if not column.role:
            column.role, column.reason = _feature(column)
    if not any(column.role in ("numeric", "categorical", "text") for column in columns):
        raise UsageError(f"{path}: no column is left to learn from: "
                         + "; ".join(f"{column.name}: {column.reason}" for column in columns))
    return profile


def _guess_label(names: list[str]) -> str:
    for candidate in ("label", "target", "class", "y"):
        for name in names:
            if name.lower() == candidate:
                return name
    return names[-1]


def _label(column: Column, task: str | None, guessed: bool) -> None:
    column.role = "label"
    present = column.present
    chosen = "guessed (pass --label to choose); " if guessed else ""
    distinct = len(column.counts)
    if column.missing:
        first = column.values.index(None) + 2  # spreadsheet numbering: the header is row 1
        raise UsageError(f"--label {column.name}: {column.missing} of the {len(column.values)} rows read have no "
                         f"label (the first is row {first}); training needs one in every row, so remove those rows "
                         "or fill them in first")
    if distinct < 2:
        raise UsageError(f"--label {column.name}: the column holds {distinct} distinct value"
                         f"{'s' if distinct != 1 else ''} in the {len(column.values)} rows read; a label needs "
                         "at least two")
    if task == "regression" or (task is None and column.numeric and (not column.integer or distinct > 20)):
        if not column.numeric:
            example = next(value for value in present if not _is_number(value))
            raise UsageError(f"--task regression: the label column {column.name!r} holds {example!r}, not a "
                             "number")
        column.kind = "regression"
        low, high = min(map(float, present)), max(map(float, present))
        column.reason = f"{chosen}numbers from {_number(low)} to {_number(high)}"
        return
    if distinct > MAX_CLASSES:
        raise UsageError(f"--label {column.name}: {distinct} classes in the rows read, more than {MAX_CLASSES}; "
                         "for a number to predict, pass --task regression")
    shown = ", ".join(column.classes[:5]) + (", ..." if distinct > 5 else "")
    column.kind = "binary" if distinct == 2 else "categorical"
    column.reason = f"{chosen}{distinct} classes ({shown})"


def _feature(column: Column) -> tuple[str, str]:
    present = column.present
    if not present:
        return "skip", "empty in every row read"
    counts = column.counts
    if len(counts) == 1:
        return "skip", f"the same value ({present[0]!r}) in every row read: nothing to learn from"
    unique = len(counts) == len(present)
    id_like = bool(_ID_NAME.search(column.name.strip()))
    if column.numeric:
        if column.integer and unique and len(present) >= 3 and _counts_rows(present):
            return "skip", "counts the rows (1, 2, 3, ...): an identifier, not a measurement"
        if id_like and unique:
            return "skip", "named like an identifier and different in every row"
        missing = f"; {column.missing} missing, filled with the median" if column.missing else ""
        low, high = min(map(float, present)), max(map(float, present))
        return "numeric", f"numbers from {_number(low)} to {_number(high)}{missing}"
    if all(_DATE.match(value) for value in present):
        return "skip", "dates: no feature type reads them; add columns such as the month or weekday instead"
    words = sum(len(value.split()) for value in present) / len(present)
    length = sum(len(value) for value in present) / len(present)
    if words >= 5 or length >= 40:
        return "text", f"free text, {words:.0f} words on average"
    if len(present) >= 20 and len(counts) >= 0.9 * len(present):
        return "skip", f"{len(counts)} different values in {len(present)} rows: an identifier (or a name)"
    if id_like and len(counts) > 0.5 * len(present):
        return "skip", "named like an identifier, with mostly different values"
    kept = f", the {MAX_CATEGORIES} most frequent kept" if len(counts) > MAX_CATEGORIES else ""
    missing = f"; {column.missing} missing" if column.missing else ""
    return "categorical", f"{len(counts)} values{kept}{missing}"


def _counts_rows(values: list[str]) -> bool:
    numbers = [int(float(value)) for value in values]
    return all(later - earlier == 1 for earlier, later in zip(numbers, numbers[1:]))


def _is_number(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return number == number and abs(number) != float("inf")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:.4g}"


def _read_delimited(path: Path, delimiter: str) -> tuple[list[str], list[list], int, bool]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            reader = csv.reader(file, delimiter=delimiter)
            names = next(reader, None)
            if not names:
                raise UsageError(f"{path}: the file is empty; --data needs a header row and some rows")
            _check_names(path, names)
            rows, total = [], 0
            for row in reader:
                if not row:
                    continue
                total += 1
                if len(rows) < SAMPLE_ROWS:
                    if len(row) != len(names):
                        raise UsageError(f"{path}:row {reader.line_num}: {len(row)} fields where the header has "
                                         f"{len(names)}")
                    rows.append([None if value.strip() in NA_VALUES else value for value in row])
                if total >= COUNT_ROWS:
                    return names, rows, total, next(reader, None) is not None
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise UsageError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8") \
            from None
    except (OSError, csv.Error) as error:
        raise UsageError(f"{path}: cannot be read: {error}") from None
    return names, rows, total, False


def _check_names(path: Path, names: list[str]) -> None:
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise UsageError(f"{path}: the header names {one_of(repeated)} more than once")
    if any(not name.strip() for name in names):
        raise UsageError(f"{path}: a column of the header has no name")


def _read_parquet(path: Path) -> tuple[list[str], list[list], int, bool]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise UsageError(f"{path}: reading Parquet needs pyarrow: pip install \"modelctl[train]\" (or pyarrow)") \
            from None
    try:
        file = parquet.ParquetFile(path)
        names = file.schema_arrow.names
        batch = next(file.iter_batches(batch_size=SAMPLE_ROWS), None)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except Exception as error:  # pyarrow raises its own errors (ArrowInvalid, OSError) for a damaged file
        raise UsageError(f"{path}: cannot be read as Parquet: {error}") from None
    _check_names(path, names)
    table = [] if batch is None else batch.to_pylist()
    rows = [[_text(record[name]) for name in names] for record in table]
    return names, rows, file.metadata.num_rows, False


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return None
    return str(value)
