"""The data pipeline: statistics from the training split only, reproducible splits, bad data named clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelctl.data.errors import DataError
from modelctl.data.pipeline import prepare
from modelctl.errors import SpecError
from modelctl.spec.validate import load_spec

HEADER = """
modelctl: 1
name: pipeline
seed: 9
data:
  source: {format: csv, path: table.csv}
  features:
    x: {type: numeric, columns: [a, b], preprocessing: [standardize]%(missing)s}
  labels:
    y: {column: y, type: categorical%(classes)s}
  split: {train: 0.6, validation: 0.2, test: 0.2}
  batch_size: 4
  on_bad_rows: %(bad)s
model:
  layers:
    - dense: {units: 2, activation: softmax}
"""


def _table(path: Path, rows: list[str]) -> None:
    path.write_text("a,b,y\n" + "\n".join(rows) + "\n")


def _spec(tmp_path: Path, missing: str = "", classes: str = "", bad: str = "error"):
    text = HEADER % {"missing": missing, "classes": classes, "bad": bad}
    (tmp_path / "spec.yaml").write_text(text)
    return load_spec(tmp_path / "spec.yaml")


def _rows(count: int = 50) -> list[str]:
    return [f"{index},{index * 2 % 7},{'p' if index % 2 else 'q'}" for index in range(count)]


def test_statistics_come_from_the_training_split_only(tmp_path):
    _table(tmp_path / "table.csv", _rows())
    prepared = prepare(_spec(tmp_path))
    train = prepared.arrays("train").features["x"].astype(np.float64)
    step = prepared.fitted.features["x"].entry["steps"][0]
    np.testing.assert_allclose(step["mean"], train.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(step["std"], train.std(axis=0), rtol=1e-6)
    everything = np.array([[index, index * 2 % 7] for index in range(50)], dtype=np.float64)
    assert not np.allclose(step["mean"], everything.mean(axis=0))
    assert prepared.counts == {"train": 30, "validation": 10, "test": 10}


def test_the_same_seed_gives_the_same_split_and_another_seed_another(tmp_path):
    _table(tmp_path / "table.csv", _rows())
    first = prepare(_spec(tmp_path)).arrays("test").features["x"]
    again = prepare(_spec(tmp_path)).arrays("test").features["x"]
    np.testing.assert_array_equal(first, again)
    text = (tmp_path / "spec.yaml").read_text().replace("seed: 9", "seed: 10")
    (tmp_path / "spec.yaml").write_text(text)
    other = prepare(load_spec(tmp_path / "spec.yaml")).arrays("test").features["x"]
    assert not np.array_equal(first, other)


def test_a_word_in_a_numeric_column_names_file_row_and_column(tmp_path):
    rows = _rows()
    rows[6] = "6,seven,q"
    _table(tmp_path / "table.csv", rows)
    with pytest.raises(DataError) as caught:
        prepare(_spec(tmp_path))
    assert str(caught.value) == f"{tmp_path / 'table.csv'}:row 8: column 'b': 'seven' is not a number"


def test_skipping_bad_rows_counts_them_by_reason(tmp_path):
    rows = _rows()
    rows[6] = "6,seven,q"
    rows[9] = "9,nine,p"
    _table(tmp_path / "table.csv", rows)
    prepared = prepare(_spec(tmp_path, bad="skip"))
    assert sum(prepared.counts.values()) == 48
    assert prepared.skipped == {"column 'b': not a number": 2}


def test_a_missing_value_is_an_error_unless_a_strategy_fills_it(tmp_path):
    rows = _rows()
    rows[3] = "3,,p"
    _table(tmp_path / "table.csv", rows)
    with pytest.raises(DataError) as caught:
        prepare(_spec(tmp_path))
    assert str(caught.value) == (f"{tmp_path / 'table.csv'}:row 5: column 'b': numeric feature 'x' has a missing "
                                 "value; set `missing: {strategy: mean}` (or median, constant, drop) to fill or drop "
                                 "missing values")
    filled = prepare(_spec(tmp_path, missing=", missing: {strategy: constant, value: -1}"))
    assert filled.fitted.features["x"].entry["steps"][0] == {"op": "fill", "values": [-1.0, -1.0]}
    dropped = prepare(_spec(tmp_path, missing=", missing: {strategy: drop}"))
    assert sum(dropped.counts.values()) == 49


def test_a_label_outside_the_declared_classes_is_named(tmp_path):
    rows = _rows()
    rows[5] = "5,3,r"
    _table(tmp_path / "table.csv", rows)
    with pytest.raises(DataError) as caught:
        prepare(_spec(tmp_path, classes=", classes: [p, q]"))
    assert str(caught.value) == (f"{tmp_path / 'table.csv'}:row 7: column 'y': label 'y' has value 'r', which is "
                                 "not one of its classes: 'p', 'q'")


def test_a_missing_column_lists_the_columns(tmp_path):
    _table(tmp_path / "table.csv", _rows())
    document = _spec(tmp_path)
    (tmp_path / "table.csv").write_text("a,c,y\n1,2,p\n")  # changed since the spec was validated
    with pytest.raises(DataError, match=r"feature 'x': no column 'b'. Available columns: 'a', 'c', 'y'"):
        prepare(document)
    with pytest.raises(SpecError) as raised:
        _spec(tmp_path)
    assert [str(item) for item in raised.value.diagnostics] == [
        f"{tmp_path / 'spec.yaml'}:8:37: $.data.features.x.columns[1]: 'b' is not a column of table.csv. Expected "
        "one of 'a', 'c', 'y'."]


def test_an_image_that_cannot_be_decoded_is_named_or_skipped(tmp_path, files):
    import shutil

    shutil.copytree(files.root / "images", tmp_path / "images")
    (tmp_path / "images" / "1" / "broken.png").write_bytes(b"\x89PNG not really")
    spec = """
