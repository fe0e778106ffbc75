"""Order never leaks into training: data sorted by its label and larger than the memory budget trains as the same
data held in memory does, read in parts or pieces in a permuted order and shuffled in windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import quiet_console
from modelctl.data import pipeline
from modelctl.data.budget import Budget
from modelctl.data.cache import DataCache
from modelctl.data.formats import delimited
from modelctl.data.pipeline import prepare
from modelctl.data.reading import LabelRuns
from modelctl.data.sources import open_source
from modelctl.data.stores import EntryOrigin, HeldStore, SourceOrigin, StreamedStore
from modelctl.runs import read_json
from modelctl.spec.validate import load_spec

TABLE = """
modelctl: 1
name: sorted-table
seed: 2
data:
  source: {format: csv, path: sorted.csv}
  features:
    x: {type: numeric, columns: "f*", preprocessing: [standardize]}
  labels:
    y: {column: y, type: categorical}
  split: %(split)s
  batch_size: 32
  shuffle_buffer: 100
model:
  layers:
    - dense: {units: 32, activation: relu}
    - dense: {units: 4, activation: softmax}
training:
  epochs: 4
  optimizer: {type: adam, learning_rate: 0.01}
  metrics: [accuracy]
  early_stopping: false
"""

IMAGES = """
modelctl: 1
name: sorted-images
seed: 3
data:
  source: {format: image_folder, path: images}
  features:
    image: {type: image, size: [8, 8], channels: 3, preprocessing: [{rescale: 0.00392157}]}
  labels:
    label: {column: label, type: categorical}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  batch_size: 16
  shuffle_buffer: 40
model:
  layers:
    - conv2d: {filters: 8, kernel_size: 3, activation: relu}
    - global_average_pooling2d
    - dense: {units: 4, activation: softmax}
training:
  epochs: 6
  optimizer: {type: adam, learning_rate: 0.02}
  metrics: [accuracy]
  early_stopping: false
