"""The prepared-data cache: a second run reads the prepared splits instead of the source, never a stale entry."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import iris_data, quiet_console
from modelctl.data import pipeline
from modelctl.data.cache import DataCache, default_folder, prune
from modelctl.data.pipeline import prepare
from modelctl.spec.validate import load_spec

TABLE = """
modelctl: 1
name: cached
seed: 5
data:
  source: {format: csv, path: table.csv}
  features:
    x: {type: numeric, columns: [a, b], preprocessing: [standardize]}
    word: {type: categorical, column: w}
  labels:
    y: {column: y, type: categorical}
  split: {train: 0.6, validation: 0.2, test: 0.2%(stratify)s}
%(extra)smodel:
  layers:
    - concatenate: {}
      inputs: [word, x]
    - dense: {units: 2, activation: softmax}
"""


def _table(folder: Path, rows: int = 60, shift: float = 0.0) -> Path:
    lines = ["a,b,w,y"] + [f"{index * 0.5 + shift:.1f},{(index * 7) % 11:.1f},{'uvw'[index % 3]},{'pq'[index % 2]}"
                           for index in range(rows)]
    path = folder / "table.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _spec(folder: Path, stratify: str = "", extra: str = "") -> Path:
    path = folder / "spec.yaml"
    path.write_text(TABLE % {"stratify": stratify, "extra": extra})
    return path


def _prepared(spec: Path, cache: DataCache, **options):
    return prepare(load_spec(spec, []), cache=cache, **options)


def _splits(prepared) -> dict:
    """Every split's features and targets as numpy arrays, by split."""
    result = {}
    for split in ("train", "validation", "test"):
        arrays = prepared.arrays(split)
        if arrays is None:
            result[split] = None
            continue
        result[split] = {**{f"f:{name}": values for name, values in arrays.features.items()},
                         **{f"t:{name}": values for name, values in arrays.targets.items()}}
    return result


def _assert_same(left: dict, right: dict) -> None:
    assert left.keys() == right.keys()
    for split in left:
        assert (left[split] is None) == (right[split] is None), split
        if left[split] is None:
            continue
        assert left[split].keys() == right[split].keys()
        for name in left[split]:
            assert left[split][name].dtype == right[split][name].dtype, (split, name)
            np.testing.assert_array_equal(left[split][name], right[split][name], err_msg=f"{split} {name}")


def _entries(cache: DataCache) -> list[str]:
    return sorted(path.name for path in cache.root.iterdir() if not path.name.startswith("."))


@pytest.fixture
def cache(tmp_path) -> DataCache:
    return DataCache(tmp_path / "cache")


def test_a_second_prepare_reads_the_cache_and_gives_the_same_examples(tmp_path, cache):
    _table(tmp_path)
    spec = _spec(tmp_path, stratify=", stratify: true")
    first = _prepared(spec, cache)
    assert first.cache_note == f"data cache: wrote {cache.root / _entries(cache)[0]}"
    second = _prepared(spec, cache)
    assert second.cache_note == f"data cache: read {cache.root / _entries(cache)[0]}"
    uncached = _prepared(spec, DataCache(enabled=False))
    assert uncached.cache_note == "data cache: off"
    assert first.fitted == second.fitted == uncached.fitted
    assert first.counts == second.counts == uncached.counts == {"train": 36, "validation": 12, "test": 12}
    assert second.labels["y"].classes == ["p", "q"]
    _assert_same(_splits(second), _splits(uncached))
    _assert_same(_splits(first), _splits(uncached))
    assert len(_entries(cache)) == 1


def test_no_cache_writes_nothing(tmp_path):
    _table(tmp_path)
    folder = tmp_path / "cache"
    prepared = _prepared(_spec(tmp_path), DataCache(folder, enabled=False))
    assert prepared.cache_note == "data cache: off" and not folder.exists()


