"""Data fingerprints in run.json: what they record and how two records differ. `compare` and `eval` on runs
whose data changed are tested in test_dvc_recipe.py, where a pipeline's data changes between two runs."""

from __future__ import annotations

import json
import os
import shutil

from conftest import ROOT
from modelctl.data import fingerprints
from modelctl.data.fingerprints import fingerprint

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
    from modelctl.data.cache import DataCache
    from modelctl.data.fingerprints import fingerprint
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


def test_the_content_hash_sees_every_segment(tmp_path, monkeypatch):
    """Segments are hashed by several threads; a changed byte anywhere changes the hash, nothing else does."""
    monkeypatch.setattr(fingerprints, "_SEGMENT", 1000)
    monkeypatch.setattr(fingerprints, "_BLOCK", 300)
    path = tmp_path / "blob.bin"
    data = bytes(range(256)) * 20
    path.write_bytes(data)
    first = fingerprint(path)
    assert fingerprint(path) == first and first[:2] == (str(path.resolve()), 5120)
    stat = path.stat()
    for position in (0, 999, 1000, 4321, 5119):
        changed = bytearray(data)
        changed[position] ^= 1
        path.write_bytes(bytes(changed))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert fingerprint(path)[:3] == first[:3] and fingerprint(path)[3] != first[3], position
    path.write_bytes(b"")
    assert fingerprint(path)[1] == 0


def test_a_remembered_hash_is_used_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    """The content hash is remembered with the file's stat; a write that keeps size and modification time still
    changes the status-change time, so the file is hashed again."""
    monkeypatch.setattr(fingerprints, "_SETTLED_NS", 0)
    path = tmp_path / "blob.bin"
    path.write_bytes(b"abcdef" * 100)
    memo = tmp_path / "hashes"
    first = fingerprint(path, memo)
    assert first == fingerprint(path) and len(list(memo.iterdir())) == 1
    hashed = []
    original = fingerprints._content_hash
    monkeypatch.setattr(fingerprints, "_content_hash", lambda *args: hashed.append(args) or original(*args))
    assert fingerprint(path, memo) == first and not hashed  # remembered: not read again
    stat = path.stat()
    path.write_bytes(b"abcdeF" * 100)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    changed = fingerprint(path, memo)
    assert changed[:3] == first[:3] and changed[3] != first[3] and len(hashed) == 1
    assert changed == fingerprint(path)


def test_a_file_changed_just_before_it_is_hashed_is_not_remembered(tmp_path):
    """Within `_SETTLED_NS` of its last change a file could change again inside the clock's resolution."""
    path = tmp_path / "blob.bin"
    path.write_bytes(b"x" * 10)
    fingerprint(path, tmp_path / "hashes")
    assert not (tmp_path / "hashes").exists()


def test_one_fingerprint_without_reading_and_a_folder_s_content_digest(tmp_path):
    """Size and time alone when the content is not read; a folder's digest follows its files' contents and
    relative paths, not where it is or when it was written."""
    from modelctl.data.fingerprints import content_digest, fingerprint

    path = tmp_path / "a" / "model.bin"
    path.parent.mkdir()
    path.write_bytes(b"weights")
    quick = fingerprint(path, content=False)
    assert quick.digest is None and quick[:3] == fingerprint(path)[:3]
    assert json.loads(json.dumps(fingerprint(path))) == list(fingerprint(path))
    assert content_digest(path) == fingerprint(path).digest
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    assert content_digest(tmp_path / "a") == content_digest(tmp_path / "b")
    (tmp_path / "b" / "model.bin").rename(tmp_path / "b" / "renamed.bin")
    assert content_digest(tmp_path / "a") != content_digest(tmp_path / "b")
