"""Which source columns each feature and label reads, and how a batch of them becomes model-ready arrays.

    plan = ColumnPlan(spec["data"], source.columns, where=source.where)
    plan.read                       # every source column the spec needs, in order
    plan.features["pixels"].columns # ['pixel_0', ..., 'pixel_63']

A feature reads `columns` (a list or a glob, numeric features only), else
`column`, else the column of its own name. A label reads `column`. A column
that is not in the source is an error that lists the source's columns;
`check_columns` reports it at the spec line that names it, from the header
alone, when a spec is validated.

The raw values a model takes are each feature type's (see `modelctl.features`):
`encode_features` asks the type of each feature to encode its columns.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Sequence

from modelctl.util.lazy import MissingExtra, numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import Source, listing, open_source
from modelctl.errors import Diagnostic, SpecError, did_you_mean
from modelctl.features.values import Columns, add_counts, factorize, learned_vocabulary, strings, \
    value_counts, vocabulary_of


class ColumnPlan:
    """The columns a spec's `data` section reads from a source.

    Args:
        data: the spec's `data` section.
        available: the source's columns, in file order.
        where: the source's path, for messages.
        weight: the column holding each example's weight (`training.sample_weight`); default None.

    Raises:
        DataError: listing every feature or label whose column is not in the source.
    """

    def __init__(self, data: dict, available: Sequence[str], where: Path | str, *, weight: str | None = None):
        self.available = list(available)
        self.where = where
        problems: list[str] = []
        self.features = {name: self._resolve(name, feature, "feature", problems=problems)
                         for name, feature in (data.get("features") or {}).items()}
        self.labels = {name: self._resolve(name, label, "label", problems=problems)
                       for name, label in (data.get("labels") or {}).items()}
        self.weight = self._column(weight, "training.sample_weight", problems) if weight else None
        if problems:
            raise DataError("\n".join(problems), file=where)
        needed = [column for item in [*self.features.values(), *self.labels.values()] for column in item.columns]
        if self.weight:
            needed.append(self.weight)
        self.read = list(dict.fromkeys(needed))

    def _resolve(self, name: str, options: dict, role: str, *, problems: list[str]) -> Columns:
        found: list[str] = []
        missing: list[str] = []
        for _, written, is_glob in written_columns(name, options, role):
            if not is_glob:
                if written in self.available:
                    found.append(written)
                else:
                    missing.append(written)
                continue
            matched = matching(written, self.available)
            if not matched:
                problems.append(f"{role} '{name}': no column matches {written!r}. Available columns: "
                                f"{listing(self.available)}.")
            found += matched
        if len(missing) == 1:
            self._column(missing[0], f"{role} '{name}'", problems)
        elif missing:
            problems.append(f"{role} '{name}': {len(missing)} of its columns are missing: {listing(missing)}. "
                            f"Available columns: {listing(self.available)}.")
        return Columns(name, options["type"], tuple(found), options)

    def _column(self, column: str, owner: str, problems: list[str]) -> str | None:
        if column in self.available:
            return column
        problems.append(f"{owner}: no column {column!r}. Available columns: {listing(self.available)}."
                        f"{did_you_mean(column, self.available)}")
        return None


def written_columns(name: str, options: dict, role: str) -> list[tuple[tuple, str, bool]]:
    """(spec path, written name or glob, whether it is a glob) of each column a feature or label reads.

    Args:
        name: the feature's or label's name.
        options: its mapping in the spec.
        role: `feature` or `label`.
    """
    base = ("data", f"{role}s", name)
    written = options.get("columns") if role == "feature" else None
    if isinstance(written, str):
        return [(base + ("columns",), written, True)]
    if isinstance(written, list):
        return [(base + ("columns", index), column, False) for index, column in enumerate(written)]
    if options.get("column"):
        return [(base + ("column",), options["column"], False)]
    return [(base, name, False)]


def matching(pattern: str, available: Sequence[str]) -> list[str]:
    """The columns a glob such as `pixel_*` matches, in file order."""
    return [column for column in available if fnmatch.fnmatchcase(column, pattern)]


HEADER_FORMATS = ("csv", "tsv", "parquet")
"""Source formats whose columns are read cheaply: a CSV or TSV header, a Parquet schema."""


def source_columns(source: dict, base_dir: Path) -> list[str] | None:
    """The columns of a CSV, TSV or Parquet source, opened as training opens it (the first file's header and
    first rows, or its Parquet schema); None for another format, or a source whose files are missing or cannot
    be read (reading the data reports that)."""
    if not isinstance(source, dict) or source.get("format") not in HEADER_FORMATS:
        return None
    try:
        return list(open_source(source, base_dir).columns)
    except DataError:
        return None
    except (ImportError, MissingExtra):  # the lint install: pyarrow, which reads Parquet, is in the `train` extra
        return None


def column_vocabulary(source: dict, base_dir: Path, *, column: str, limit: int | None = None) -> list[str] | None:
    """`learned_vocabulary` of one column over every row of a source (rows that cannot be read are skipped);
    None when the source or the column cannot be read."""
    try:
        opened = open_source(source, base_dir)
        if column not in opened.columns:
            return None
        return learned_vocabulary((batch[column] for batch in opened.batches([column], on_bad_rows="skip")), limit)
    except DataError:
        return None


def check_columns(document) -> list[Diagnostic]:
    """Diagnostics for every column the spec's features, labels and sample weight name that its CSV, TSV or
    Parquet sources lack, at the spec line that names it (see `source_columns`: no source is read through)."""
    spec = document.data
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    sources = [data.get("source"), *(data.get("sources") or {}).values()]
    weight = (spec.get("training") or {}).get("sample_weight") if isinstance(spec.get("training"), dict) else None
    found: dict[tuple, Diagnostic] = {}
    keys = [("data", "source"), *(("data", "sources", split) for split in (data.get("sources") or {}))]
    for source, at in zip(sources, keys):
        try:
            available = source_columns(source, document.base_dir)
        except SpecError as error:  # a key its format's registry entry requires or refuses, at the source's line
            for problem in error.diagnostics:
                found.setdefault(at + (problem.path,), document.diagnostic(at, problem.message))
            continue
        if available is None:
            continue
        for path, message, at_key in column_problems(data, available, where=source["path"], weight=weight):
            found.setdefault(path, document.diagnostic(path, message, key=at_key))
    return list(found.values())


def column_problems(data: dict, available: Sequence[str], *, where: str,
                    weight: str | None = None) -> list[tuple[tuple, str, bool]]:
    """(spec path, message, whether the path is a key) of each column the features, labels and sample weight
    name that is not in `available`, the columns of the source `where` (its path as the spec writes it).

    A feature without `column` or `columns` reads the column of its own name; its problem is placed at its key."""
    entries = [(path, written, is_glob, path == ("data", f"{role}s", name))
               for role, items in (("feature", data.get("features")), ("label", data.get("labels")))
               for name, options in (items if isinstance(items, dict) else {}).items() if isinstance(options, dict)
               for path, written, is_glob in written_columns(name, options, role)]
    if isinstance(weight, str):
        entries.append((("training", "sample_weight"), weight, False, False))
    problems = []
    for path, written, is_glob, own_name in entries:
        if is_glob and not matching(written, available):
            problems.append((path, f"no column of {where} matches '{written}'. Columns: {listing(available)}.",
                             False))
        elif not is_glob and written not in available:
            hint = "; without `column`, a feature reads the column of its own name" if own_name else ""
            problems.append((path, f"'{written}' is not a column of {where}{hint}. Expected one of "
                                   f"{listing(available)}.{did_you_mean(written, available)}", own_name))
    return problems


def open_typed(options: dict, base_dir: Path, features: dict) -> Source:
    """Open a source; in a CSV or TSV file the columns of features whose type sets a `column_type` (numeric:
    `float`) are read as that type, so that a word among numbers is reported with its file, row and column."""
    from modelctl.features import feature_type

    source = open_source(options, base_dir)
    if source.format not in ("csv", "tsv"):
        return source
    plan = ColumnPlan({"features": features}, source.columns, source.where)
    declared = dict(options.get("column_types") or {})
    typed = {column: column_type for item in plan.features.values()
             if (column_type := feature_type(item.kind).column_type)
             for column in item.columns if column not in declared}
    if not typed:
        return source
    return open_source({**options, "column_types": {**declared, **typed}}, base_dir)


def encode_features(features: dict, fitted, batch: dict[str, np.ndarray], *, numbers: np.ndarray,
                    on_bad_rows: str, skipped: dict[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The raw values the model takes for a batch of source columns, and which examples are kept; each feature
    is encoded by its type (`FeatureType.encode`).

    Args:
        features: feature name -> `Columns` (from `ColumnPlan`).
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`), whose image sizes are used; None takes them
            from the spec (before fitting).
        batch: source column -> values.
        numbers: each example's 1-based number, for messages.
        on_bad_rows: `error` or `skip` (an image that cannot be decoded).
        skipped: reason -> count of skipped examples; filled in place.

    Raises:
        DataError: a missing numeric value under the `error` strategy, an image that cannot be decoded.
    """
    from modelctl.features import feature_type

    keep = np.ones(len(numbers), dtype=bool)
    values: dict[str, np.ndarray] = {}
    for name, item in features.items():
        feature = item.options if fitted is None else fitted.features[name].entry
        values[name], kept = feature_type(item.kind).encode(item, feature, batch, numbers=numbers,
                                                            on_bad_rows=on_bad_rows,
                                                            skipped=skipped)
        if kept is not None:
            keep &= kept
    return values, keep


__all__ = ["ColumnPlan", "Columns", "HEADER_FORMATS", "add_counts", "check_columns", "column_problems",
           "column_vocabulary", "encode_features", "factorize", "learned_vocabulary", "matching",
           "open_typed", "source_columns", "strings", "value_counts", "vocabulary_of", "written_columns"]
