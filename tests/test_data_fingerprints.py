"""Data fingerprints in run.json: what they record and how two records differ. `compare` and `eval` on runs
whose data changed are tested in test_dvc_recipe.py, where a pipeline's data changes between two runs."""

from __future__ import annotations

import shutil

from conftest import ROOT

SPEC = """
modelctl: 1
name: iris-data
seed: 5
data:
  source: {format: csv, path: iris.csv}
  features:
    x: {type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width], preprocessing: [standardize]}
  labels:
    species: {column: species, type: categorical}
  split: {train: 0.6, validation: 0.2, test: 0.2, stratify: true}
  batch_size: 16
model:
  layers:
    - dense: {units: 3, activation: softmax}
training:
  epochs: 1
  steps_per_epoch: 3
"""


def record(fingerprints, counts=None, classes=("a",)):
    """The data record of files, split counts and a fitted label of these `classes`."""
    from modelctl.data.fingerprints import data_record
    from modelctl.runs import Fitted

    fitted = Fitted.from_json({"features": {}, "labels": {"y": {"type": "categorical", "classes": list(classes)}}},
                              source="test")
    return data_record(fingerprints, counts or {"train": 6, "validation": 2, "test": 2}, fitted)


def test_records_of_the_same_data_do_not_differ():
    from modelctl.data.fingerprints import differences

    files = {"all": [["/d/a.csv", 10, 1_700_000_000_000_000_000, "ab"]]}
    assert differences(record(files), record(files)) == []
    assert differences(None, record(files)) == []  # a run trained before records were kept


def test_a_changed_file_split_and_preprocessing_are_each_named():
    from modelctl.data.fingerprints import differences

    old = record({"all": [["/d/a.csv", 10, 1_700_000_000_000_000_000, "ab"]]})
    new = record({"all": [["/d/a.csv", 12, 1_700_000_100_000_000_000, "cd"]]}, {"train": 7, "validation": 2,
                                                                               "test": 2}, ("b",))
    assert differences(old, new) == [
        "data.source: a.csv: content changed (10 -> 12 bytes, modified 2023-11-14T22:13:20+00:00 -> "
        "2023-11-14T22:15:00+00:00)",
        "train split: 6 -> 7 examples",
        "the fitted preprocessing differs (statistics, vocabularies or classes)"]
    assert differences(old, new, preprocessing=False) == [differences(old, new)[0]]


def test_unhashed_files_are_compared_by_size_and_time_and_sources_by_split():
    from modelctl.data.fingerprints import differences

    old = record({"train": [["/d/t.csv", 10, 5, None]], "test": [["/d/u.csv", 3, 5, None]]})
    same = record({"train": [["/d/t.csv", 10, 5, None]], "test": [["/d/u.csv", 3, 5, None]]})
    touched = record({"train": [["/d/t.csv", 10, 6, None]], "test": [["/d/u.csv", 3, 5, None]],
                      "validation": [["/d/v.csv", 1, 5, None]]})
    assert differences(old, same) == []
    hashed = record({"train": [["/d/t.csv", 10, 5, "ab"]], "test": [["/d/u.csv", 3, 5, "cd"]]})
    assert differences(hashed, same) == differences(same, hashed) == []  # a run trained or evaluated --no-cache
    assert differences(old, touched) == [
        "data.sources.train: t.csv: size or modification time changed (10 -> 10 bytes, modified "
        "1970-01-01T00:00:00+00:00 -> 1970-01-01T00:00:00+00:00; contents not hashed with the cache off)",
        "data.sources.validation: added"]


def test_prepared_data_records_the_cache_fingerprint_and_no_hash_with_the_cache_off(tmp_path):
    from modelctl.data.cache import DataCache, fingerprint
    from modelctl.data.pipeline import prepare
    from modelctl.spec.validate import load_spec

    shutil.copy(ROOT / "examples" / "iris" / "iris.csv", tmp_path / "iris.csv")
    (tmp_path / "spec.yaml").write_text(SPEC)
    document = load_spec(tmp_path / "spec.yaml")
    cached = prepare(document, cache=DataCache(tmp_path / "cache")).data_record()
    path, size, _, digest = fingerprint(tmp_path / "iris.csv")
    [listed] = cached["sources"]["all"]["files"]
    assert (listed["path"], listed["bytes"], listed["blake2b"]) == (path, size, digest)
    assert cached["counts"] == {"train": 90, "validation": 30, "test": 30}
    uncached = prepare(document, cache=DataCache(enabled=False)).data_record()
    assert uncached["sources"]["all"]["files"][0]["blake2b"] is None
    assert uncached["preprocessing_sha256"] == cached["preprocessing_sha256"]
