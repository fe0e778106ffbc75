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

A worker's examples live in a `ShardStore`: a slice of the training split when
it is held in memory, else read from the source each epoch, only the files its
rows are in (in an order permuted by the seed and the epoch, when the worker
reads whole files) and of those only its rows (rows before them are read but
not encoded, or for Parquet passed over by whole row groups without reading
them; reading stops after them). Each epoch shuffles the shard, keyed by the
seed and the epoch, and gives `Layout.steps` batches per local replica: the same
count on every worker. Validation and evaluation are not sharded: each worker
reads the whole split (from the store it would use alone) and keeps its part of
every global batch.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from modelctl.data.batching import Epochs, Shape, epoch_rng, training_epochs, window_batches
from modelctl.data.encoding import Encoded
from modelctl.data.errors import DataError
from modelctl.data.reading import Outcome, Reading
from modelctl.data.sources import has_glob, listing, located
from modelctl.data.stores import Store


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


class ShardStore(Store):
    """A worker's shard of the training split (see the module docstring); the other splits as `base` has them.

    Args:
        base: the store this process would use alone (it holds or streams the evaluation splits).
        layout: how the training split is divided among the workers.
        reading: the passes over the sources, to read the shard when the training split is not held.
        assignment: each row's split of a shared source, or None for a source per split.
        file_rows: rows each of the training source's files gave, in reading order; None when unknown.
        train_rows: one boolean per training source row: whether it is a training example.
        shuffle_buffer: fewest examples a streamed window shuffles together.
    """

    kind = "shard"

    def __init__(self, base: Store, layout: Layout, *, reading: Reading, assignment: np.ndarray | None,
                 file_rows: list[int] | None, train_rows: np.ndarray, shuffle_buffer: int):
        super().__init__(counts=base.counts, batch_size=base.batch_size, seed=base.seed,
                         held_dtypes=base.held_dtypes, reasons=[*base.reasons, layout.describe()])
        self.base = base
        self.layout = layout
        self.reading = reading
        self.assignment = assignment
        self.file_rows = file_rows
        self.shuffle_buffer = shuffle_buffer
        held = base.held("train")
        self.train: Encoded | None = None if held is None else held.take(positions(layout, train_rows))
        """The worker's training examples when the training split is held in memory."""

    def chunks(self, split: str) -> Iterator[Encoded]:
        return self.base.chunks(split)

    def held(self, split: str) -> Encoded | None:
        return self.base.held(split)

    def steps(self, split: str) -> int:
        return self.layout.steps if split == "train" else self.base.steps(split)

    def evaluation_batch_size(self, split: str) -> int:
        return self.base.evaluation_batch_size(split)

    def dataset(self, tf, split: str, shape: Shape, *, epochs: Epochs | None, batch_size: int | None):
        """For training, this worker's batches: `layout.pieces()` an epoch (one per local replica and step) of
        `layout.batch_size` examples, then what is left, then empty batches."""
        if split != "train" or epochs is None:
            return self.base.dataset(tf, split, shape, epochs=epochs, batch_size=batch_size)
        layout = self.layout
        size, pieces, seed = layout.batch_size, layout.pieces(), self.seed
        if self.train is not None:
            data, count = self.train.tensors(tf), len(self.train)
            starts = np.minimum(np.arange(pieces, dtype=np.int64) * size, count)
            bounds = tf.data.Dataset.from_tensor_slices((starts, np.minimum(starts + size, count)))
            last = tf.constant(max(count - 1, 0), tf.int64)

            def epoch_dataset(epoch):
                key = tf.stack([tf.constant(seed, tf.int64), epoch])

                def shuffled(start, stop):
                    # One index more than the batch, dropped after: `index_shuffle` fails on an empty batch.
                    indices = tf.minimum(tf.range(start, stop + 1), last)
                    return tf.random.experimental.index_shuffle(indices, key, last)[:stop - start]

                return bounds.map(lambda start, stop: shape.structure(data.take_tensor(tf, shuffled(start, stop))),
                                  num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

            return shape.cast(tf, training_epochs(tf, epoch_dataset, epochs, steps=pieces)).prefetch(tf.data.AUTOTUNE)
        signature = shape.signature(tf, self.held_dtypes)
        empty = tf.nest.map_structure(lambda spec: np.zeros((0, *spec.shape[1:]), spec.dtype.as_numpy_dtype),
                                      signature)

        def epoch_batches(epoch):
            given = 0
            rng = epoch_rng(seed, int(epoch))
            for encoded in window_batches(self._chunks(rng), rng, batch_size=size, window_rows=self.shuffle_buffer,
                                          budget=self.reading.budget):
                given += 1
                if given > pieces:
                    raise DataError(f"worker {layout.shard.worker}'s shard of the training split holds more than "
                                    f"its {layout.examples[layout.shard.worker]} examples: the data changed "
                                    "while training")
                yield shape.structure(encoded)
            for _ in range(pieces - given):
                yield empty

        def epoch_dataset(epoch):
            return tf.data.Dataset.from_generator(epoch_batches, args=(epoch,), output_signature=signature)

        return shape.cast(tf, training_epochs(tf, epoch_dataset, epochs, steps=pieces)).prefetch(tf.data.AUTOTUNE)

    def _chunks(self, rng: np.random.Generator) -> Iterator[Encoded]:
        """This worker's training examples, encoded, reading only the files its rows are in (whole files in an
        order drawn from `rng`) and encoding only its rows."""
        key = "all" if self.assignment is not None else "train"
        with located(self.reading.sources[key]):
            yield from self._worker_chunks(key, rng)

    def _worker_chunks(self, key: str, rng: np.random.Generator) -> Iterator[Encoded]:
        reading, layout = self.reading, self.layout
        source = reading.sources[key]
        intervals = layout.intervals[layout.shard.worker]
        if not intervals:
            return
        firsts = np.array([first for first, _ in intervals])
        lasts = np.array([last for _, last in intervals])
        if self.file_rows is None:
            readers = [(source, 0)]
        else:
            ends = np.cumsum(self.file_rows)
            readers = [(source.only([file], skip_rows=max(0, int(firsts[0]) - 1 - int(end - rows))), int(end - rows))
                       for file, rows, end in zip(source.files, self.file_rows, ends)
                       if rows and _overlaps(int(end - rows) + 1, int(end), firsts, lasts=lasts)]
            if layout.files is not None:
                readers = [readers[index] for index in rng.permutation(len(readers))]
        for reader, offset in readers:
            for batch, numbers in reading.numbered(reader, key, offset + reader.passed_over):
                if numbers[-1] < firsts[0]:
                    continue
                if numbers[0] > lasts[-1]:
                    break
                index = np.searchsorted(firsts, numbers, side="right") - 1
                mask = (index >= 0) & (numbers <= lasts[np.maximum(index, 0)])
                if self.assignment is not None:
                    mask &= self.assignment[numbers - 1] == 0
                if mask.any():
                    encoded = reading.encoded(batch, numbers, mask)
                    if len(encoded):
                        yield encoded


def shard_store(base: Store, shard: Shard, outcome: Outcome, *, reading: Reading, shuffle_buffer: int) -> ShardStore:
    """The store of worker `shard`: the training split divided among the workers from what the passes counted
    (every source row's split, the rows each file gave, the training rows that are not examples)."""
    key = "all" if outcome.assignment is not None else "train"
    source = reading.sources[key]
    if outcome.assignment is not None:
        train_rows = outcome.assignment == 0
    else:
        train_rows = np.ones(base.counts["train"] + sum(len(numbers) for numbers in outcome.dropped), dtype=bool)
    for numbers in outcome.dropped:
        train_rows[numbers - 1] = False
    file_rows = [source.file_rows.get(file) for file in source.files]
    if not file_rows or None in file_rows or sum(file_rows) != len(train_rows):
        file_rows = None
    layout = lay_out(shard, train_rows, file_rows=file_rows, file_names=source.files,
                     by_files=has_glob(str(source.options.get("path", ""))), batch_size=base.batch_size)
    return ShardStore(base, layout, reading=reading, assignment=outcome.assignment, file_rows=file_rows,
                      train_rows=train_rows, shuffle_buffer=shuffle_buffer)


def _overlaps(first: int, last: int, firsts: np.ndarray, *, lasts: np.ndarray) -> bool:
    """Whether rows `first`..`last` meet one of the intervals `firsts[i]`..`lasts[i]`."""
    return bool(np.any((firsts <= last) & (lasts >= first)))


__all__ = ["Layout", "Shard", "ShardStore", "lay_out", "positions", "shard_store"]