@pytest.mark.parametrize("change", ["content", "size", "mtime"])
def test_a_changed_source_file_is_never_served_from_the_cache(tmp_path, cache, change):
    path = _table(tmp_path)
    spec = _spec(tmp_path)
    before = _prepared(spec, cache)
    stat = path.stat()
    if change == "content":  # same size, same modification time: only the content hash tells
        text = path.read_text()
        path.write_text(text.replace(",u,", ",z,", 1))
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    elif change == "size":
        _table(tmp_path, rows=61)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    else:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    after = _prepared(spec, cache)
    assert after.cache_note.startswith("data cache: wrote ")
    assert len(_entries(cache)) == 2
    _assert_same(_splits(after), _splits(_prepared(spec, DataCache(enabled=False))))
    if change == "content":
        def words(prepared):
            return {word for split in ("train", "validation", "test")
                    for word in prepared.arrays(split).features["word"].reshape(-1).tolist()}
        assert "z" in words(after) and "z" not in words(before)


@pytest.mark.parametrize(("extra", "stratify", "reused"), [
    ("  batch_size: 7\n  shuffle_buffer: 5\n", "", True),  # batching does not change the prepared examples
    ("  on_bad_rows: error\n  cache: true\n", "", True),  # the defaults, written out
    ("", ", seed: 3", False),
    ("", ", stratify: true", False),
    ("  on_bad_rows: skip\n", "", False),
])
def test_the_key_is_the_data_section_with_its_defaults(tmp_path, cache, extra, stratify, reused):
    _table(tmp_path)
    _prepared(_spec(tmp_path), cache)
    again = _prepared(_spec(tmp_path, stratify=stratify, extra=extra), cache)
    assert again.cache_note.startswith("data cache: read " if reused else "data cache: wrote ")
    assert len(_entries(cache)) == (1 if reused else 2)


def test_a_changed_feature_or_seed_is_not_served_from_the_cache(tmp_path, cache):
    _table(tmp_path)
    spec = _spec(tmp_path)
    first = _prepared(spec, cache)
    text = spec.read_text()
    spec.write_text(text.replace("preprocessing: [standardize]", "preprocessing: [min_max]"))
    assert _prepared(spec, cache).cache_note.startswith("data cache: wrote ")
    spec.write_text(text.replace("seed: 5", "seed: 6"))
    moved = _prepared(spec, cache)
    assert moved.cache_note.startswith("data cache: wrote ")
    assert moved.arrays("train").features["x"].tolist() != first.arrays("train").features["x"].tolist()
    assert len(_entries(cache)) == 3


def test_k_fold_folds_and_given_preprocessing_have_their_own_entries(tmp_path, cache):
    _table(tmp_path)
    spec = _spec(tmp_path)
    folds = [_prepared(spec, cache, fold=(index, 3)) for index in range(3)]
    assert len(_entries(cache)) == 3
    again = _prepared(spec, cache, fold=(1, 3))
    assert again.cache_note.startswith("data cache: read ")
    _assert_same(_splits(again), _splits(folds[1]))
    # A run's own preprocessing (eval, export, resume) reads the entry it was fitted in ...
    whole = _prepared(spec, cache)
    given = _prepared(spec, cache, fitted=json.loads(json.dumps(whole.fitted.to_json())))
    assert given.cache_note == whole.cache_note.replace("wrote", "read")
    # ... and other preprocessing is not served from it.
    other = json.loads(json.dumps(whole.fitted.to_json()))
    other["features"]["x"]["steps"][0]["mean"] = [0.0, 0.0]
    elsewhere = _prepared(spec, cache, fitted=other)
    assert elsewhere.cache_note.startswith("data cache: wrote ") and elsewhere.fitted.to_json() == other