"""


def _sorted_table(folder: Path, rows: int = 4000) -> Path:
    """Four classes of six noisy features around a centre each (about 90 % separable), sorted by class."""
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=1.2, size=(4, 6))
    labels = np.sort(rng.integers(0, 4, size=rows))
    values = centres[labels] + rng.normal(size=(rows, 6))
    lines = ["f0,f1,f2,f3,f4,f5,y"] + [",".join(f"{value:.4f}" for value in row) + f",c{label}"
                                       for row, label in zip(values, labels)]
    path = folder / "sorted.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _sorted_images(folder: Path, per_class: int = 120) -> None:
    """Four classes of 8x8 pictures told apart by their colour through noise, one sub-folder each (read class
    after class, as every image folder is)."""
    from PIL import Image

    rng = np.random.default_rng(1)
    colours = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40]])
    for label, colour in enumerate(colours):
        (folder / "images" / f"c{label}").mkdir(parents=True)
        for index in range(per_class):
            pixels = np.clip(colour + rng.normal(scale=70, size=(8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(folder / "images" / f"c{label}" / f"{index:04d}.png")


SMALL = {"CACHE_BYTES": 40_000, "EVALUATION_BYTES": 0, "PIECE_BYTES": 500}
"""A memory budget far below the data (about 100 KB encoded), with pieces of a few examples (hundreds of pieces,
so that a window of 64 holds a fifth of the data or less)."""


def _small_budget(monkeypatch) -> None:
    for name, value in SMALL.items():
        monkeypatch.setattr(pipeline, name, value)
    monkeypatch.setattr(delimited, "PART_BYTES", 16_000)  # the CSV file (300 KB) in blocks, as a large one is


def test_label_runs_are_followed_across_chunks():
    runs = LabelRuns()
    for chunk in (["a", "a", "b"], ["b", "b"], ["b", "c"], ["c"]):
        runs.add(np.array(chunk, dtype=object))
    assert (runs.longest, runs.value) == (4, "b")
    runs.add(np.array(["c"] * 3, dtype=object))
    assert (runs.longest, runs.value) == (5, "c")


def test_csv_parquet_and_folder_parts_read_alone_give_the_rows_of_a_whole_read(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "PART_BYTES", 16_000)
    _sorted_table(tmp_path)
    csv = open_source({"format": "csv", "path": "sorted.csv"}, tmp_path)
    whole = np.concatenate([batch["f0"] for batch in csv.batches(["f0", "y"], rows=500)])
    parts = csv.parts()
    assert len(parts) > 10 and sum(rows for _, rows in parts) == len(whole) == 4000
    alone = [np.concatenate([batch["f0"] for batch in view.batches(["f0", "y"], rows=500)]) for view, _ in parts]
    assert [len(values) for values in alone] == [rows for _, rows in parts]
    np.testing.assert_array_equal(np.concatenate(alone), whole)

    import pyarrow.csv
    import pyarrow.parquet

    pyarrow.parquet.write_table(pyarrow.csv.read_csv(tmp_path / "sorted.csv"), tmp_path / "sorted.parquet",
                                row_group_size=300)
    parquet = open_source({"format": "parquet", "path": "sorted.parquet"}, tmp_path)
    assert parquet.parts() == []  # not read through yet: the parts' rows are not known
    np.testing.assert_array_equal(np.concatenate([batch["f0"] for batch in parquet.batches(["f0"])]), whole)
    groups = parquet.parts()
    assert [rows for _, rows in groups] == [300] * 13 + [100]
    np.testing.assert_array_equal(np.concatenate([batch["f0"] for view, _ in groups for batch in view.batches(["f0"])]),
                                  whole)

    _sorted_images(tmp_path, per_class=40)
    folder = open_source({"format": "image_folder", "path": "images"}, tmp_path)
    list(folder.batches(["image", "label"]))
    listed = [(view.files, view.labels) for view, _ in folder.parts()]
    assert [len(files) for files, _ in listed] == [64, 64, 32]
    assert sum((labels for _, labels in listed), []) == folder.labels


def test_a_csv_with_quotes_is_one_part(tmp_path, monkeypatch):
    """A quoted value may hold a line break, so blocks cut at line breaks could cut a record."""
    monkeypatch.setattr(delimited, "PART_BYTES", 1_000)
    lines = ["a,b"] + [f'{index},"x{index}"' for index in range(500)]
    (tmp_path / "quoted.csv").write_text("\n".join(lines) + "\n")
    source = open_source({"format": "csv", "path": "quoted.csv"}, tmp_path)
    list(source.batches())
    assert source.parts() == []


@pytest.mark.parametrize("cache", [True, False], ids=["from-the-cache", "from-the-source"])
def test_streamed_epochs_mix_data_sorted_by_its_label(tmp_path, monkeypatch, cache):
    """Every training batch of a streamed epoch holds examples of several classes, though the file holds runs of
    about 1,000 rows of one class and the shuffle buffer 100; each epoch another order; `train` is told."""
    _small_budget(monkeypatch)
    _sorted_table(tmp_path)
    (tmp_path / "spec.yaml").write_text(TABLE % {"split": "{train: 1.0, validation: 0.0, test: 0.0}"})
    prepared = prepare(load_spec(tmp_path / "spec.yaml"), cache=None if cache else DataCache(enabled=False))
    store = prepared.store
    assert isinstance(store, StreamedStore)
    assert isinstance(store.origin, EntryOrigin if cache else SourceOrigin)
    epochs = [list(store.epoch_batches("train", epoch)) for epoch in (0, 1)]
    for batches in epochs:
        assert sum(len(batch) for batch in batches) == 4000
        classes = [len(np.unique(batch.targets["y"])) for batch in batches[:-1]]
        assert min(classes) >= 2 and np.mean(classes) > 3.2
    assert not np.array_equal(epochs[0][0].features["x"], epochs[1][0].features["x"])
    where = "pieces of the prepared-data cache entry" if cache else "source's"
    [notice] = prepared.notices
    assert notice.startswith("data: sorted by the label column 'y' (runs of up to ") and where in notice
    assert "more than the 100-example shuffle buffer mixes): each epoch reads the " in notice
    assert notice.endswith("in a new order and shuffles it in windows of at least 100 examples and 64 pieces") or \
        notice.endswith(f"{Budget().interleave} at a time and shuffles it in windows of at least 100 examples and "
                        "64 pieces")
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 10**8)
    held = prepare(load_spec(tmp_path / "spec.yaml"))
    assert isinstance(held.store, HeldStore) and held.notices == []  # held examples are permuted whole


def test_a_stratified_split_of_streamed_data_stays_stratified(tmp_path, monkeypatch):
    _small_budget(monkeypatch)
    _sorted_table(tmp_path)
    (tmp_path / "spec.yaml").write_text(TABLE % {"split": "{train: 0.6, validation: 0.2, test: 0.2, "
                                                          "stratify: true}"})
    document = load_spec(tmp_path / "spec.yaml")
    streamed = prepare(document, cache=DataCache(enabled=False))
    assert isinstance(streamed.store, StreamedStore)
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 10**8)
    held = prepare(document)
    assert isinstance(held.store, HeldStore)
    labels = np.loadtxt(tmp_path / "sorted.csv", delimiter=",", skiprows=1, usecols=6, dtype=str)
    shares = {name: np.mean(labels == name) for name in np.unique(labels)}
    for split in ("train", "validation", "test"):
        counts = np.bincount(streamed.arrays(split).targets["y"].reshape(-1), minlength=4)
        np.testing.assert_array_equal(counts, np.bincount(held.arrays(split).targets["y"].reshape(-1), minlength=4))
        for index, name in enumerate(sorted(shares)):
            assert abs(counts[index] - shares[name] * counts.sum()) <= 1
        seen = [len(np.unique(batch.targets["y"])) for batch in streamed.store.epoch_batches("train", 0)] \
            if split == "train" else [4]
        assert min(seen[:-1] or [4]) >= 2


def _train(spec: Path, folder: Path, cache: bool) -> tuple[float, float, int]:
    """(final training-split accuracy, last epoch's training accuracy, training examples) of `modelctl train`."""
    from modelctl.training.trainer import train

    result = train(load_spec(spec), folder, quiet_console(), quiet=True,
                   cache=None if cache else DataCache(enabled=False))
    return result.metrics["train"]["accuracy"], result.history[-1]["accuracy"], read_json(
        result.run_dir / "run.json")["examples"]["train"]


@pytest.mark.slow
@pytest.mark.parametrize("cache", [True, False], ids=["from-the-cache", "from-the-source"])
@pytest.mark.parametrize("family", ["table", "images"])
def test_sorted_data_larger_than_memory_trains_as_the_same_data_held(tmp_path, monkeypatch, family, cache):
    """A label-sorted CSV and a class-sorted image folder, larger than a small memory budget: the final accuracy on
    the training split is within 2 points of the same data held in memory (and permuted whole), and the last
    epoch's training accuracy agrees with the final evaluation within 5 points."""
    if family == "table":
        _sorted_table(tmp_path)
        (tmp_path / "spec.yaml").write_text(TABLE % {"split": "{train: 1.0, validation: 0.0, test: 0.0}"})
    else:
        _sorted_images(tmp_path)
        (tmp_path / "spec.yaml").write_text(IMAGES)
    spec = tmp_path / "spec.yaml"
    reference, _, count = _train(spec, tmp_path / "held", cache=True)
    _small_budget(monkeypatch)
    streamed = prepare(load_spec(spec), cache=None if cache else DataCache(enabled=False))
    assert isinstance(streamed.store, StreamedStore) and streamed.notices
    final, last_epoch, streamed_count = _train(spec, tmp_path / "streamed", cache=cache)
    assert streamed_count == count
    assert reference > 0.8, "the task is learnable"
    assert abs(final - reference) <= 0.02, (final, reference)
    assert abs(last_epoch - final) <= 0.05, (last_epoch, final)


def test_a_csv_whose_header_alone_is_quoted_is_read_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(delimited, "PART_BYTES", 1_000)
    lines = ['"a","b"'] + [f"{index},{index * 2}" for index in range(500)]
    (tmp_path / "quoted.csv").write_text("\n".join(lines) + "\n")
    source = open_source({"format": "csv", "path": "quoted.csv"}, tmp_path)
    whole = np.concatenate([batch["a"] for batch in source.batches()])
    parts = source.parts()
    assert len(parts) > 3
    np.testing.assert_array_equal(np.concatenate([batch["a"] for view, _ in parts for batch in view.batches()]),
                                  whole)
