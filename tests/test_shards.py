"""Sharded reading: each worker's training batches are its own part of the training split, and together the
workers' parts are the training split, once each, in as many batches on every worker."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from modelctl.data.pipeline import prepare
from modelctl.data.shards import Shard, lay_out
from modelctl.spec.validate import load_spec

SPEC = """
modelctl: 1
name: shards
seed: 5
data:
  source: {{format: {format}, path: '{path}'}}
  features:
    x: {{type: numeric, columns: [id, a], missing: {{strategy: drop}}}}
  labels:
    y: {{column: y, type: categorical}}
  split: {{train: 0.7, validation: 0.15, test: 0.15}}
  batch_size: 6
  cache: {cache}
  shuffle_buffer: 8
model:
  layers:
    - dense: {{units: 2, activation: softmax}}
"""


def _write(tmp_path: Path, sizes: list[int], holes: bool, fmt: str = "csv") -> str:
    """CSV (or Parquet) files of `sizes` rows whose `id` column numbers the rows of all of them from 0, with
    (`holes`) a missing value in every seventh row, which is then not an example; the source path."""
    import pyarrow
    import pyarrow.parquet

    first = 0
    for index, size in enumerate(sizes):
        ids = range(first, first + size)
        columns = {"id": list(ids), "a": [None if holes and row % 7 == 3 else float(row % 5) for row in ids],
                   "y": ["p" if row % 3 else "q" for row in ids]}
        if fmt == "parquet":
            pyarrow.parquet.write_table(pyarrow.table(columns), tmp_path / f"part-{index}.parquet", row_group_size=7)
        else:
            rows = [f"{row},{'' if value is None else value},{label}"
                    for row, value, label in zip(columns["id"], columns["a"], columns["y"])]
            (tmp_path / f"part-{index}.csv").write_text("id,a,y\n" + "\n".join(rows) + "\n")
        first += size
    return f"part-*.{fmt}" if len(sizes) > 1 else f"part-0.{fmt}"


def _ids_by_file(tmp_path: Path) -> dict[str, list[int]]:
    import pyarrow.parquet

    found = {}
    for file in sorted(tmp_path.glob("part-*.csv")):
        with open(file, newline="") as handle:
            found[str(file.resolve())] = [int(row["id"]) for row in csv.DictReader(handle)]
    for file in sorted(tmp_path.glob("part-*.parquet")):
        found[str(file.resolve())] = pyarrow.parquet.read_table(file).column("id").to_pylist()
    return found


def _epoch(prepared, epoch: int, initial_epoch: int = 0) -> list[np.ndarray]:
    """The batches (their ids) a worker gives in epoch `epoch` of a run of 3 epochs started (or resumed) at
    `initial_epoch`."""
    dataset = prepared.dataset("train", ["y"], training=True, initial_epoch=initial_epoch, epochs=3)
    pieces = prepared.layout.pieces()
    batches = list(dataset.skip((epoch - initial_epoch) * pieces).take(pieces).as_numpy_iterator())
    return [features["x"][:, 0].astype(int) for features, _ in batches]


@pytest.mark.parametrize("sizes, route, cache, holes, fmt", [
    ([57], "rows", "true", False, "csv"),
    ([57], "rows", "false", False, "csv"),
    ([57], "rows", "false", True, "csv"),
    ([57], "rows", "false", True, "parquet"),
    ([20, 9, 17, 11], "files", "true", False, "csv"),
    ([20, 9, 17, 11], "files", "true", True, "csv"),
    ([20, 9, 17, 11], "files", "false", False, "csv"),
    ([20, 9, 17, 11], "files", "false", True, "parquet"),
], ids=["rows-held", "rows-streamed", "rows-streamed-bad-rows", "rows-streamed-parquet", "files-held",
        "files-held-bad-rows", "files-streamed", "files-streamed-parquet"])
def test_each_worker_reads_its_own_part_and_together_the_training_split(tmp_path, sizes, route, cache, holes, fmt):
    """Rows with a missing value (dropped) are not examples, so no shard counts them."""
    path = _write(tmp_path, sizes, holes, fmt)
    (tmp_path / "spec.yaml").write_text(SPEC.format(format=fmt, path=path, cache=cache))
    document = load_spec(tmp_path / "spec.yaml")
    whole = prepare(document)
    training = sorted(whole.arrays("train").features["x"][:, 0].astype(int).tolist())
    assert any(row % 7 == 3 for row in training) != holes
    by_file = _ids_by_file(tmp_path)
    workers = [prepare(document, shard=Shard(worker, 2)) for worker in range(2)]
    assert [worker.fitted for worker in workers] == [whole.fitted, whole.fitted]
    assert {worker.layout.steps for worker in workers} == {workers[0].steps("train")}
    shards = []
    for worker in workers:
        record = worker.layout.record()
        first = _epoch(worker, 0)
        assert len(first) == worker.layout.steps
        assert all(len(batch) <= 3 for batch in first)  # the global batch of 6 over 2 workers
        ids = np.concatenate(first).tolist()
        assert len(ids) == len(set(ids)) == record["examples"]
        # Re-read from the files: the rows or files the record names hold exactly these training examples.
        if route == "files":
            named = [row for file in record["files"] for row in by_file[file]]
        else:
            start, end = (int(number) for number in record["rows"].split("-"))
            named = list(range(start - 1, end))  # row numbers count from 1; ids from 0
        assert sorted(ids) == sorted(set(named) & set(training))
        second = np.concatenate(_epoch(worker, 1)).tolist()
        assert sorted(second) == sorted(ids) and second != ids  # shuffled again, within the shard
        assert np.concatenate(_epoch(worker, 1, initial_epoch=1)).tolist() == second  # as when resumed
        shards.append(set(ids))
    assert not shards[0] & shards[1]
    assert sorted(shards[0] | shards[1]) == training
    if route == "files":
        assert sorted(file for worker in workers for file in worker.layout.record()["files"]) == sorted(by_file)
    else:
        ranges = [worker.layout.record()["rows"] for worker in workers]
        assert ranges[0].startswith("1-") and ranges[1].endswith(f"-{sum(sizes)}")
        assert int(ranges[0].split("-")[1]) + 1 == int(ranges[1].split("-")[0])


def test_row_ranges_give_every_step_the_global_batch_a_single_process_gives():
    """41 training examples in global batches of 8 over 2 workers: 6 steps, the last holding 1 example, which
    worker 0 takes while worker 1 gives an empty batch."""
    train_rows = np.ones(41, dtype=bool)
    layouts = [lay_out(Shard(worker, 2), train_rows, file_rows=None, file_names=[], by_files=False,
                       batch_size=8) for worker in range(2)]
    assert [layout.steps for layout in layouts] == [6, 6]
    assert layouts[0].examples == [21, 20]
    assert [layout.intervals[layout.shard.worker] for layout in layouts] == [[(1, 21)], [(22, 41)]]


def test_whole_files_go_to_the_worker_with_the_fewest_examples_and_the_largest_shard_sets_the_steps():
    file_rows = [10, 30, 5, 25]
    train_rows = np.ones(sum(file_rows), dtype=bool)
    train_rows[[0, 1]] = False  # two rows of the first file are not training examples
    layout = lay_out(Shard(0, 2), train_rows, file_rows=file_rows,
                     file_names=[Path(f"{index}.csv") for index in range(4)],
                     by_files=True, batch_size=4)
    assert layout.files == [[1, 2], [0, 3]]
    assert layout.examples == [35, 33]
    assert layout.steps == 18  # ceil(35 / 2): the other worker gives one empty batch at the end
    assert layout.intervals == [[(11, 45)], [(1, 10), (46, 70)]]


def test_fewer_files_than_workers_are_read_by_row_ranges():
    layout = lay_out(Shard(1, 3), np.ones(30, dtype=bool), file_rows=[20, 10], file_names=[Path("a.csv"),
                                                                                           Path("b.csv")],
                     by_files=True, batch_size=6)
    assert layout.files is None and layout.examples == [10, 10, 10]
    assert layout.record() == {"worker": 1, "workers": 3, "examples": 10, "steps": 5, "rows": "11-20"}


@pytest.mark.parametrize("cache", ["true", "false"], ids=["held", "streamed"])
def test_a_worker_with_several_replicas_gives_each_its_batch_of_every_step(tmp_path, cache):
    """A global batch of 6 over 2 workers of 3 replicas: each worker gives 3 batches of at most 1 example a step,
    the same examples its one replica would take in batches of 3."""
    (tmp_path / "spec.yaml").write_text(SPEC.format(format="csv", path=_write(tmp_path, [57], False), cache=cache))
    document = load_spec(tmp_path / "spec.yaml")
    one, three = (prepare(document, shard=Shard(1, 2, local_replicas)) for local_replicas in (1, 3))
    assert three.layout.steps == one.layout.steps and three.layout.pieces() == 3 * one.layout.steps
    batches = _epoch(three, 0)
    assert len(batches) == three.layout.pieces() and all(len(batch) <= 1 for batch in batches)
    assert sorted(np.concatenate(batches).tolist()) == sorted(np.concatenate(_epoch(one, 0)).tolist())


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_source_counts_the_rows_of_each_file_and_reads_some_of_its_files(tmp_path, fmt):
    from modelctl.data.sources import open_source

    """A file without rows counts 0; a view of the last file reads only its rows."""
    _write(tmp_path, [5, 0, 4, 3], holes=False, fmt=fmt)
    source = open_source({"format": fmt, "path": f"part-*.{fmt}"}, tmp_path)
    ids = np.concatenate([batch["id"] for batch in source.batches(["id"], rows=2)]).tolist()
    assert ids == list(range(12))
    assert [source.file_rows[file] for file in source.files] == [5, 0, 4, 3]
    last = source.only(source.files[-1:])
    assert np.concatenate([batch["id"] for batch in last.batches(["id"])]).tolist() == [9, 10, 11]
    assert last.file_rows == {source.files[-1]: 3} and source.files[-1] in source.file_rows


def test_a_view_of_a_parquet_file_passes_over_whole_row_groups_before_its_rows(tmp_path):
    """Rows 0-19 in row groups of 7: asked to skip 10 rows, the view leaves out the first group, unread, and
    reads from row 7; a CSV view reads every row."""
    from modelctl.data.sources import open_source

    _write(tmp_path, [20], holes=False, fmt="parquet")
    _write(tmp_path, [20], holes=False, fmt="csv")
    for fmt, passed in (("parquet", 7), ("csv", 0)):
        source = open_source({"format": fmt, "path": f"part-0.{fmt}"}, tmp_path)
        list(source.batches(["id"]))
        view = source.only(source.files, skip_rows=10)
        assert view.passed_over == passed
        assert np.concatenate([batch["id"] for batch in view.batches(["id"])]).tolist() == list(range(passed, 20))


@pytest.mark.parametrize("roles, task, shard", [
    ((("worker", 2),), ("worker", 1), Shard(1, 2)),
    ((("chief", 1), ("worker", 2)), ("chief", 0), Shard(0, 3)),
    ((("chief", 1), ("worker", 2)), ("worker", 0), Shard(1, 3)),
    ((("chief", 1), ("worker", 2), ("evaluator", 1)), ("evaluator", 0), None),
])
def test_workers_are_numbered_as_tensorflow_numbers_them_the_chief_first(roles, task, shard):
    from modelctl.training.hardware import Cluster, Plan
    from modelctl.training.cluster import shard as shard_of

    workers = sum(count for role, count in roles if role in ("chief", "worker"))
    assert shard_of(Plan("multi_worker", replicas=workers, workers=workers), Cluster(roles, *task)) == shard
    assert shard_of(Plan("one_device"), Cluster(roles, *task)) is None