@pytest.mark.parametrize("damage", ["truncated", "garbage record", "missing split", "other layout"])
def test_a_damaged_entry_is_written_again(tmp_path, cache, damage):
    _table(tmp_path)
    spec = _spec(tmp_path)
    first = _prepared(spec, cache)
    entry = cache.root / _entries(cache)[0]
    record = json.loads((entry / "entry.json").read_text())
    if damage == "truncated":
        data = (entry / "train.arrow").read_bytes()
        (entry / "train.arrow").write_bytes(data[:len(data) // 2])
    elif damage == "garbage record":
        (entry / "entry.json").write_text('{"format": 1, "key": ')
    elif damage == "missing split":
        (entry / "test.arrow").unlink()
    else:
        (entry / "entry.json").write_text(json.dumps({**record, "format": 0}))
    again = _prepared(spec, cache)
    assert again.cache_note == f"data cache: wrote {entry}"
    _assert_same(_splits(again), _splits(first))
    assert _prepared(spec, cache).cache_note == f"data cache: read {entry}"


def test_a_half_written_entry_is_not_read(tmp_path, cache):
    """A run killed while writing leaves only a temporary folder, never an entry under its key."""
    _table(tmp_path)
    spec = _spec(tmp_path)
    _prepared(spec, cache)
    entry = cache.root / _entries(cache)[0]
    entry.rename(cache.root / f".writing-{entry.name}-0000")
    assert _prepared(spec, cache).cache_note == f"data cache: wrote {entry}"


def test_data_larger_than_memory_streams_through_the_cache(tmp_path, cache, monkeypatch):
    """Held in memory or not, the cache gives the same chunks the source does, so epochs shuffle the same."""
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 200)
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 16)
    _table(tmp_path, rows=90)
    spec = _spec(tmp_path)
    uncached = _prepared(spec, DataCache(enabled=False))
    first = _prepared(spec, cache)
    second = _prepared(spec, cache)
    assert not uncached._cache and not first._cache and not second._cache
    assert second.cache_note.startswith("data cache: read ")
    entry = cache.root / _entries(cache)[0]
    assert json.loads((entry / "entry.json").read_text())["splits"]["train"]["batches"] == 6
    for prepared in (first, second):
        for split in ("train", "validation", "test"):
            got, want = list(prepared.chunks(split)), list(uncached.chunks(split))
            assert [len(part) for part in got] == [len(part) for part in want]
            for left, right in zip(got, want):
                np.testing.assert_array_equal(left.features["x"], right.features["x"])
                np.testing.assert_array_equal(left.targets["y"], right.targets["y"])
        assert [batch.targets["y"].tolist() for batch in prepared._shuffled("train", 2)] == \
            [batch.targets["y"].tolist() for batch in uncached._shuffled("train", 2)]


def test_skipped_rows_and_class_weights_come_back_from_the_cache(tmp_path, cache):
    _table(tmp_path)
    with open(tmp_path / "table.csv", "a") as handle:
        handle.write("oops,1.0,u,p\n")
    spec = _spec(tmp_path, extra="  on_bad_rows: skip\n")
    spec.write_text(spec.read_text() + "training:\n  class_weight: balanced\n")
    first = _prepared(spec, cache)
    second = _prepared(spec, cache)
    assert second.cache_note.startswith("data cache: read ")
    assert second.skipped == first.skipped == {"column 'a': not a number": 1}
    assert second._class_weights == first._class_weights and first._class_weights
    np.testing.assert_array_equal(second.arrays("train").weights, first.arrays("train").weights)


def test_the_oldest_entries_go_past_the_limit(tmp_path, cache):
    _table(tmp_path)
    spec = _spec(tmp_path)
    for seed in (1, 2, 3):
        spec.write_text(_spec(tmp_path).read_text().replace("seed: 5", f"seed: {seed}"))
        _prepared(spec, cache)
        newest = cache.root / _entries(cache)[-1]
    entries = sorted((cache.root / name for name in _entries(cache)),
                     key=lambda folder: (folder / "entry.json").stat().st_mtime_ns)
    for age, folder in enumerate(entries):
        os.utime(folder / "entry.json", (1000 + age, 1000 + age))
    one = sum(path.stat().st_size for path in entries[-1].iterdir())
    prune(cache.root, limit=one)
    assert [cache.root / name for name in _entries(cache)] == [entries[-1]]
    assert newest.exists() or entries[-1] != newest


