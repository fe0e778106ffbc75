"""The spec's `data` section as training, validation and test data: split, fitted, encoded, batched.

    prepared = prepare(document)                  # reads the source, splits it, fits the preprocessing
    prepared.counts                               # {"train": 105, "validation": 22, "test": 23}
    prepared.fitted                               # statistics, vocabularies, classes (`modelctl.runs.Fitted`)
    prepared.store                                # where the examples live: HeldStore, StreamedStore, ShardStore
    prepared.dataset("train", ["y"], training=True)   # tf.data: (features, targets[, weights]) batches
    prepared.arrays("test")                       # the same examples as numpy arrays

`prepare` reads the sources (`modelctl.data.reading`: counting, splitting,
fitting, holding what fits in `Budget.held_bytes`), or takes all of it from the
prepared-data cache (`modelctl.data.cache`), and chooses once where the
examples live (`modelctl.data.stores`): every split in memory, the training
split streamed from the cache entry or the source, or under multi-worker
training (`prepare(..., shard=Shard(worker, workers))`) a worker's shard
(`modelctl.data.shards`). The store says why (`store.reasons`, printed by
`train --dry-run`), and `notices` says, for `train` to print, when the data is
sorted by its label beyond what the shuffle buffer alone would mix.

Shuffling is keyed by the seed and the epoch number: epoch e of a run shows the
training examples in the same order whether the run was interrupted and resumed
or not (`modelctl.data.batching`). Held data is permuted whole; streamed data is
read in pieces or parts in a permuted order and shuffled in windows of at least
`data.shuffle_buffer` examples.

A later run on the same data and settings reads the prepared examples, the
fitted preprocessing and the counts from the cache instead of the source, with
the same examples in the same pieces, so it trains to the same weights.
"""

from __future__ import annotations

from typing import Iterator

from modelctl.data.budget import CHUNK_ROWS, ESTIMATE_MARGIN, EVALUATION_BYTES, HELD_BYTES, PIECE_BYTES, Budget
from modelctl.data.cache import DataCache
from modelctl.data.columns import encode_features, open_typed
from modelctl.data.encoding import Encoded, raw_dtypes
from modelctl.data.fingerprints import data_record, effective_split_seed
from modelctl.data.labels import as_trained
from modelctl.data.preparing import make, open_reading
from modelctl.data.shards import Shard, ShardStore
from modelctl.data.sources import located
from modelctl.runs import Fitted

CACHE_BYTES = HELD_BYTES
"""Largest encoded data (all splits together) kept in memory (`Budget.held_bytes`); read when `prepare` runs."""