modelctl: 1
name: images
data:
  source: {format: image_folder, path: images}
  features:
    image: {type: image, size: [8, 8], channels: 1}
  labels:
    label: {column: label, type: categorical}
  split: {train: 0.5, validation: 0.25, test: 0.25}
  on_bad_rows: %s
model:
  layers:
    - flatten
    - dense: {units: 3, activation: softmax}
"""
    (tmp_path / "spec.yaml").write_text(spec % "error")
    with pytest.raises(DataError, match=r"images/1/broken.png: cannot be decoded as an image"):
        prepare(load_spec(tmp_path / "spec.yaml"))
    (tmp_path / "spec.yaml").write_text(spec % "skip")
    prepared = prepare(load_spec(tmp_path / "spec.yaml"))
    assert sum(prepared.counts.values()) == 12
    assert prepared.skipped == {"image cannot be decoded": 1}


def test_streaming_without_cache_gives_the_same_examples(tmp_path, monkeypatch):
    import modelctl.data.pipeline as pipeline

    _table(tmp_path / "table.csv", _rows())
    cached = prepare(_spec(tmp_path))
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 0)
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)
    streamed = prepare(_spec(tmp_path))
    assert not streamed._cache and cached._cache
    np.testing.assert_array_equal(cached.arrays("train").features["x"], streamed.arrays("train").features["x"])
    batches = list(streamed.dataset("train", ["y"], training=True, epochs=1).take(streamed.steps("train")))
    seen = np.concatenate([features["x"].numpy() for features, _ in batches])
    assert sorted(map(tuple, seen)) == sorted(map(tuple, cached.arrays("train").features["x"]))


def test_every_split_is_held_when_all_fit_else_only_the_evaluation_splits(tmp_path, monkeypatch):
    import modelctl.data.pipeline as pipeline

    _table(tmp_path / "table.csv", _rows())
    everything = prepare(_spec(tmp_path))
    sizes = {split: pipeline._nbytes(everything.arrays(split)) for split in ("train", "validation", "test")}
    monkeypatch.setattr(pipeline, "CACHE_BYTES", sum(sizes.values()))
    assert sorted(prepare(_spec(tmp_path))._cache) == ["test", "train", "validation"]
    monkeypatch.setattr(pipeline, "CACHE_BYTES", sum(sizes.values()) - 1)
    streamed = prepare(_spec(tmp_path))
    assert sorted(streamed._cache) == ["test", "validation"]
    assert streamed.counts == everything.counts
    for split in ("train", "validation", "test"):
        expected, found = everything.arrays(split), streamed.arrays(split)
        for name in expected.features:
            np.testing.assert_array_equal(found.features[name], expected.features[name])
        for name in expected.targets:
            np.testing.assert_array_equal(found.targets[name], expected.targets[name])
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", sizes["validation"] + sizes["test"] - 1)
    assert prepare(_spec(tmp_path))._cache == {}


@pytest.mark.parametrize("group_batches", [1, 3, 64])
def test_held_training_batches_follow_the_epoch_permutation_whatever_the_gather_groups(tmp_path, monkeypatch,
                                                                                        group_batches):
    import tensorflow as tf

    import modelctl.data.pipeline as pipeline

    monkeypatch.setattr(pipeline, "GROUP_BATCHES", group_batches)
    _table(tmp_path / "table.csv", _rows())
    prepared = prepare(_spec(tmp_path))
    held = prepared.arrays("train")
    count, size = len(held), prepared.batch_size
    assert count % size  # the last batch of an epoch is a partial one
    dataset = prepared.dataset("train", ["y"], training=True, initial_epoch=1, epochs=3)
    batches = list(dataset.take(2 * prepared.steps("train")))
    for epoch in (1, 2):
        key = tf.constant([prepared.seed, epoch], tf.int64)
        order = tf.random.experimental.index_shuffle(tf.range(count, dtype=tf.int64), key, count - 1).numpy()
        given = batches[(epoch - 1) * prepared.steps("train"):epoch * prepared.steps("train")]
        assert [len(targets) for _, targets in given] == [size] * (count // size) + [count % size]
        np.testing.assert_array_equal(np.concatenate([features["x"].numpy() for features, _ in given]),
                                      held.features["x"][order])
        np.testing.assert_array_equal(np.concatenate([targets.numpy() for _, targets in given]),
                                      held.targets["y"][order])
