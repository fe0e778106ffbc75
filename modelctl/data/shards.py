"""Which part of the training split each worker of a multi-worker run reads.

    shard = Shard(worker=1, workers=2)
    layout = lay_out(shard, train_rows=np.ones(150, bool), file_rows=[60, 60, 30], file_names=files,
                     by_files=True, batch_size=16)
    layout.steps                    # 12: batches an epoch, the same on every worker (90 examples in batches of 8)
    layout.intervals                # [[(1, 60), (121, 150)], [(61, 120)]]: each worker's source rows
    layout.record()                 # {"worker": 1, "workers": 2, "examples": 60, "steps": 12, "files": [...]}

A worker reads whole files when the training split comes from a glob of at least
as many files as there are workers: the files go to the workers by size (the
largest first, each to the worker with the fewest examples so far), so every
worker reads a disjoint set of files and no file twice. Otherwise the workers
take consecutive ranges of the source's rows, each holding its part of the
training split; the ranges together cover every row once.

Every worker runs the same number of steps per epoch (collective operations wait
for every worker), with a per-worker batch of `batch_size / workers` examples:

- Row ranges are sized so that every global batch holds the examples a single
  process's batch holds: `batch_size` examples for every step but the last, which
  holds the rest. The rest is split as evenly as possible (the first workers take
  one more); a worker with nothing left gives an empty batch in that step.
- With whole files, the shards may differ in size: an epoch lasts as many steps as
  the largest shard needs, and a worker whose shard runs out first gives empty
  batches for the remaining steps. Files of similar sizes keep that waste small.

An empty batch adds nothing to the loss or the metrics: the training loop weights
each replica's loss by its share of the global batch.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from modelctl.data.sources import listing


@dataclasses.dataclass(frozen=True)
class Shard:
    """This process's place among the workers of a multi-worker run.

    Args:
        worker: this worker's number, from 0 (the chief, or worker 0 when the cluster has no chief) to
            `workers - 1`.
        workers: processes training together, at least 1.
        local_replicas: replicas (devices) of this worker; default 1. Each step of a worker gives one batch
            of `batch_size / workers / local_replicas` examples to each of them.
    """

    worker: int
    workers: int
    local_replicas: int = 1

    def __post_init__(self):
        if self.workers < 1 or not 0 <= self.worker < self.workers or self.local_replicas < 1:
            raise ValueError(f"Invalid shard. Expected 0 <= worker < workers and local_replicas >= 1. Received: "
                             f"worker={self.worker}, workers={self.workers}, local_replicas={self.local_replicas}")


@dataclasses.dataclass
class Layout:
    """How the training split is divided among the workers (see the module docstring).

    Attributes:
        shard: this worker's place.
        steps: batches per epoch, the same on every worker.
        examples: training examples of each worker's shard.
        intervals: for each worker, the source rows (1-based, inclusive `(first, last)` pairs, sorted) whose
            training examples make its shard.
        files: for each worker, the indexes into `file_names` of the files it reads; None when the workers
            take row ranges.
        file_names: the source's files in reading order.
        per_worker: examples of one worker's batch (`batch_size / workers`).
    """

    shard: Shard
    steps: int
    examples: list[int]
    intervals: list[list[tuple[int, int]]]
    files: list[list[int]] | None
    file_names: list[Path]
    per_worker: int

    @property
    def batch_size(self) -> int:
        """Examples of one replica's batch: the global batch over every replica of every worker."""
        return self.per_worker // self.shard.local_replicas

    def pieces(self) -> int:
        """Batches this worker gives per epoch: one per local replica and step."""
        return self.steps * self.shard.local_replicas

    def record(self) -> dict:
        """This worker's shard as the run's record keeps it (`data.shard`): `worker`, `workers`, `examples`, `steps` (an
        epoch), and `files` (the paths it reads) or `rows`: `"first-last"`, the range of the source's rows its
        examples are in, numbered from 1 in reading order across the source's files (header rows and rows the
        reader dropped as bad not counted), or `"none"` for an empty shard."""
        worker = self.shard.worker
        record = {"worker": worker, "workers": self.shard.workers, "examples": self.examples[worker],
                  "steps": self.steps}
        if self.files is not None:
            record["files"] = [str(self.file_names[index]) for index in self.files[worker]]
        else:
            record["rows"] = ", ".join(f"{first}-{last}" for first, last in self.intervals[worker]) or "none"
        return record

    def describe(self) -> str:
        """One line for the console."""
        worker = self.shard.worker
        count = self.examples[worker]
        where = f"files {listing([self.file_names[index].name for index in self.files[worker]]) or 'none'}" \
            if self.files is not None else f"source rows {self.record()['rows']}"
        return (f"worker {worker} of {self.shard.workers} trains on {count} example{'s' if count != 1 else ''} "
                f"of the training split ({where}), {self.steps} steps an epoch")


