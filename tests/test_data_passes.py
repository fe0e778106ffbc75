"""Passes over the source: data that fits in memory is read once, larger data twice before training, with the
same splits, statistics, classes and messages either way."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelctl.data import assign_splits
from modelctl.data.errors import DataError
from modelctl.data.pipeline import prepare
from modelctl.data.sources import Source
from modelctl.spec.validate import load_spec

SPEC = """
modelctl: 1
name: passes
seed: 4
data:
  source: {format: %(format)s, path: table.%(format)s}
  features:
    x: {type: numeric, columns: [a, b], preprocessing: %(steps)s, missing: {strategy: mean}}
    colour: {type: categorical}
  labels:
    y: {column: y, type: categorical}
  split: {train: 0.6, validation: 0.2, test: 0.2%(stratify)s}
  batch_size: 4
  cache: %(cache)s
model:
  layers:
    - concatenate: {}
      inputs: [x, colour]
    - dense: {units: 3, activation: softmax}
"""


def _table(folder: Path, rows: int = 300, label=lambda index: "pqr"[index * 7 % 3]) -> None:
    lines = ["a,b,colour,y"]
    for index in range(rows):
        a = "" if index % 11 == 3 else f"{index * 0.37:.2f}"
        lines.append(f"{a},{index * 13 % 17},{['red', 'green', 'blue', 'red'][index % 4]},{label(index)}")
    (folder / "table.csv").write_text("\n".join(lines) + "\n")


def _spec(folder: Path, steps: str = "[standardize]", stratify: bool = False, cache: bool = True,
          fmt: str = "csv"):
    text = SPEC % {"format": fmt, "steps": steps, "stratify": ", stratify: true" if stratify else "",
                   "cache": "true" if cache else "false"}
    (folder / "spec.yaml").write_text(text)
    return load_spec(folder / "spec.yaml")


@pytest.fixture
def reads(monkeypatch):
    """The columns of every pass over a source, in order."""
    passes: list[list[str]] = []
    original = Source.batches

    def counted(self, columns=None, rows=4096, on_bad_rows="error"):
        passes.append(list(columns or self.columns))
        return original(self, columns, rows, on_bad_rows)

    monkeypatch.setattr(Source, "batches", counted)
    return passes


def _streaming(monkeypatch) -> None:
    import modelctl.data.pipeline as pipeline

    monkeypatch.setattr(pipeline, "CACHE_BYTES", 0)
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)


def test_data_that_fits_is_read_once(tmp_path, reads):
    _table(tmp_path)
    prepared = prepare(_spec(tmp_path, steps="[log, standardize, min_max]", stratify=True))
    assert reads == [["a", "b", "colour", "y"]]
    assert sorted(prepared._cache) == ["test", "train", "validation"]


def test_larger_data_is_read_twice_before_training(tmp_path, reads, monkeypatch):
    _table(tmp_path)
    _streaming(monkeypatch)
    prepared = prepare(_spec(tmp_path))
    # A first chunk tells the data is too large to hold: the first pass reads only the rows, the second the rest.
    assert reads == [["a", "b", "colour", "y"], ["a"], ["a", "b", "colour", "y"]] and not prepared._cache
    reads.clear()
    prepare(_spec(tmp_path, steps="[standardize, min_max]"))
    assert len(reads) == 4, "a statistic of standardized values needs the standardization first"


def test_data_estimated_far_larger_than_memory_is_streamed_from_the_first_pass(tmp_path, reads, monkeypatch):
    import modelctl.data.pipeline as pipeline

    _table(tmp_path)
    held = prepare(_spec(tmp_path))
    encoded = sum(pipeline._nbytes(held.arrays(split)) for split in ("train", "validation", "test"))
    file = (tmp_path / "table.csv").stat().st_size
    assert encoded > pipeline.ESTIMATE_MARGIN * file  # each category is counted as 50 bytes and its characters
    monkeypatch.setattr(pipeline, "CACHE_BYTES", file)
    reads.clear()
    assert sorted(prepare(_spec(tmp_path))._cache) == ["test", "validation"], "held from the split pass"
    assert reads == [["a", "b", "colour", "y"], ["a", "b", "colour", "y"]], "no estimate for files that fit"
    monkeypatch.setattr(pipeline, "CACHE_BYTES", file - 1)
    reads.clear()
    streamed = prepare(_spec(tmp_path))
    assert reads == [["a", "b", "colour", "y"], ["a"], ["a", "b", "colour", "y"]]
    assert sorted(streamed._cache) == ["test", "validation"]
    assert streamed.counts == held.counts and streamed.fitted == held.fitted


def test_without_cache_a_stratified_split_first_reads_the_label_alone(tmp_path, reads):
    _table(tmp_path)
    prepare(_spec(tmp_path, stratify=True, cache=False))
    assert reads == [["y"], ["a", "b", "colour", "y"]]


@pytest.mark.parametrize("stratify", [False, True])
def test_held_and_streamed_data_give_the_same_splits_statistics_and_examples(tmp_path, monkeypatch, stratify):
    _table(tmp_path)
    held = prepare(_spec(tmp_path, steps="[log, standardize]", stratify=stratify))
    labels = np.array(["pqr"[index * 7 % 3] for index in range(300)], dtype=object)
    np.testing.assert_array_equal(held.assignment, assign_splits(
        300, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=4, labels=labels, stratify=stratify))
    _streaming(monkeypatch)
    streamed = prepare(_spec(tmp_path, steps="[log, standardize]", stratify=stratify))
    np.testing.assert_array_equal(streamed.assignment, held.assignment)
    assert streamed.counts == held.counts
    assert streamed.fitted.labels == held.fitted.labels
    assert streamed.fitted.features["colour"] == held.fitted.features["colour"]
    for mine, theirs in zip(streamed.fitted.features["x"].entry["steps"], held.fitted.features["x"].entry["steps"]):
        assert mine.keys() == theirs.keys()
        for key in mine:
            np.testing.assert_allclose(mine[key], theirs[key], rtol=1e-9) if key != "op" else None
    for split in ("train", "validation", "test"):
        a, b = held.arrays(split), streamed.arrays(split)
        np.testing.assert_array_equal(a.features["x"], b.features["x"])
        np.testing.assert_array_equal(a.targets["y"], b.targets["y"])


def test_the_fill_and_the_statistics_after_it_match_the_filled_training_values(tmp_path):
    _table(tmp_path)
    prepared = prepare(_spec(tmp_path, steps="[log, standardize]"))
    fill, log, standardize = prepared.fitted.features["x"].entry["steps"]
    train = prepared.arrays("train").features["x"].astype(np.float64)
    np.testing.assert_allclose(fill["values"], np.nanmean(train, axis=0), rtol=1e-6)
    filled = np.log1p(np.where(np.isnan(train), np.float32(fill["values"]), train).astype(np.float32))
    np.testing.assert_allclose(standardize["mean"], filled.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(standardize["std"], filled.std(axis=0), rtol=1e-5)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_label_outside_the_training_classes_names_its_first_example(tmp_path, monkeypatch, streamed):
    assignment = assign_splits(300, {"train": 0.6, "validation": 0.2, "test": 0.2}, seed=4)
    odd = np.flatnonzero(assignment != 0)[[5, 40]]
    _table(tmp_path, label=lambda index: "odd" if index in odd else "pqr"[index * 7 % 3])
    if streamed:
        _streaming(monkeypatch)
    with pytest.raises(DataError) as caught:
        prepare(_spec(tmp_path))
    # the header is row 1, so example n is row n + 1
    assert str(caught.value) == (f"{tmp_path / 'table.csv'}:row {odd[0] + 2}: column 'y': label 'y' has value "
                                 "'odd', which is not one of its classes: 'p', 'q', 'r'")


def test_parquet_and_csv_give_the_same_examples(tmp_path):
    import pandas

    _table(tmp_path)
    pandas.read_csv(tmp_path / "table.csv").to_parquet(tmp_path / "table.parquet", index=False)
    from_csv = prepare(_spec(tmp_path, stratify=True))
    from_parquet = prepare(_spec(tmp_path, stratify=True, fmt="parquet"))
    assert from_parquet.counts == from_csv.counts and from_parquet.fitted == from_csv.fitted
    np.testing.assert_array_equal(from_parquet.arrays("test").features["x"], from_csv.arrays("test").features["x"])


def test_the_radix_selection_and_the_direct_one_split_alike(monkeypatch):
    from modelctl.data import splits

    rng = np.random.default_rng(3)
    labels = rng.choice(["a", "b", "c", "rare"], size=5000, p=[0.5, 0.3, 0.19, 0.01])
    fractions = {"train": 0.7, "validation": 0.2, "test": 0.1}
    direct = [assign_splits(5000, fractions, seed=8), assign_splits(5000, fractions, seed=8, labels=labels,
                                                                    stratify=True)]
    monkeypatch.setattr(splits, "_DIRECT_ROWS", 0)
    monkeypatch.setattr(splits, "_BLOCK", 999)
    radix = [assign_splits(5000, fractions, seed=8), assign_splits(5000, fractions, seed=8, labels=labels,
                                                                   stratify=True)]
    for mine, theirs in zip(direct, radix):
        np.testing.assert_array_equal(mine, theirs)
