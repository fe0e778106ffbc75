"""The spec's `data` section as training, validation and test data: split, fitted, encoded, batched.

    prepared = prepare(document)                  # reads the source, splits it, fits the preprocessing
    prepared.counts                               # {"train": 105, "validation": 22, "test": 23}
    prepared.fitted                               # statistics and vocabularies, JSON (saved in the run)
    prepared.dataset("train", training=True)      # tf.data: (features, targets[, weights]) batches
    prepared.arrays("test")                       # the same examples as numpy arrays

Passes over the source, each streamed in chunks of `CHUNK_ROWS` rows: one counts
the rows (and reads the label a stratified split needs), one per fitted
statistic reads the training split, one encodes every split. Encoded splits
are kept in memory when `data.cache` is true and all of them together fit in
`CACHE_BYTES`; otherwise every split streams from the source each time it is
read (each epoch, each evaluation), holding a chunk and a shuffle buffer.

Shuffling is keyed by the seed and the epoch number: epoch e of a run shows
the training examples in the same order whether the run was interrupted and
resumed or not. In memory the whole split is permuted (TensorFlow's stateless
`index_shuffle`, so batches are gathered inside tf.data without Python); when
streaming, a buffer of `data.shuffle_buffer` examples is (numpy, keyed the same way).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data import numeric
from modelctl.data.columns import ColumnPlan, decode_images, learned_vocabulary, numeric_matrix, strings
from modelctl.data.errors import DataError
from modelctl.data.labels import LabelEncoder
from modelctl.data.sources import Source, open_source
from modelctl.data.splits import SPLITS, assign_splits, kfold

CHUNK_ROWS = 4096
CACHE_BYTES = 128 * 2**20
"""Largest encoded data (all splits together) kept in memory; larger data streams from the source every epoch.
Held for training, the examples take about three times this as TensorFlow tensors."""


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

    def __init__(self, document, fold: tuple[int, int] | None = None, fitted: dict | None = None):
        spec = document.data
        self.document = document
        self.data = spec.get("data") or {}
        if not self.data:
            raise DataError("the spec has no `data` section; add one to train, evaluate or predict from data")
        training = spec.get("training") or {}
        self.seed = int(spec.get("seed", 0) or 0)
        self.batch_size = int(self.data.get("batch_size", 32))
        self.on_bad_rows = self.data.get("on_bad_rows", "error")
        self.skipped: dict[str, int] = {}
        self.sources: dict[str, Source] = {}
        features = self.data.get("features") or {}
        if self.data.get("source"):
            self.sources["all"] = open_typed(self.data["source"], document.base_dir, features)
        else:
            for split in SPLITS:
                written = (self.data.get("sources") or {}).get(split)
                if written:
                    self.sources[split] = open_typed(written, document.base_dir, features)
        self.plans = {key: ColumnPlan(self.data, source.columns, source.where, training.get("sample_weight"))
                      for key, source in self.sources.items()}
        plan = next(iter(self.plans.values()))
        self.features = plan.features
        classes = None if fitted is None else {name: label.get("classes")
                                               for name, label in fitted["labels"].items()}
        self.labels = {name: LabelEncoder(item, None if classes is None else classes.get(name))
                       for name, item in plan.labels.items()}
        self.class_weight = training.get("class_weight")
        self.assignment = self._assign(fold) if "all" in self.sources else None
        self._cache: dict[str, Encoded] = {}
        if fitted is None:
            for encoder in self.labels.values():
                encoder.fit(batch for batch, _ in self._raw("train"))
            self.fitted = self._fit()
        else:
            self.fitted = fitted
        self._class_weights = self._balanced_weights()
        self.counts = self._count()

    # Reading -----------------------------------------------------------------------------------------------

    def _assign(self, fold: tuple[int, int] | None) -> np.ndarray:
        """Each source row's split (0 train, 1 validation, 2 test): one byte a row, plus a class code a row when
        the split is stratified."""
        split = self.data.get("split") or {}
        fractions = {name: split.get(name, default) for name, default in zip(SPLITS, (0.8, 0.1, 0.1))}
        seed = split.get("seed")
        seed = self.seed if seed is None else int(seed)
        label = self._stratify_label()
        stratify = bool(split.get("stratify")) and label is not None
        classes: dict[str, int] = {}
        codes: list[np.ndarray] = []
        count = 0
        source = self.sources["all"]
        for batch in source.batches(self.plans["all"].read, CHUNK_ROWS, self.on_bad_rows):
            count += len(next(iter(batch.values())))
            if stratify:
                names, inverse = np.unique(strings(batch[label])[:, 0], return_inverse=True)
                known = np.array([classes.setdefault(name, len(classes)) for name in names], dtype=np.int32)
                codes.append(known[inverse])
        self._note_skipped(source)
        labels = None
        if stratify:
            ranked = np.empty(len(classes), dtype=np.int32)
            ranked[[classes[name] for name in sorted(classes)]] = np.arange(len(classes), dtype=np.int32)
            labels = ranked[np.concatenate(codes)] if codes else np.empty(0, dtype=np.int32)
            del codes
        assignment = assign_splits(count, fractions, seed, labels, stratify)
        if fold is not None:
            index, folds = fold
            pool = np.flatnonzero(assignment != 2)
            pairs = kfold(len(pool), folds, seed, None if labels is None else labels[pool], stratify)
            assignment[pool] = 0
            assignment[pool[pairs[index][1]]] = 1
        return assignment

    def _stratify_label(self) -> str | None:
        for encoder in self.labels.values():
            if encoder.kind in ("binary", "categorical"):
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
        for batch in source.batches(self.plans["all"].read, CHUNK_ROWS, self.on_bad_rows):
            size = len(next(iter(batch.values())))
            codes = self.assignment[offset:offset + size]
            numbers = np.arange(offset + 1, offset + size + 1)
            offset += size
            for split in wanted:
                mask = codes == SPLITS.index(split)
                if mask.any():
                    yield split, {name: values[mask] for name, values in batch.items()}, numbers[mask]
        self._note_skipped(source)

    # Fitting -----------------------------------------------------------------------------------------------

    def _fit(self) -> dict:
        features = {}
        for name, item in self.features.items():
            options = item.options
            kind = item.kind
            if kind == "numeric":
                width = self._width(item)
                features[name] = {"type": "numeric", "columns": list(item.columns), "width": width,
                                  "shape": options.get("shape"), "augmentation": options.get("augmentation") or [],
                                  "steps": numeric.fit_numeric(options, width, lambda item=item: self._numeric(item))}
            elif kind == "categorical":
                features[name] = {"type": "categorical", "column": item.columns[0],
                                  "vocabulary": self._vocabulary(item),
                                  "num_oov_indices": options.get("num_oov_indices", 1),
                                  "output_mode": options.get("output_mode", "one_hot")}
            elif kind == "text":
                features[name] = {"type": "text", "column": item.columns[0], **self._text_vocabulary(item)}
            else:
                features[name] = {"type": "image", "column": item.columns[0], "size": list(options["size"]),
                                  "channels": options.get("channels", 3),
                                  "steps": numeric.fit_numeric({"preprocessing": options.get("preprocessing")}, 1,
                                                               lambda: iter(())),
                                  "augmentation": options.get("augmentation") or []}
        labels = {name: {"type": encoder.kind, "column": encoder.column, "classes": encoder.classes}
                  for name, encoder in self.labels.items()}
        return {"features": features, "labels": labels}

    def _width(self, item) -> int:
        """Values per example: one per column, times the size of each value (a column of 8x8 arrays gives 64)."""
        for batch, _ in self._raw("train"):
            return int(numeric_matrix(batch, item).shape[1])
        return len(item.columns)

    def _numeric(self, item) -> Iterator[np.ndarray]:
        strategy = (item.options.get("missing") or {}).get("strategy", "error")
        for batch, _ in self._raw("train"):
            matrix = numeric_matrix(batch, item)
            if strategy == "drop":
                matrix = matrix[~np.isnan(matrix).any(axis=1)]
            yield matrix

    def _vocabulary(self, item) -> list[str]:
        options = item.options
        if options.get("vocabulary"):
            return [str(value) for value in options["vocabulary"]]
        return learned_vocabulary((batch[item.columns[0]] for batch, _ in self._raw("train")),
                                  options.get("max_tokens"))

    def _text_vocabulary(self, item) -> dict:
        from modelctl.util.tf import tensorflow

        tf = tensorflow()
        import keras

        options = item.options
        settings = {"max_tokens": options.get("max_tokens", 20000),
                    "standardize": options.get("standardize", "lower_and_strip_punctuation"),
                    "split": options.get("split", "whitespace"), "ngrams": options.get("ngrams"),
                    "output_mode": options.get("output_mode", "int"),
                    "sequence_length": options.get("sequence_length")}
        layer = keras.layers.TextVectorization(
            max_tokens=settings["max_tokens"],
            standardize=None if settings["standardize"] == "none" else settings["standardize"],
            split=settings["split"], ngrams=settings["ngrams"], output_mode=settings["output_mode"],
            output_sequence_length=settings["sequence_length"])
        texts = [strings(batch[item.columns[0]])[:, 0].astype(str) for batch, _ in self._raw("train")]
        layer.adapt(tf.data.Dataset.from_tensor_slices(np.concatenate(texts) if texts else np.array([""])).batch(256))
        vocabulary = [str(token) for token in layer.get_vocabulary(include_special_tokens=False)]
        idf = None
        if settings["output_mode"] == "tf_idf":
            idf = [float(value) for value in layer._lookup_layer.idf_weights.numpy()[1:]]
        return {**settings, "vocabulary": vocabulary, "idf_weights": idf}

    def _balanced_weights(self) -> dict[int, float] | None:
        written = self.class_weight
        if not written:
            return None
        encoder = next(iter(self.labels.values()), None)
        if encoder is None or encoder.kind not in ("binary", "categorical"):
            raise DataError("training.class_weight needs a binary or categorical label")
        if written == "balanced":
            counts = np.zeros(len(encoder.classes))
            for batch, numbers in self._raw("train"):
                targets = encoder.encode(batch[encoder.column], numbers).astype(int)
                counts += np.bincount(targets, minlength=len(counts))
            total = counts.sum()
            return {index: float(total / (len(counts) * count)) if count else 1.0
                    for index, count in enumerate(counts)}
        index = {name: position for position, name in enumerate(encoder.classes)}
        unknown = [str(name) for name in written if str(name) not in index]
        if unknown:
            raise DataError(f"training.class_weight names {unknown}, which are not classes of label "
                            f"'{encoder.item.name}': {encoder.classes}")
        return {index[str(name)]: float(weight) for name, weight in written.items()}

    # Encoding ----------------------------------------------------------------------------------------------

    def encode(self, batch: dict[str, np.ndarray], numbers: np.ndarray, with_targets: bool = True) -> Encoded:
        """Turn raw columns into model inputs (raw values the model's preprocessing takes) and targets.

        Raises:
            DataError: a missing numeric value under the `error` strategy, an image that cannot be decoded, a
                label outside its classes; each names the example.
        """
        features, keep = encode_features(self.features, self.fitted, batch, numbers, self.on_bad_rows,
                                         self.skipped)
        targets = {}
        weights = None
        if with_targets:
            targets = {name: encoder.encode(batch[encoder.column], numbers) for name, encoder in self.labels.items()}
            weight_column = next(iter(self.plans.values())).weight
            if weight_column:
                weights = batch[weight_column].astype(np.float32)
            if self._class_weights:
                first = next(iter(targets.values())).astype(int).reshape(-1)
                factors = np.array([self._class_weights.get(index, 1.0) for index in first], dtype=np.float32)
                weights = factors if weights is None else weights * factors
        encoded = Encoded(features, targets, weights)
        return encoded if keep.all() else encoded.take(keep)

    def chunks(self, split: str) -> Iterator[Encoded]:
        """Encoded chunks of one split in source order."""
        if split in self._cache:
            yield self._cache[split]
            return
        for batch, numbers in self._raw(split):
            encoded = self.encode(batch, numbers)
            if len(encoded):
                yield encoded

    def _count(self) -> dict[str, int]:
        """Examples of every split, encoded in one pass (so bad data is found before training starts). With
        `data.cache` on, the splits are kept in memory when all of them together fit in `CACHE_BYTES`; what was
        kept is dropped as soon as the data is known not to fit (the source's rows times the size of the
        examples encoded so far, or the bytes encoded so far), so large data is never held."""
        keep = bool(self.data.get("cache", True))
        rows = None if self.assignment is None else len(self.assignment)
        parts: dict[str, list[Encoded]] = {split: [] for split in SPLITS}
        counts = dict.fromkeys(SPLITS, 0)
        size = 0
        for split, batch, numbers in self._raw_splits():
            encoded = self.encode(batch, numbers)
            counts[split] += len(encoded)
            if keep and len(encoded):
                size += _nbytes(encoded)
                seen = sum(counts.values())
                keep = size <= CACHE_BYTES and (rows is None or size / seen * rows <= CACHE_BYTES)
                parts[split].append(encoded)
                if not keep:
                    parts.clear()
        if keep:
            self._cache = {split: Encoded.join(chunks) for split, chunks in parts.items() if chunks}
        return counts

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
        return math.ceil(self.counts[split] / self.batch_size)

    def _cached_dataset(self, tf, split: str, output_names: list[str], training: bool, initial_epoch: int,
                        epochs: int):
        """Batches gathered from the split held in memory; in training, epoch e is the permutation
        `index_shuffle(seed=[seed, e])` of the examples, the same whether or not the run was resumed."""
        data = _tensors(tf, self._cache[split])
        count = len(self._cache[split])

        def gather(indices):
            return self._structure(data.take_tensor(tf, indices), output_names)

        batches = tf.data.Dataset.range(count).batch(self.batch_size)
        if not training:
            return batches.map(gather).prefetch(tf.data.AUTOTUNE)
        seed = self.seed

        def epoch_batches(epoch):
            def shuffled(indices):
                key = tf.stack([tf.constant(seed, tf.int64), epoch])
                return tf.random.experimental.index_shuffle(indices, key, tf.constant(count - 1, tf.int64))

            return batches.map(shuffled)

        ordered = tf.data.Dataset.range(initial_epoch, epochs).flat_map(epoch_batches).repeat()
        return ordered.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) \
            .prefetch(tf.data.AUTOTUNE)

    def _shuffled(self, split: str, epoch: int) -> Iterator[Encoded]:
        rng = np.random.default_rng([self.seed, int(epoch)])
        buffer_size = int(self.data.get("shuffle_buffer", 10000))
        pending: list[Encoded] = []
        held = 0
        for part in self.chunks(split):
            pending.append(part)
            held += len(part)
            if held >= buffer_size:
                data = Encoded.join(pending)
                data = data.take(rng.permutation(len(data)))
                whole = (len(data) // self.batch_size) * self.batch_size
                for start in range(0, whole, self.batch_size):
                    yield data.take(slice(start, start + self.batch_size))
                pending = [data.take(slice(whole, None))]
                held = len(pending[0])
        if held:
            data = Encoded.join(pending)
            data = data.take(rng.permutation(len(data)))
            for start in range(0, len(data), self.batch_size):
                yield data.take(slice(start, start + self.batch_size))

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
        for name, fitted in self.fitted["features"].items():
            if fitted["type"] == "numeric":
                features[name] = tf.TensorSpec((None, fitted["width"]), tf.float32)
            elif fitted["type"] == "image":
                features[name] = tf.TensorSpec((None, *fitted["size"], fitted["channels"]), tf.float32)
            elif fitted["type"] == "text":
                features[name] = tf.TensorSpec((None,), tf.string)
            else:
                features[name] = tf.TensorSpec((None, 1), tf.string)
        targets = []
        for encoder in self.labels.values():
            shape, dtype = encoder.spec()
            targets.append(tf.TensorSpec((None, *shape), dtype))
        y = targets[0] if len(output_names) == 1 else dict(zip(output_names, targets))
        weighted = bool(next(iter(self.plans.values())).weight) or bool(self._class_weights)
        return (features, y, tf.TensorSpec((None,), tf.float32)) if weighted else (features, y)

    def dataset(self, split: str, output_names: list[str], training: bool = False, initial_epoch: int = 0,
                epochs: int = 1):
        """A `tf.data.Dataset` of (features, targets[, weights]) batches.

        Args:
            split: `train`, `validation` or `test`.
            output_names: the model's output names, in the order of `data.labels`.
            training: shuffle (keyed by seed and epoch) and give epochs `initial_epoch` .. `epochs - 1` one
                after the other, `steps(split)` batches each (then again, for a reader that asks past the last
                epoch); otherwise one pass in source order.
        """
        from modelctl.util.tf import tensorflow

        tf = tensorflow()
        if split in self._cache:
            return self._cached_dataset(tf, split, output_names, training, initial_epoch, epochs)
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


def open_typed(options: dict, base_dir: Path, features: dict) -> Source:
    """Open a source; in a CSV or TSV file the columns of numeric features are read as floats, so that a word
    among numbers is reported with its file, row and column."""
    source = open_source(options, base_dir)
    if source.format not in ("csv", "tsv"):
        return source
    plan = ColumnPlan({"features": features}, source.columns, source.where)
    declared = dict(options.get("column_types") or {})
    numeric_columns = {column: "float" for item in plan.features.values() if item.kind == "numeric"
                       for column in item.columns if column not in declared}
    if not numeric_columns:
        return source
    return open_source({**options, "column_types": {**declared, **numeric_columns}}, base_dir)


def encode_features(features: dict, fitted: dict, batch: dict[str, np.ndarray], numbers: np.ndarray,
                    on_bad_rows: str, skipped: dict[str, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The raw values the model takes for a batch of source columns, and which examples are kept.

    Args:
        features: feature name -> `Columns` (from `ColumnPlan`).
        fitted: the fitted preprocessing (`Prepared.fitted`).
        batch: source column -> values.
        numbers: each example's 1-based number, for messages.
        on_bad_rows: `error` or `skip` (an image that cannot be decoded).
        skipped: reason -> count of skipped examples; filled in place.

    Raises:
        DataError: a missing numeric value under the `error` strategy, an image that cannot be decoded.
    """
    keep = np.ones(len(numbers), dtype=bool)
    values: dict[str, np.ndarray] = {}
    for name, item in features.items():
        feature = fitted["features"][name]
        if item.kind == "numeric":
            matrix = numeric_matrix(batch, item)
            missing = np.isnan(matrix).any(axis=1)
            strategy = (item.options.get("missing") or {}).get("strategy", "error")
            if strategy == "drop":
                keep &= ~missing
            elif strategy == "error" and missing.any():
                row = int(np.argmax(missing))
                columns = [column for column, absent in zip(item.columns, np.isnan(matrix[row])) if absent]
                raise DataError(f"example {numbers[row]}: numeric feature '{name}' has a missing value in "
                                f"column '{columns[0] if columns else item.columns[0]}'; set `missing: {{strategy: "
                                "mean}` (or median, constant, drop) to fill or drop missing values")
            values[name] = matrix
        elif item.kind == "image":
            images, decoded = decode_images(batch[item.columns[0]], feature["size"], feature["channels"],
                                            on_bad_rows, skipped)
            keep &= decoded
            values[name] = images
        elif item.kind == "text":
            values[name] = strings(batch[item.columns[0]])[:, 0]
        else:
            values[name] = strings(batch[item.columns[0]])
    return values, keep


def _tensors(tf, encoded: Encoded):
    def tensor(values: np.ndarray):
        return tf.constant(values.astype(str) if values.dtype == object else values)

    return Encoded({name: tensor(values) for name, values in encoded.features.items()},
                   {name: tensor(values) for name, values in encoded.targets.items()},
                   None if encoded.weights is None else tensor(encoded.weights))


def _nbytes(encoded: Encoded) -> int:
    total = 0
    for values in [*encoded.features.values(), *encoded.targets.values()]:
        total += values.nbytes if values.dtype != object else sum(len(str(value)) + 50 for value in values.flat)
    return total


def prepare(document, fold: tuple[int, int] | None = None, fitted: dict | None = None) -> Prepared:
    """Read, split and fit the data of a spec.

    Args:
        document: the loaded, valid spec.
        fold: (index, k) to make the validation split fold `index` of `k` over the non-test rows; default None.
        fitted: statistics and class names of an earlier fit (a run's `preprocessing.json`), reused instead
            of fitting again; default None fits on the training split.

    Raises:
        DataError: a file, column or value that cannot be read (naming it).
    """
    return Prepared(document, fold, fitted)


def model_input_specs(fitted: dict) -> list:
    """The shapes the core model's inputs take: what each feature's preprocessing gives."""
    from modelctl.model.inputs import feature_input

    return [feature_input(name, feature) for name, feature in fitted["features"].items()]


__all__ = ["CACHE_BYTES", "Encoded", "Prepared", "encode_features", "open_typed", "model_input_specs", "prepare"]