def test_the_cache_folder_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MODELCTL_CACHE_DIR", str(tmp_path / "here"))
    assert default_folder() == tmp_path / "here"
    assert DataCache().root == tmp_path / "here" / "data"
    monkeypatch.delenv("MODELCTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_folder() == tmp_path / "xdg" / "modelctl"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_folder() == Path.home() / ".cache" / "modelctl"


def test_the_suite_never_writes_the_users_cache(data_cache_folder):
    assert Path(os.environ["MODELCTL_CACHE_DIR"]) == data_cache_folder
    assert default_folder() == data_cache_folder
    assert not str(data_cache_folder).startswith(str(Path.home() / ".cache"))


# Training and the command line ------------------------------------------------------------------------------

SPEC = f"""
modelctl: 1
name: iris
seed: 11
{iris_data()}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dropout: 0.2
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 2
  optimizer: {{type: adam, learning_rate: 0.01}}
  metrics: [accuracy]
"""


@pytest.mark.slow
def test_training_from_the_cache_gives_the_same_weights_and_metrics(write_spec, tmp_path):
    from modelctl.model.saving import load_model
    from modelctl.training.trainer import train

    document = load_spec(write_spec(SPEC), [])
    cache = DataCache(tmp_path / "cache")
    results = [train(document, tmp_path / "runs", quiet_console(), quiet=True, cache=option)
               for option in (DataCache(enabled=False), cache, cache)]
    assert len(_entries(cache)) == 1
    plain = results[0]
    for result in results[1:]:
        assert result.metrics == plain.metrics and result.history == plain.history
        for got, want in zip(load_model(result.run_dir / "model.keras").get_weights(),
                             load_model(plain.run_dir / "model.keras").get_weights()):
            np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_train_eval_and_export_say_where_the_cache_is(write_spec, tmp_path, runner):
    from modelctl.cli.app import app

    spec = write_spec(SPEC)
    folder = tmp_path / "cache"
    dry = runner.invoke(app, ["train", str(spec), "--dry-run", "--quiet", "--cache-dir", str(folder)])
    assert dry.exit_code == 0, dry.output
    entry = folder / "data" / _entries(DataCache(folder))[0]
    assert f"data cache: wrote {entry}\n" in dry.output
    trained = runner.invoke(app, ["train", str(spec), "--cache-dir", str(folder), "--output", str(tmp_path / "runs"),
                                  "--set", "training.epochs=1"])
    assert trained.exit_code == 0, trained.output
    assert f"data cache: read {entry}\n" in trained.output
    off = runner.invoke(app, ["train", str(spec), "--dry-run", "--no-cache", "--cache-dir", str(tmp_path / "none")])
    assert off.exit_code == 0 and "data cache: off\n" in off.output and not (tmp_path / "none").exists()
    run_dir = next((tmp_path / "runs" / "iris").iterdir())
    evaluated = runner.invoke(app, ["eval", str(run_dir), "--format", "json", "--no-cache"])
    assert evaluated.exit_code == 0, evaluated.output
    cached = runner.invoke(app, ["eval", str(run_dir), "--format", "json", "--cache-dir", str(folder)])
    assert cached.exit_code == 0, cached.output
    assert json.loads(cached.output)["metrics"] == json.loads(evaluated.output)["metrics"]
    assert _entries(DataCache(folder)) == [entry.name]  # eval read the training entry


def test_validation_and_test_are_held_from_the_cache_as_from_the_source(tmp_path, cache, monkeypatch):
    """When only the evaluation splits fit in memory, they are held and the training split streams: the same
    with the cache."""
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 3000)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 16)
    _table(tmp_path, rows=90)
    spec = _spec(tmp_path)
    uncached = _prepared(spec, DataCache(enabled=False))
    assert sorted(uncached._cache) == ["test", "validation"]
    for prepared in (_prepared(spec, cache), _prepared(spec, cache)):
        assert sorted(prepared._cache) == ["test", "validation"]
        _assert_same(_splits(prepared), _splits(uncached))
        assert [batch.targets["y"].tolist() for batch in prepared._shuffled("train", 1)] == \
            [batch.targets["y"].tolist() for batch in uncached._shuffled("train", 1)]
    assert prepared.cache_note.startswith("data cache: read ")
