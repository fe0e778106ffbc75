"""The spec's `data` section as training, validation and test data: split, fitted, encoded, batched.

    prepared = prepare(document)                  # reads the source, splits it, fits the preprocessing
    prepared.counts                               # {"train": 105, "validation": 22, "test": 23}
    prepared.fitted                               # statistics, vocabularies, classes (`modelctl.runs.Fitted`)
    prepared.dataset("train", training=True)      # tf.data: (features, targets[, weights]) batches
    prepared.arrays("test")                       # the same examples as numpy arrays

Every pass streams the source in chunks of `CHUNK_ROWS` rows. The first reads
the columns the spec needs, counts the rows (the split needs their number, and
the label when it is stratified) and turns each chunk into model inputs, held in
memory while all of them together fit in `CACHE_BYTES` (with `data.cache` on).
Held data is split, fitted and encoded in memory: the source is read once.
Otherwise the validation and test splits are kept when they fit in
`EVALUATION_BYTES`, and only the training split is read again each epoch.
Data that does not fit takes one more pass, which fits every statistic,
vocabulary and class on the training split while it counts and checks every
split (`modelctl.data.fitting`; a statistic step that depends on an earlier one
takes one more), and then streams from the source every time it is read (each
epoch, each evaluation), holding a chunk and a shuffle buffer. With `data.cache`
off, a first pass that stops at the first bad row reads only the column the
split needs.

Shuffling is keyed by the seed and the epoch number: epoch e of a run shows
the training examples in the same order whether the run was interrupted and
resumed or not. In memory the whole split is permuted (TensorFlow's stateless
`index_shuffle`, so batches are gathered inside tf.data without Python); when
streaming, a buffer of `data.shuffle_buffer` examples is (numpy, keyed the same way).

Under multi-worker training (`prepare(..., shard=Shard(worker, workers))`)
every worker still reads every row in the first pass, so that all of them fit
the same statistics, vocabularies and classes on the whole training split and
count every split alike. Training then reads only the worker's shard
(`modelctl.data.shards`): whole files of a glob, or a range of rows. Held in
memory, the shard is a slice of the held training split; streamed, the worker
opens only the files its rows are in, and of those it encodes only its rows
(rows before them are read but not encoded, or for Parquet passed over by whole
row groups without reading them; reading stops after them). Each
epoch shuffles the shard, keyed by the seed and the epoch as above, and gives
`Layout.steps` batches per local replica: the same count on every worker.
Validation and evaluation are not sharded: each worker reads the whole split
and keeps its part of every global batch.

The examples as read, the fitted preprocessing and the counts are also kept on
disk (`modelctl.data.cache`, unless the cache is off): a later run on the same
data and settings reads them instead of reading the source and fitting, with the
same examples in the same chunks, so it trains to the same weights. Data that
does not fit in memory then streams from the cache instead of the source.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterator

import numpy as np

from modelctl.data.cache import DataCache, Entry, open_slot
from modelctl.data.fingerprints import data_identity, data_record, effective_split_seed, fingerprint
from modelctl.data.columns import ColumnPlan, encode_features, open_typed
from modelctl.data.errors import DataError
from modelctl.data.fitting import Fitting, Rows, check_balanced
from modelctl.data.labels import as_trained, known_labels, label_encoder
from modelctl.data.shards import Layout, Shard, lay_out, positions
from modelctl.data.sources import Source, has_glob, located
from modelctl.data.splits import SPLITS, ClassCodes, assign_splits, kfold
from modelctl.features import feature_type
from modelctl.runs import Fitted
from modelctl.spec.typed import Training

CHUNK_ROWS = 4096
CACHE_BYTES = 128 * 2**20
"""Largest encoded data (all splits together) kept in memory; larger data streams from the source every epoch.
Held for training, the examples take about three times this as TensorFlow tensors."""
ESTIMATE_MARGIN = 2
"""Data estimated at more than this many times `CACHE_BYTES` is streamed from the start; below it, the first pass
keeps its chunks until they pass `CACHE_BYTES`."""
EVALUATION_BYTES = 64 * 2**20
"""Largest encoded validation and test splits kept in memory beside a training split that streams. TensorFlow
and Keras alone take about 750 MB, so that a 2 GB CSV trains in under 1 GB."""



@dataclasses.dataclass
class Encoded:
    """A batch of examples ready for the model."""

    features: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    weights: np.ndarray | None

    def __len__(self) -> int:
        return len(next(iter(self.features.values())))

    def take_tensor(self, tf, indices) -> "Encoded":
        """The examples at `indices` of an Encoded holding tensors."""
        return Encoded({name: tf.gather(values, indices) for name, values in self.features.items()},
                       {name: tf.gather(values, indices) for name, values in self.targets.items()},
                       None if self.weights is None else tf.gather(self.weights, indices))

    def take(self, index) -> "Encoded":
        return Encoded({name: values[index] for name, values in self.features.items()},
                       {name: values[index] for name, values in self.targets.items()},
                       None if self.weights is None else self.weights[index])

    @staticmethod
    def join(parts: list["Encoded"]) -> "Encoded":
        first = parts[0]
        return Encoded({name: np.concatenate([part.features[name] for part in parts]) for name in first.features},
                       {name: np.concatenate([part.targets[name] for part in parts]) for name in first.targets},
                       None if first.weights is None else np.concatenate([part.weights for part in parts]))


class Prepared:
    """The data of one spec, split and fitted. Build it with `prepare`."""

    def __init__(self, document, *, fold: tuple[int, int] | None = None, fitted: Fitted | None = None,
                 cache: DataCache | None = None, shard: Shard | None = None):
        spec = document.spec
        self.document = document
        if spec.data is None:
            raise DataError("the spec has no `data` section; add one to train, evaluate or predict from data")
        self.data = spec.data
        training = spec.training
        self.seed = spec.seed
        self.batch_size = self.data.batch_size
        self.on_bad_rows = self.data.on_bad_rows
        self.skipped: dict[str, int] = {}
        self.sources: dict[str, Source] = {}
        features = self.data.features
        if self.data.source:
            self.sources["all"] = open_typed(self.data.source, document.base_dir, features)
        else:
            for split in SPLITS:
                written = self.data.sources.get(split)
                if written:
                    self.sources[split] = open_typed(written, document.base_dir, features)
        self.plans = {key: ColumnPlan({"features": self.data.features, "labels": self.data.labels}, source.columns,
                                      source.where, weight=training.sample_weight)
                      for key, source in self.sources.items()}
        plan = next(iter(self.plans.values()))
        self.features = plan.features
        self.weight = plan.weight
        classes = None if fitted is None else {name: label.classes for name, label in fitted.labels.items()}
        self.labels = {name: label_encoder(item, None if classes is None else classes.get(name))
                       for name, item in plan.labels.items()}
        self.raw_columns = list(dict.fromkeys([*(encoder.column for encoder in self.labels.values()),
                                               *([self.weight] if self.weight else [])]))
        self.class_weight = training.class_weight
        if self.class_weight:
            check_balanced(self.labels)
        self._cache: dict[str, Encoded] = {}
        self._held_tensors: dict[str, Encoded] = {}
        """A split held in memory as tensors, made once for every pass over it (training, then evaluation)."""
        self._every_split_held = False
        self.layout: Layout | None = None
        self._stored: Entry | None = None
        self.cache_note = "data cache: off"
        """One line on the prepared-data cache for run output: read, written, off, or why nothing was kept."""
        self.fingerprints: dict[str, list[list]] = {}
        """Source key -> [path, size, mtime_ns, content hash or None] of each of its files (see
        `modelctl.data.fingerprints`): hashed when the cache hashes them for its key, else not read."""
        slot = None
        if shard is not None:
            self.cache_note = "data cache: off (each worker of a multi-worker run reads its shard from the source)"
        else:
            slot = self._cache_slot(cache, fold, fitted, training=training)
        if not self.fingerprints:
            self.fingerprints = {key: [fingerprint(path, content=False) for path in source.files]
                                 for key, source in self.sources.items()}
        if slot is not None and slot.entry is not None:
            self._from_entry(slot.entry)
            return
        writer = None if slot is None else slot.writer()
        if slot is not None and writer is None:
            self.cache_note = f"data cache: not kept ({slot.root} cannot be written)"
        try:
            with located(self._source_of()):
                self._read_and_fit(fold, fitted, writer, shard=shard)
        except BaseException:
            if writer is not None:
                writer.abandon()
            raise
        if writer is not None:
            self._keep(writer)

    def _read_and_fit(self, fold: tuple[int, int] | None, fitted: Fitted | None, writer,
                      *, shard: Shard | None) -> None:
        held, rows, labels = self._first_pass()
        self.assignment = self._assign(fold, rows, labels) if "all" in self.sources else None
        del labels
        fitting = Fitting(self.features, self.labels, None if fitted is None else fitted.to_json(),
                          balanced=self.class_weight == "balanced")
        # When the splits together do not fit in memory, the evaluation splits may: they are kept from this pass,
        # so that only the training split streams every epoch.
        evaluation: dict[str, list[Rows]] | None = None if held is not None or not self.data.cache \
            else {"validation": [], "test": []}
        evaluation_bytes = 0
        dropped = []  # training rows read but not examples (bad values skipped), which shards do not count
        for split, part in self._split_rows(held, SPLITS, self.skipped):
            fitting.add(split, part)
            if writer is not None:
                writer.add(split, part)
            if split == "train" and not part.keep.all():
                dropped.append(part.numbers[~part.keep])
            if evaluation is not None and split in evaluation:
                evaluation_bytes += self._held_bytes(part)
                if evaluation_bytes > EVALUATION_BYTES:
                    evaluation = None
                else:
                    evaluation[split].append(part)
        fitting.end_pass()
        while not fitting.done:
            for split, part in self._split_rows(held, ("train",), {}):
                fitting.add(split, part)
            fitting.end_pass()
        self.fitted = Fitted.from_json(fitting.fitted, source="the fitted preprocessing")
        self.counts = fitting.counts
        self.split_rows = fitting.split_rows
        self._class_weights = self._class_weight_table(fitting)
        if held is not None:
            self._hold(self._split_rows(held, SPLITS, {}))
            held.clear()
        elif evaluation is not None:
            self._hold_evaluation(evaluation)
        if shard is not None:
            self._lay_out(shard, dropped)

    def data_record(self) -> dict:
        """What data this is, for the run's record: each source file's size, modification time and content hash,
        the examples of each split, the fitted preprocessing's hash and the split made (see
        `modelctl.data.fingerprints`)."""
        return data_record(self.fingerprints, self.counts, self.fitted, split_rows=self.split_rows,
                           split_seed=effective_split_seed(self.document.spec))

    # The prepared-data cache ---------------------------------------------------------------------------------

    def _cache_slot(self, cache: DataCache | None, fold, fitted: Fitted | None, *, training: Training):
        """The cache entry of this data, or None when the cache is off or cannot hold it (saying why)."""
        if cache is not None and not cache.enabled:
            return None
        unknown = [name for name, item in self.features.items() if feature_type(item.kind).reads_named_files
                   and any(source.format != "image_folder" for source in self.sources.values())]
        if unknown:
            name = unknown[0]
            self.cache_note = (f"data cache: off ({self.features[name].kind} feature '{name}' reads files named in a "
                               "column, which are not fingerprinted)")
            return None
        hashes = (cache if cache is not None else DataCache()).hashes
        self.fingerprints = {key: [fingerprint(path, hashes) for path in source.files]
                             for key, source in self.sources.items()}
        # The key hashes the data section with its sources' paths resolved (open_slot fills its defaults itself),
        # and the seed that splits the rows: the spec's own seed only shuffles batches, which the entry does not hold.
        return open_slot(cache, data=data_identity(self.document.data["data"], self.document.base_dir),
                         seed=effective_split_seed(self.document.spec),
                         training={"sample_weight": training.sample_weight, "class_weight": training.class_weight},
                         fold=fold, fitted=None if fitted is None else fitted.to_json(),
                         sources=self.sources, reading={"chunk_rows": CHUNK_ROWS, "held_bytes": CACHE_BYTES,
                                                          "evaluation_bytes": EVALUATION_BYTES},
                         files=self.fingerprints)

    def _from_entry(self, entry: Entry) -> None:
        """Take the fitted preprocessing, counts and examples of a cache entry instead of reading the source."""
        record = entry.record
        self.fitted = Fitted.from_json(record["fitted"], source=entry.folder)
        self.counts = {split: int(record["counts"].get(split, 0)) for split in SPLITS}
        self.split_rows = record.get("split_rows")
        self.skipped = dict(record["skipped"])
        weights = record["class_weights"]
        self._class_weights = None if weights is None else {int(index): weight for index, weight in weights.items()}
        self.labels = {name: label_encoder(encoder.item, self.fitted.labels[name].classes)
                       for name, encoder in self.labels.items()}
        self.assignment = None
        self.cache_note = f"data cache: read {entry.folder}"
        if record["held"]:
            self._hold(entry.every_part())
            return
        self._stored = entry
        if self.data.cache:
            self._hold_evaluation_from(entry)

    def _keep(self, writer) -> None:
        """Finish the cache entry written while the data was read."""
        weights = None if self._class_weights is None else {str(index): float(weight)
                                                            for index, weight in self._class_weights.items()}
        entry = writer.finish({"fitted": self.fitted.to_json(), "counts": self.counts, "skipped": self.skipped,
                               "class_weights": weights, "held": self._every_split_held,
                               "split_rows": self.split_rows})
        if entry is None:
            self.cache_note = f"data cache: {writer.note}"
            return
        self.cache_note = f"data cache: wrote {entry.folder}"
        if not self._every_split_held:
            self._stored = entry  # every epoch reads the cache instead of parsing the source again

    def _hold_evaluation_from(self, entry: Entry) -> None:
        """Keep the validation and test splits of a cache entry in memory when they fit in `EVALUATION_BYTES`,
        as the first run did (the training split streams)."""
        evaluation: dict[str, list[Rows]] = {"validation": [], "test": []}
        size = 0
        for split in evaluation:
            for part in entry.parts(split):
                size += self._held_bytes(part)
                if size > EVALUATION_BYTES:
                    return
                evaluation[split].append(part)
        self._hold_evaluation(evaluation)

    # Reading -----------------------------------------------------------------------------------------------

    def _first_pass(self) -> tuple[dict[str, list[Rows]] | None, int, np.ndarray | None]:
        """Read every source once: the rows of the shared source and, when the split is stratified, the class
        of each (one code a row); every chunk as model inputs while all of them fit in `CACHE_BYTES`.

        Returns:
            (source key -> chunks, or None when they do not fit; rows of the shared source; class codes).
        """
        holding = self.data.cache and self._may_fit()
        held: dict[str, list[Rows]] | None = {key: [] for key in self.sources} if holding else None
        skipped: dict[str, int] = {}
        size = 0
        label = self._stratify_label()
        classes = ClassCodes()
        rows = 0
        for key, source in self.sources.items():
            if held is None and key != "all":
                continue
            columns = self.plans[key].read
            if held is None and self.on_bad_rows == "error":
                # Only the row count and the split's label are needed: another bad value stops the next pass.
                columns = [label] if label else columns[:1]
            count = 0
            for batch in source.batches(columns, CHUNK_ROWS, self.on_bad_rows):
                numbers = np.arange(count + 1, count + len(next(iter(batch.values()))) + 1)
                count += len(numbers)
                if key == "all" and label:
                    classes.add(batch[label])
                if held is None:
                    continue
                part = self._rows(batch, numbers, skipped)
                size += self._held_bytes(part)
                if size > CACHE_BYTES:
                    held = None
                    if key != "all":
                        break
                    continue
                held[key].append(part)
            self._note_skipped(source)
            if key == "all":
                rows = count
        if held is not None:
            for reason, count in skipped.items():
                self.skipped[reason] = self.skipped.get(reason, 0) + count
        return held, rows, classes.codes() if label else None

    def _may_fit(self) -> bool:
        """Whether the encoded data may fit in `CACHE_BYTES`; False only when sources whose files take more than
        that are estimated at more than `ESTIMATE_MARGIN` times it (each source's `estimated_rows` times the
        encoded bytes of a row of its first chunk). Data known to be too large is streamed from the first pass,
        which then reads only what splitting needs, instead of keeping chunks it would drop."""
        if sum(file.stat().st_size for source in self.sources.values() for file in source.files) <= CACHE_BYTES:
            return True
        estimated = 0.0
        for key, source in self.sources.items():
            rows = source.estimated_rows()
            if rows is None:
                return True
            batches = source.batches(self.plans[key].read, CHUNK_ROWS, self.on_bad_rows)
            try:
                batch = next(batches, None)
            finally:
                batches.close()
            if batch is None:
                continue
            count = len(next(iter(batch.values())))
            estimated += self._held_bytes(self._rows(batch, np.arange(1, count + 1), {})) / count * rows
        return estimated <= ESTIMATE_MARGIN * CACHE_BYTES

    def _rows(self, batch: dict[str, np.ndarray], numbers: np.ndarray, skipped: dict[str, int]) -> Rows:
        """A chunk of source columns as model inputs, with its label and weight columns as read."""
        features, keep = encode_features(self.features, None, batch, numbers=numbers, on_bad_rows=self.on_bad_rows,
                                         skipped=skipped)
        if self.on_bad_rows == "skip" and self.labels:
            keep &= known_labels(self.labels, batch, skipped=skipped)
        return Rows(features, {column: batch[column] for column in self.raw_columns}, keep, numbers)

    def _held_bytes(self, part: Rows) -> int:
        """What the kept examples of a chunk take once encoded (as `_nbytes` counts them)."""
        kept = part.take(part.keep) if not part.keep.all() else part
        targets = sum(encoder.target_bytes() for encoder in self.labels.values()) * len(kept)
        return _nbytes(Encoded(kept.features, {}, None)) + targets

    def _assign(self, fold: tuple[int, int] | None, rows: int, labels: np.ndarray | None) -> np.ndarray:
        """Each source row's split (0 train, 1 validation, 2 test): one byte a row."""
        split = self.data.split
        fractions = {name: getattr(split, name) for name in SPLITS}
        seed = self.seed if split.seed is None else split.seed
        stratify = labels is not None
        assignment = assign_splits(rows, fractions, seed=seed, labels=labels, stratify=stratify)
        if fold is not None:
            index, folds = fold
            pool = np.flatnonzero(assignment != 2)
            pairs = kfold(len(pool), folds, seed, labels=None if labels is None else labels[pool], stratify=stratify)
            assignment[pool] = 0
            assignment[pool[pairs[index][1]]] = 1
        return assignment

    def _stratify_label(self) -> str | None:
        """The column a stratified split keeps the balance of: the first binary or categorical label's."""
        if not self.data.split.stratify or "all" not in self.sources:
            return None
        for encoder in self.labels.values():
            if encoder.single_class:
                return encoder.column
        return None

    def _note_skipped(self, source: Source) -> None:
        for reason, count in source.skipped.items():
            self.skipped[reason] = max(self.skipped.get(reason, 0), count)

    def _raw(self, split: str) -> Iterator[tuple[dict[str, np.ndarray], np.ndarray]]:
        """Raw column batches of one split, with each example's 1-based number in its source."""
        for _, batch, numbers in self._raw_splits((split,)):
            yield batch, numbers

    def _raw_splits(self, wanted: tuple[str, ...] = SPLITS) -> Iterator[tuple[str, dict[str, np.ndarray], np.ndarray]]:
        """(split, raw column batch, 1-based example numbers) of the `wanted` splits, in one pass over a
        shared source (a source per split is read split after split)."""
        if self.assignment is None:
            for split in wanted:
                source = self.sources.get(split)
                if source is None:
                    continue
                offset = 0
                for batch in source.batches(self.plans[split].read, CHUNK_ROWS, self.on_bad_rows):
                    size = len(next(iter(batch.values())))
                    yield split, batch, np.arange(offset + 1, offset + size + 1)
                    offset += size
                self._note_skipped(source)
            return
        offset = 0
        source = self.sources["all"]
        codes_wanted = [SPLITS.index(split) for split in wanted]
        for batch in source.batches(self.plans["all"].read, CHUNK_ROWS, self.on_bad_rows):
            size = len(next(iter(batch.values())))
            codes = self.assignment[offset:offset + size]
            numbers = np.arange(offset + 1, offset + size + 1)
            offset += size
            for split, code in zip(wanted, codes_wanted):
                mask = codes == code
                if mask.all():
                    yield split, batch, numbers
                elif mask.any():
                    yield split, {name: values[mask] for name, values in batch.items()}, numbers[mask]
        self._note_skipped(source)

    def _split_rows(self, held: dict[str, list[Rows]] | None, wanted: tuple[str, ...],
                    skipped: dict[str, int]) -> Iterator[tuple[str, Rows]]:
        """(split, chunk as model inputs) of the `wanted` splits in source order: from the held chunks, or
        read and turned into model inputs again (counting images that cannot be decoded into `skipped`)."""
        if held is None:
            for split, batch, numbers in self._raw_splits(wanted):
                yield split, self._rows(batch, numbers, skipped)
            return
        for key, parts in held.items():
            if key != "all":
                if key in wanted:
                    yield from ((key, part) for part in parts)
                continue
            for part in parts:
                codes = self.assignment[part.numbers - 1]
                for split in wanted:
                    mask = codes == SPLITS.index(split)
                    if mask.all():
                        yield split, part
                    elif mask.any():
                        yield split, part.take(mask)

    def _hold(self, split_rows: Iterator[tuple[str, Rows]]) -> None:
        """Keep every split in memory as model-ready examples when all of them together fit in `CACHE_BYTES`.

        Args:
            split_rows: (split, chunk) of every split, as `_split_rows` gives them.
        """
        parts: dict[str, list[Encoded]] = {split: [] for split in SPLITS}
        size = 0
        for split, part in split_rows:
            encoded = self._complete(part)
            if len(encoded):
                size += _nbytes(encoded)
                if size > CACHE_BYTES:
                    return
                parts[split].append(encoded)
        self._cache = {split: Encoded.join(chunks) for split, chunks in parts.items() if chunks}
        self._every_split_held = True

    def _hold_evaluation(self, evaluation: dict[str, list[Rows]]) -> None:
        """Keep the validation and test splits in memory as model-ready examples (the training split streams)."""
        for split, parts in evaluation.items():
            encoded = []
            parts.reverse()
            while parts:  # each chunk's raw columns are let go as soon as it is encoded
                chunk = self._complete(parts.pop())
                if len(chunk):
                    encoded.append(chunk)
            if encoded:
                self._cache[split] = Encoded.join(encoded)

    def _class_weight_table(self, fitting: Fitting) -> dict[int, float] | None:
        written = self.class_weight
        if not written:
            return None
        if written == "balanced":
            return fitting.balanced_weights()
        encoder = next(iter(self.labels.values()))
        index = {name: position for position, name in enumerate(encoder.classes)}
        unknown = [str(name) for name in written if str(name) not in index]
        if unknown:
            raise DataError(f"training.class_weight names {unknown}, which are not classes of label "
                            f"'{encoder.item.name}': {encoder.classes}")
        return {index[str(name)]: float(weight) for name, weight in written.items()}

    # Shards ------------------------------------------------------------------------------------------------

    def _train_source(self) -> str:
        return "all" if self.assignment is not None else "train"

    def _lay_out(self, shard: Shard, dropped: list[np.ndarray]) -> None:
        """Divide the training split among the workers (`self.layout`), from what the passes so far counted:
        every source row's split, the rows each file gave, and the training rows that are not examples."""
        source = self.sources[self._train_source()]
        if self.assignment is not None:
            train_rows = self.assignment == 0
        else:
            train_rows = np.ones(self.counts["train"] + sum(len(numbers) for numbers in dropped), dtype=bool)
        for numbers in dropped:
            train_rows[numbers - 1] = False
        file_rows = [source.file_rows.get(file) for file in source.files]
        if not file_rows or None in file_rows or sum(file_rows) != len(train_rows):
            file_rows = None
        by_files = has_glob(str(source.options.get("path", "")))
        self.layout = lay_out(shard, train_rows, file_rows=file_rows, file_names=source.files, by_files=by_files,
                              batch_size=self.batch_size)
        self._file_rows = file_rows
        if "train" in self._cache:
            self._shard_positions = positions(self.layout, train_rows)

    def _shard_chunks(self) -> Iterator[Encoded]:
        """This worker's training examples in source order, encoded, reading only the files its rows are in
        and encoding only its rows."""
        with located(self.sources[self._train_source()]):
            yield from self._shard_chunks_of_worker()

    def _shard_chunks_of_worker(self) -> Iterator[Encoded]:
        key = self._train_source()
        source = self.sources[key]
        intervals = self.layout.intervals[self.layout.shard.worker]
        if not intervals:
            return
        firsts = np.array([first for first, _ in intervals])
        lasts = np.array([last for _, last in intervals])
        if self._file_rows is None:
            readers = [(source, 0)]
        else:
            ends = np.cumsum(self._file_rows)
            readers = [(source.only([file], skip_rows=max(0, int(firsts[0]) - 1 - int(end - rows))), int(end - rows))
                       for file, rows, end in zip(source.files, self._file_rows, ends)
                       if rows and _overlaps(int(end - rows) + 1, int(end), firsts, lasts=lasts)]
        for reader, offset in readers:
            count = offset + reader.passed_over
            for batch in reader.batches(self.plans[key].read, CHUNK_ROWS, self.on_bad_rows):
                size = len(next(iter(batch.values())))
                numbers = np.arange(count + 1, count + size + 1)
                count += size
                if numbers[-1] < firsts[0]:
                    continue
                if numbers[0] > lasts[-1]:
                    break
                index = np.searchsorted(firsts, numbers, side="right") - 1
                mask = (index >= 0) & (numbers <= lasts[np.maximum(index, 0)])
                if self.assignment is not None:
                    mask &= self.assignment[numbers - 1] == 0
                if not mask.any():
                    continue
                if not mask.all():
                    batch, numbers = {name: values[mask] for name, values in batch.items()}, numbers[mask]
                encoded = self.encode(batch, numbers)
                if len(encoded):
                    yield encoded

    def _shard_dataset(self, tf, output_names: list[str], initial_epoch: int, *, epochs: int):
        """This worker's batches for training: `layout.pieces()` an epoch (one per local replica and step) of
        `layout.batch_size` examples, then what is left, then empty batches."""
        layout = self.layout
        size, pieces, seed = layout.batch_size, layout.pieces(), self.seed
        if "train" in self._cache:
            data = _tensors(tf, self._cache["train"].take(self._shard_positions))
            count = len(self._shard_positions)
            starts = np.minimum(np.arange(pieces, dtype=np.int64) * size, count)
            bounds = tf.data.Dataset.from_tensor_slices((starts, np.minimum(starts + size, count)))
            last = tf.constant(max(count - 1, 0), tf.int64)

            def epoch_batches(epoch):
                key = tf.stack([tf.constant(seed, tf.int64), epoch])

                def shuffled(start, stop):
                    # One index more than the batch, dropped after: `index_shuffle` fails on an empty batch.
                    indices = tf.minimum(tf.range(start, stop + 1), last)
                    return tf.random.experimental.index_shuffle(indices, key, last)[:stop - start]

                return bounds.map(shuffled)

            return tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_batches).repeat() \
                .map(lambda indices: self._structure(data.take_tensor(tf, indices), output_names),
                     num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(tf.data.AUTOTUNE)
        signature = self.signature(output_names)
        empty = tf.nest.map_structure(lambda spec: np.zeros((0, *spec.shape[1:]), spec.dtype.as_numpy_dtype),
                                      signature)

        def epoch_batches(epoch):
            given = 0
            for encoded in self._shuffled("train", int(epoch), self._shard_chunks(), batch_size=size):
                given += 1
                if given > pieces:
                    raise DataError(f"worker {layout.shard.worker}'s shard of the training split holds more than "
                                    f"its {layout.examples[layout.shard.worker]} examples: the data changed "
                                    "while training")
                yield self._structure(encoded, output_names)
            for _ in range(pieces - given):
                yield empty

        return tf.data.Dataset.range(initial_epoch, epochs).flat_map(
            lambda epoch: tf.data.Dataset.from_generator(epoch_batches, args=(epoch,), output_signature=signature)) \
            .repeat().prefetch(tf.data.AUTOTUNE)

    # Encoding ----------------------------------------------------------------------------------------------

    def encode(self, batch: dict[str, np.ndarray], numbers: np.ndarray, with_targets: bool = True) -> Encoded:
        """Turn raw columns into model inputs (raw values the model's preprocessing takes) and targets.

        Raises:
            DataError: a missing numeric value under the `error` strategy, an image that cannot be decoded, a
                label outside its classes; each names the example.
        """
        features, keep = encode_features(self.features, self.fitted, batch, numbers=numbers,
                                         on_bad_rows=self.on_bad_rows,
                                         skipped=self.skipped)
        columns = {column: batch[column] for column in self.raw_columns} if with_targets else {}
        if with_targets and self.on_bad_rows == "skip" and self.labels:
            keep &= known_labels(self.labels, batch, skipped=self.skipped)
        return self._complete(Rows(features, columns, keep, numbers), with_targets)

    def _complete(self, part: Rows, with_targets: bool = True) -> Encoded:
        """The kept examples of a chunk with their targets and weights."""
        if not part.keep.all():
            part = part.take(part.keep)  # a dropped example's label is never encoded: it may be one skipped
        targets = {}
        weights = None
        if with_targets:
            targets = {name: encoder.encode(part.columns[encoder.column], part.numbers)
                       for name, encoder in self.labels.items()}
            if self.weight:
                weights = part.columns[self.weight].astype(np.float32)
            if self._class_weights:
                first = next(iter(targets.values())).astype(int).reshape(-1)
                factors = np.ones(len(first), dtype=np.float32)
                for index, weight in self._class_weights.items():
                    factors[first == index] = weight
                weights = factors if weights is None else weights * factors
        return Encoded(part.features, targets, weights)

    def _source_of(self, split: str | None = None) -> Source | None:
        """The source whose example numbers an error in `split` (None: in any split) gives: the shared one, or
        the split's own; None when that is not one source."""
        if "all" in self.sources:
            return self.sources["all"]
        if split is None:
            return next(iter(self.sources.values())) if len(self.sources) == 1 else None
        return self.sources.get(split)

    def chunks(self, split: str) -> Iterator[Encoded]:
        """Encoded chunks of one split in source order."""
        with located(self._source_of(split)):
            yield from self._chunks(split)

    def _chunks(self, split: str) -> Iterator[Encoded]:
        if split in self._cache:
            yield self._cache[split]
            return
        if self._every_split_held or not self.counts.get(split):
            return  # every split with examples is held, or this one has none
        if self._stored is not None:
            for part in self._stored.parts(split):
                encoded = self._complete(part)
                if len(encoded):
                    yield encoded
            return
        for batch, numbers in self._raw(split):
            encoded = self.encode(batch, numbers)
            if len(encoded):
                yield encoded

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

    # tf.data -----------------------------------------------------------------------------------------------

    def steps(self, split: str) -> int:
        """Batches of a pass over `split`; for the training split of a worker, its shard's steps an epoch."""
        if split == "train" and self.layout is not None:
            return self.layout.steps
        return math.ceil(self.counts[split] / self.batch_size)

    def evaluation_batch_size(self, split: str) -> int:
        """Examples a batch of a pass that only evaluates `split` (no training step) may hold: `data.batch_size`
        times the largest factor up to `EVALUATION_BATCH_FACTOR` that keeps a batch of encoded examples within
        `EVALUATION_BATCH_BYTES`; `data.batch_size` for a split not held in memory.

        Inference keeps no activations for a backward pass, so a batch several times the training batch costs
        no more memory than a training step, and a pass takes that many times fewer steps. Losses and metrics
        are means over examples, whatever the batches.
        """
        held = self._cache.get(split) if self._every_split_held else None
        if held is None or not len(held):
            return self.batch_size
        per_example = max(1, _nbytes(held) // len(held))
        factor = max(1, min(EVALUATION_BATCH_FACTOR, EVALUATION_BATCH_BYTES // (per_example * self.batch_size)))
        return self.batch_size * factor

    def _cached_dataset(self, tf, split: str, output_names: list[str], *, training: bool, initial_epoch: int,
                        epochs: int, batch_size: int):
        """Batches gathered from the split held in memory; in training, epoch e is the permutation
        `index_shuffle(seed=[seed, e])` of the examples, the same whether or not the run was resumed.

        Training gathers `GROUP_BATCHES` batches at a time (fewer where they would pass `GROUP_BYTES`) and
        hands them on as slices of that gather: per-batch gathers in a parallel map took about a sixth of an
        epoch's CPU time from a small MLP's training steps on two cores. The batches are the same either way:
        batch i holds the examples at positions i * batch_size onwards of the epoch's permutation."""
        if split not in self._held_tensors:
            self._held_tensors[split] = _tensors(tf, self._cache[split])
        data = self._held_tensors[split]
        count = len(self._cache[split])

        def gather(indices):
            return self._structure(data.take_tensor(tf, indices), output_names)

        if not training:
            return tf.data.Dataset.range(count).batch(batch_size).map(gather).prefetch(tf.data.AUTOTUNE)
        seed, last = self.seed, tf.constant(count - 1, tf.int64)
        batch_bytes = max(1, _nbytes(self._cache[split]) * batch_size // max(count, 1))
        group = batch_size * max(1, min(GROUP_BATCHES, GROUP_BYTES // batch_bytes))
        starts = np.arange(0, count, group, dtype=np.int64)
        groups = tf.data.Dataset.from_tensor_slices((starts, np.minimum(starts + group, count)))

        def epoch_groups(epoch):
            key = tf.stack([tf.constant(seed, tf.int64), epoch])
            return groups.map(lambda start, stop: gather(
                tf.random.experimental.index_shuffle(tf.range(start, stop), key, last)))

        def batches(*rows):
            size = tf.shape(tf.nest.flatten(rows)[0], out_type=tf.int64)[0]
            whole = size // batch_size * batch_size
            full = tf.nest.map_structure(lambda values: tf.reshape(
                values[:whole], tf.concat([[-1, batch_size], tf.shape(values)[1:]], 0)), rows)
            rest = tf.nest.map_structure(lambda values: values[whole:], rows)
            return tf.data.Dataset.from_tensor_slices(full).concatenate(
                tf.data.Dataset.from_tensors(rest).take(tf.cast(size > whole, tf.int64)))

        return tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_groups).repeat().prefetch(2) \
            .flat_map(batches).prefetch(tf.data.AUTOTUNE)

    def _shuffled(self, split: str, epoch: int, parts: Iterator[Encoded] | None = None,
                  *, batch_size: int | None = None) -> Iterator[Encoded]:
        """Batches of `split` (or of `parts`, default the split's chunks) through a shuffle buffer keyed by the
        seed and `epoch`, all of `batch_size` examples (default `data.batch_size`) but the last."""
        rng = np.random.default_rng([self.seed, int(epoch)])
        buffer_size = self.data.shuffle_buffer
        batch_size = batch_size or self.batch_size
        pending: list[Encoded] = []
        held = 0
        for part in self.chunks(split) if parts is None else parts:
            pending.append(part)
            held += len(part)
            if held >= buffer_size:
                data = Encoded.join(pending)
                data = data.take(rng.permutation(len(data)))
                whole = (len(data) // batch_size) * batch_size
                for start in range(0, whole, batch_size):
                    yield data.take(slice(start, start + batch_size))
                pending = [data.take(slice(whole, None))]
                held = len(pending[0])
        if held:
            data = Encoded.join(pending)
            data = data.take(rng.permutation(len(data)))
            for start in range(0, len(data), batch_size):
                yield data.take(slice(start, start + batch_size))

    def _ordered(self, split: str) -> Iterator[Encoded]:
        for part in self.chunks(split):
            for start in range(0, len(part), self.batch_size):
                yield part.take(slice(start, start + self.batch_size))

    def _structure(self, encoded: Encoded, output_names: list[str]):
        targets = [encoded.targets[label] for label in self.labels]
        if len(output_names) == 1:
            y = targets[0]
        else:
            y = dict(zip(output_names, targets))
        if encoded.weights is not None:
            return encoded.features, y, encoded.weights
        return encoded.features, y

    def signature(self, output_names: list[str]):
        """The `tf.TensorSpec` structure of the batches `dataset` gives."""
        from modelctl.util.tf import tensorflow

        tf = tensorflow()
        features = {}
        for name, feature in self.fitted.features.items():
            shape, dtype = feature_type(feature.type).raw_shape(feature.entry)
            features[name] = tf.TensorSpec((None, *shape), dtype)
        targets = []
        for encoder in self.labels.values():
            shape, dtype = encoder.spec()
            targets.append(tf.TensorSpec((None, *shape), dtype))
        y = targets[0] if len(output_names) == 1 else dict(zip(output_names, targets))
        weighted = bool(self.weight) or bool(self._class_weights)
        return (features, y, tf.TensorSpec((None,), tf.float32)) if weighted else (features, y)

    def dataset(self, split: str, output_names: list[str], training: bool = False, *, initial_epoch: int = 0,
                epochs: int = 1, batch_size: int | None = None):
        """A `tf.data.Dataset` of (features, targets[, weights]) batches, its targets as Keras trains on them
        (`modelctl.data.labels.as_trained`); see `_dataset` for the arguments."""
        return as_trained(self._dataset(split, output_names, training, initial_epoch=initial_epoch, epochs=epochs,
                                        batch_size=batch_size), self.labels, output_names)

    def _dataset(self, split: str, output_names: list[str], training: bool = False, *, initial_epoch: int = 0,
                 epochs: int = 1, batch_size: int | None = None):
        """A `tf.data.Dataset` of (features, targets[, weights]) batches.

        Args:
            split: `train`, `validation` or `test`.
            output_names: the model's output names, in the order of `data.labels`.
            training: shuffle (keyed by seed and epoch) and give epochs `initial_epoch` .. `epochs - 1` one
                after the other, `steps(split)` batches each (then again, for a reader that asks past the last
                epoch); otherwise one pass in source order. Default False. For the training split of a worker
                (`prepare(..., shard=...)`), only its shard, in batches for each of its replicas:
                `steps(split)` times its local replicas per epoch, of the global batch over every replica.
            batch_size: examples a batch of a pass without training holds when the split is in memory (such as
                `evaluation_batch_size(split)`); default None: `data.batch_size`. Training batches are always
                `data.batch_size`.
        """
        from modelctl.util.tf import tensorflow

        tf = tensorflow()
        if training and split == "train" and self.layout is not None:
            return self._shard_dataset(tf, output_names, initial_epoch, epochs=epochs)
        if split in self._cache and self._every_split_held:
            return self._cached_dataset(tf, split, output_names, training=training, initial_epoch=initial_epoch,
                                        epochs=epochs,
                                        batch_size=self.batch_size if training or batch_size is None else batch_size)
        # An evaluation split held beside a streamed training split is handed on from its arrays, without a
        # second copy as tensors, so that memory stays bounded.
        signature = self.signature(output_names)
        if training:
            def epoch_batches(epoch):
                for encoded in self._shuffled(split, int(epoch)):
                    yield self._structure(encoded, output_names)

            epochs_dataset = tf.data.Dataset.range(initial_epoch, epochs)
            dataset = epochs_dataset.flat_map(
                lambda epoch: tf.data.Dataset.from_generator(epoch_batches, args=(epoch,),
                                                             output_signature=signature)).repeat()
        else:
            dataset = tf.data.Dataset.from_generator(
                lambda: (self._structure(encoded, output_names) for encoded in self._ordered(split)),
                output_signature=signature)
        return dataset.prefetch(tf.data.AUTOTUNE)


GROUP_BATCHES = 64
"""Training batches gathered from held data in one step (`Prepared._cached_dataset`)."""

GROUP_BYTES = 4 * 2**20
"""At most this many bytes of encoded examples are gathered in one step, in whole batches (at least one)."""

EVALUATION_BATCH_FACTOR = 64
"""At most this many training batches make one batch of a pass without training (`evaluation_batch_size`)."""

EVALUATION_BATCH_BYTES = 8 * 2**20
"""At most this many bytes of encoded examples make one batch of a pass without training: 8 MiB, which is 16
batches of 256 rows of 500 float32 columns, 64 of 256 rows of 54, or 5 batches of 32 float32 images of 64x64x3."""


def _overlaps(first: int, last: int, firsts: np.ndarray, *, lasts: np.ndarray) -> bool:
    """Whether rows `first`..`last` meet one of the intervals `firsts[i]`..`lasts[i]`."""
    return bool(np.any((firsts <= last) & (lasts >= first)))


def _tensors(tf, encoded: Encoded):
    def tensor(values: np.ndarray):
        return tf.constant(values.astype(str) if values.dtype == object else values)

    return Encoded({name: tensor(values) for name, values in encoded.features.items()},
                   {name: tensor(values) for name, values in encoded.targets.items()},
                   None if encoded.weights is None else tensor(encoded.weights))


def _nbytes(encoded: Encoded) -> int:
    """Bytes of the features and targets: an array's own size, or for text the characters plus 50 a value."""
    total = 0
    for values in [*encoded.features.values(), *encoded.targets.values()]:
        total += values.nbytes if values.dtype != object else _text_bytes(values)
    return total


def _text_bytes(values: np.ndarray) -> int:
    import pyarrow
    import pyarrow.compute as compute

    flat = values.reshape(-1)
    try:
        characters = compute.sum(compute.utf8_length(pyarrow.array(flat, pyarrow.string()))).as_py() or 0
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        characters = sum(len(str(value)) for value in flat)
    return characters + 50 * len(flat)


def prepare(document, *, fold: tuple[int, int] | None = None, fitted: Fitted | None = None,
            cache: DataCache | None = None, shard: Shard | None = None) -> Prepared:
    """Read, split and fit the data of a spec, or take them from the prepared-data cache.

    Args:
        document: the loaded, valid spec.
        fold: (index, k) to make the validation split fold `index` of `k` over the non-test rows; default None.
        fitted: statistics and class names of an earlier fit (a run's `modelctl.runs.Fitted`), reused instead
            of fitting again; default None fits on the training split.
        cache: where prepared data is kept between runs and whether it is (`modelctl.data.cache.DataCache`);
            default None: in `$MODELCTL_CACHE_DIR`, else `~/.cache/modelctl`. `DataCache(enabled=False)` reads
            the source and fits every time. Not used with `shard`.
        shard: this worker's place in a multi-worker run; its training batches are then its shard of the
            training split (see `modelctl.data.shards`). Default None: one process reads everything.

    Raises:
        DataError: a file, column or value that cannot be read (naming it).
    """
    if fitted is not None:
        fitted = Fitted.from_json(fitted, source="the fitted preprocessing given")
    return Prepared(document, fold=fold, fitted=fitted, cache=cache, shard=shard)


__all__ = ["CACHE_BYTES", "Encoded", "Prepared", "encode_features", "open_typed", "prepare"]