class Prepared:
    """The data of one spec, split and fitted. Build it with `prepare`.

    Attributes:
        data: the spec's typed `data` section.
        seed, batch_size: the spec's seed and `data.batch_size`.
        fitted: statistics, vocabularies and classes (`modelctl.runs.Fitted`, saved in the run).
        counts: examples of each split.
        split_rows: split -> a digest of the source rows it kept (`modelctl.data.fitting.Fitting.split_rows`);
            None when read from a cache entry that did not record them.
        split_seed: the seed that split the rows (`modelctl.data.fingerprints.effective_split_seed`).
        store: where the examples live (`modelctl.data.stores`).
        layout: the worker's shard of a multi-worker run (`modelctl.data.shards.Layout`), else None.
        cache_note: one line on the prepared-data cache for run output: read, written, off, or why nothing was
            kept.
        notices: lines `train` prints about the data: when it is sorted by its label beyond what the shuffle
            buffer alone mixes, and what each epoch does about it.
        fingerprints: source key -> [path, size, mtime_ns, content hash or None] of each of its files (see
            `modelctl.data.fingerprints`): hashed when the cache hashes them for its key, else not read.
    """

    def __init__(self, document, *, fold: tuple[int, int] | None, fitted: Fitted | None, cache: DataCache | None,
                 shard: Shard | None, budget: Budget):
        self.reading = open_reading(document, fitted=fitted, budget=budget)
        self.encoder = self.reading.encoder
        self.data = document.spec.data
        self.seed = document.spec.seed
        self.batch_size = self.data.batch_size
        made = make(document, self.reading, fold=fold, fitted=fitted, cache=cache, shard=shard)
        self.fitted, self.counts, self.store = made.fitted, made.counts, made.store
        self.split_rows, self.split_seed = made.split_rows, effective_split_seed(document.spec)
        self.cache_note, self.notices, self.fingerprints = made.cache_note, made.notices, made.fingerprints
        self.layout = self.store.layout if isinstance(self.store, ShardStore) else None

    @property
    def labels(self) -> dict:
        """Label name -> its `LabelType`, with the classes fitted."""
        return self.encoder.labels

    @property
    def skipped(self) -> dict[str, int]:
        """Reason -> rows skipped (`data.on_bad_rows: skip`)."""
        return self.reading.skipped

    def data_record(self) -> dict:
        """What data this is, for the run's record: each source file's size, modification time and content hash,
        the examples of each split, the fitted preprocessing's hash and the split made (see
        `modelctl.data.fingerprints`)."""
        return data_record(self.fingerprints, self.counts, self.fitted, split_rows=self.split_rows,
                           split_seed=self.split_seed)

    # Passes over the examples ------------------------------------------------------------------------------

    def chunks(self, split: str) -> Iterator[Encoded]:
        """Encoded chunks of one split in source order, each feature in the dtype of the model's input."""
        dtypes = raw_dtypes(self.fitted)
        with located(self.reading.source_of(split)):
            for part in self.store.chunks(split):
                yield part.as_raw(dtypes)

    def arrays(self, split: str, limit: int | None = None) -> Encoded | None:
        """Up to `limit` examples of a split in source order, as numpy arrays; None for an empty split."""
        parts, total = [], 0
        for part in self.chunks(split):
            parts.append(part)
            total += len(part)
            if limit is not None and total >= limit:
                break
        if not parts:
            return None
        joined = Encoded.join(parts)
        return joined if limit is None else joined.take(slice(0, limit))

    def steps(self, split: str) -> int:
        """Batches of a pass over `split`; for the training split of a worker, its shard's steps an epoch."""
        return self.store.steps(split)

    def evaluation_batch_size(self, split: str) -> int:
        """Examples a batch of a pass that only evaluates `split` (no training step) may hold (see
        `stores.HeldStore.evaluation_batch_size`); `data.batch_size` for a split not held in memory."""
        return self.store.evaluation_batch_size(split)

    def shape(self, output_names: list[str]):
        """The structure of the batches `dataset` gives (`modelctl.data.batching.Shape`)."""
        from modelctl.data.batching import Shape

        return Shape(self.fitted, self.labels, output_names, weighted=self.encoder.weighted)

    def signature(self, output_names: list[str]):
        """The `tf.TensorSpec` structure of the batches `dataset` gives."""
        from modelctl.util.tf import tensorflow

        return self.shape(output_names).signature(tensorflow())

    def dataset(self, split: str, output_names: list[str], training: bool = False, *, initial_epoch: int = 0,
                epochs: int = 1, batch_size: int | None = None, clock=None, steps: int | None = None):
        """A `tf.data.Dataset` of (features, targets[, weights]) batches, its targets as Keras trains on them
        (`modelctl.data.labels.as_trained`: one-hot vectors for a label with `encoding: one_hot`).

        Args:
            split: `train`, `validation` or `test`.
            output_names: the model's output names, in the order of `data.labels`.
            training: shuffle (keyed by seed and epoch) and give training epochs; otherwise one pass in source
                order. Default False. Without `clock`, epochs `initial_epoch` .. `epochs - 1` one after the other,
                `steps(split)` batches each (then again, for a reader that asks past the last epoch). For the
                training split of a worker (`prepare(..., shard=...)`), only its shard, in batches for each of its
                replicas: `steps(split)` times its local replicas per epoch, of the global batch over every replica.
            batch_size: examples a batch of a pass without training holds when the split is in memory (such as
                `evaluation_batch_size(split)`); default None: `data.batch_size`. Training batches are always
                `data.batch_size`.
            clock: a `modelctl.data.batching.EpochClock`: each pass over the dataset is then one epoch, the clock's,
                of `steps` batches (as Keras's `fit` iterates a dataset of known length); default None.
            steps: batches of a clocked pass; default None: `steps(split)`.
        """
        from modelctl.data.batching import Epochs
        from modelctl.util.tf import tensorflow

        epochs_given = Epochs(initial_epoch, epochs, clock, steps) if training else None
        dataset = self.store.dataset(tensorflow(), split, self.shape(output_names), epochs=epochs_given,
                                     batch_size=None if training else batch_size)
        return as_trained(dataset, self.labels, output_names)


def prepare(document, *, fold: tuple[int, int] | None = None, fitted: Fitted | dict | None = None,
            cache: DataCache | None = None, shard: Shard | None = None, budget: Budget | None = None) -> Prepared:
    """Read, split and fit the data of a spec, or take them from the prepared-data cache.

    Args:
        document: the loaded, valid spec.
        fold: (index, k) to make the validation split fold `index` of `k` over the non-test rows; default None.
        fitted: statistics and class names of an earlier fit (a run's `modelctl.runs.Fitted`, or its JSON),
            reused instead of fitting again; default None fits on the training split.
        cache: where prepared data is kept between runs and whether it is (`modelctl.data.cache.DataCache`);
            default None: in `$MODELCTL_CACHE_DIR`, else `~/.cache/modelctl`. `DataCache(enabled=False)` reads
            the source and fits every time. Not used with `shard`.
        shard: this worker's place in a multi-worker run; its training batches are then its shard of the
            training split (see `modelctl.data.shards`). Default None: one process reads everything.
        budget: the memory budget and piece sizes (`modelctl.data.budget.Budget`); default None: this module's
            `CHUNK_ROWS`, `CACHE_BYTES`, `EVALUATION_BYTES`, `ESTIMATE_MARGIN` and `PIECE_BYTES` as they are
            when it is called, and `Budget`'s other defaults.

    Raises:
        DataError: a file, column or value that cannot be read (naming it).
        RunError: `fitted` given as JSON that is not a fitted preprocessing record.
    """
    if fitted is not None:
        fitted = Fitted.from_json(fitted, source="the fitted preprocessing given")
    budget = budget or Budget(chunk_rows=CHUNK_ROWS, held_bytes=CACHE_BYTES, evaluation_bytes=EVALUATION_BYTES,
                              estimate_margin=ESTIMATE_MARGIN, piece_bytes=PIECE_BYTES)
    return Prepared(document, fold=fold, fitted=fitted, cache=cache, shard=shard, budget=budget)


__all__ = ["Budget", "CACHE_BYTES", "Encoded", "Prepared", "encode_features", "open_typed", "prepare"]