def lay_out(shard: Shard, train_rows: np.ndarray, *, file_rows: Sequence[int] | None, file_names: Sequence[Path],
            by_files: bool, batch_size: int) -> Layout:
    """Divide the training split among the workers.

    Args:
        shard: this worker's place.
        train_rows: one boolean per source row (in reading order): whether it is an example of the training
            split.
        file_rows: rows of each of the source's files in reading order (they sum to `len(train_rows)`); None
            when the source cannot tell.
        file_names: the source's files in reading order.
        by_files: give whole files to the workers (used only with `file_rows` and at least as many files as
            workers); otherwise row ranges.
        batch_size: the global batch, a multiple of `shard.workers * shard.local_replicas`.
    """
    workers = shard.workers
    per_worker = batch_size // workers
    counted = np.concatenate([[0], np.cumsum(train_rows, dtype=np.int64)])
    total = int(counted[-1])
    rows = len(train_rows)
    if by_files and file_rows is not None and len(file_rows) >= workers:
        ends = np.cumsum(file_rows, dtype=np.int64)
        starts = ends - np.asarray(file_rows, dtype=np.int64)
        sizes = [int(counted[end] - counted[start]) for start, end in zip(starts, ends)]
        files: list[list[int]] = [[] for _ in range(workers)]
        examples = [0] * workers
        for index in sorted(range(len(sizes)), key=lambda index: (-sizes[index], index)):
            target = min(range(workers), key=lambda worker: (examples[worker], len(files[worker]), worker))
            files[target].append(index)
            examples[target] += sizes[index]
        files = [sorted(chosen) for chosen in files]
        intervals = [_merged([(int(starts[index]) + 1, int(ends[index])) for index in chosen if file_rows[index]])
                     for chosen in files]
        steps = max(1, max(math.ceil(count / per_worker) for count in examples))
        return Layout(shard, steps, examples, intervals, files, list(file_names), per_worker)
    steps = max(1, math.ceil(total / batch_size))
    rest = total - (steps - 1) * batch_size
    examples = [(steps - 1) * per_worker + rest // workers + (1 if worker < rest % workers else 0)
                for worker in range(workers)]
    intervals = []
    first = 1
    taken = 0
    for worker, count in enumerate(examples):
        taken += count
        # The row of the worker's last example (the next worker starts after it); the last worker takes the rest.
        last = rows if worker == workers - 1 else int(np.searchsorted(counted, taken, side="left"))
        intervals.append([(first, last)] if last >= first else [])
        first = max(first, last + 1)
    return Layout(shard, steps, examples, intervals, None, list(file_names), per_worker)


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(intervals):
        if merged and first == merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], last)
        else:
            merged.append((first, last))
    return merged


def positions(layout: Layout, train_rows: np.ndarray) -> np.ndarray:
    """Indexes into the training split (its examples in source order) of this worker's shard, ascending."""
    counted = np.concatenate([[0], np.cumsum(train_rows, dtype=np.int64)])
    parts = [np.arange(counted[first - 1], counted[last]) for first, last in layout.intervals[layout.shard.worker]]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


__all__ = ["Layout", "Shard", "lay_out", "positions"]
