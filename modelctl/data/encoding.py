"""Examples ready for the model, and how a source's columns become them.

    encoder = Encoder(features, labels, weight=None, on_bad_rows="error")
    rows = encoder.rows(batch, numbers, skipped)     # model inputs + the label and weight columns as read
    encoded = encoder.complete(rows)                 # Encoded: features, targets, weights of the kept examples
    encoder.class_weights = class_weight_table(...)  # once fitted: weights by class, folded into `weights`

Model inputs are each feature type's raw values (`FeatureType.encode_held`): what
the assembled model takes, in the narrowest dtype that holds them exactly (images
as uint8 pixels), so that held and cached examples take as little memory as they
can; `Encoded.as_raw` and the batches the pipeline makes cast them to the dtype
of the model's inputs (`FeatureType.raw_shape`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from modelctl.data.columns import encode_features
from modelctl.data.errors import DataError
from modelctl.data.fitting import Fitting, Rows
from modelctl.data.labels import known_labels
from modelctl.features import feature_type


@dataclasses.dataclass
class Encoded:
    """A batch of examples ready for the model: feature and label name -> one value per example, and each
    example's weight (None when there are none)."""

    features: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    weights: np.ndarray | None

    def __len__(self) -> int:
        return len(next(iter(self.features.values())))

    def take(self, index) -> "Encoded":
        """The examples at `index` (a slice, mask or positions)."""
        return Encoded({name: values[index] for name, values in self.features.items()},
                       {name: values[index] for name, values in self.targets.items()},
                       None if self.weights is None else self.weights[index])

    def take_tensor(self, tf, indices) -> "Encoded":
        """The examples at `indices` of an Encoded holding tensors."""
        return Encoded({name: tf.gather(values, indices) for name, values in self.features.items()},
                       {name: tf.gather(values, indices) for name, values in self.targets.items()},
                       None if self.weights is None else tf.gather(self.weights, indices))

    @staticmethod
    def join(parts: list["Encoded"]) -> "Encoded":
        """The examples of `parts`, one after another."""
        first = parts[0]
        if len(parts) == 1:
            return first
        return Encoded({name: np.concatenate([part.features[name] for part in parts]) for name in first.features},
                       {name: np.concatenate([part.targets[name] for part in parts]) for name in first.targets},
                       None if first.weights is None else np.concatenate([part.weights for part in parts]))

    def nbytes(self) -> int:
        """Bytes of the features and targets: an array's own size, or for text the characters plus 50 a value."""
        return sum(values.nbytes if values.dtype != object else text_bytes(values)
                   for values in [*self.features.values(), *self.targets.values()])

    def tensors(self, tf) -> "Encoded":
        """The same examples as TensorFlow constants (text as strings)."""
        def tensor(values: np.ndarray):
            return tf.constant(values.astype(str) if values.dtype == object else values)

        return Encoded({name: tensor(values) for name, values in self.features.items()},
                       {name: tensor(values) for name, values in self.targets.items()},
                       None if self.weights is None else tensor(self.weights))

    def as_raw(self, dtypes: dict[str, str]) -> "Encoded":
        """The examples with each feature in the dtype the model's raw input takes (`dtypes`, feature -> dtype;
        see `raw_dtypes`), where it is held in a narrower one."""
        if all(str(self.features[name].dtype) == dtype or self.features[name].dtype == object
               for name, dtype in dtypes.items()):
            return self
        return Encoded({name: values if values.dtype == object or str(values.dtype) == dtypes[name]
                        else values.astype(dtypes[name]) for name, values in self.features.items()},
                       self.targets, self.weights)


def raw_dtypes(fitted) -> dict[str, str]:
    """Feature name -> the dtype of the model's raw input for it (`FeatureType.raw_shape`), from the fitted
    preprocessing (`modelctl.runs.Fitted`)."""
    return {name: feature_type(feature.type).raw_shape(feature.entry)[1] for name, feature in fitted.features.items()}


def text_bytes(values: np.ndarray) -> int:
    """What an object array of text takes in memory: its characters plus 50 bytes a value."""
    import pyarrow
    import pyarrow.compute as compute

    flat = values.reshape(-1)
    try:
        characters = compute.sum(compute.utf8_length(pyarrow.array(flat, pyarrow.string()))).as_py() or 0
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError):
        characters = sum(len(str(value)) for value in flat)
    return characters + 50 * len(flat)


class Encoder:
    """Turns a source's columns into model inputs, targets and weights.

    Args:
        features: feature name -> `Columns` (from `ColumnPlan`).
        labels: label name -> `LabelType`, whose classes may still be learned.
        weight: the column holding each example's weight (`training.sample_weight`), or None.
        on_bad_rows: `error` or `skip`: what a value that cannot be read does.

    Attributes:
        raw_columns: the label and weight columns kept as read beside the model inputs.
        class_weights: class index of the first label -> weight (`training.class_weight`), folded into every
            example's weight; None (the default) until set, or when the spec sets none.
        fitted: the fitted preprocessing features are encoded with (`modelctl.runs.Fitted`); None (the default)
            encodes them by the spec's options, as before fitting (raw values do not depend on what is fitted).
    """

    def __init__(self, features: dict, labels: dict, *, weight: str | None, on_bad_rows: str):
        self.features = features
        self.labels = labels
        self.weight = weight
        self.on_bad_rows = on_bad_rows
        self.raw_columns = list(dict.fromkeys([*(encoder.column for encoder in labels.values()),
                                               *([weight] if weight else [])]))
        self.class_weights: dict[int, float] | None = None
        self.fitted = None

    @property
    def weighted(self) -> bool:
        """Whether examples carry weights (a sample weight column or class weights)."""
        return bool(self.weight) or bool(self.class_weights)

    def rows(self, batch: dict[str, np.ndarray], numbers: np.ndarray, skipped: dict[str, int]) -> Rows:
        """A chunk of source columns as model inputs, with its label and weight columns as read; under
        `on_bad_rows: skip`, an example whose label value is not one of the label's known classes is not kept
        (`modelctl.data.labels.known_labels`) and counted in `skipped`.

        Raises:
            DataError: a missing numeric value under the `error` strategy, an image that cannot be decoded.
        """
        features, keep = encode_features(self.features, self.fitted, batch, numbers=numbers,
                                         on_bad_rows=self.on_bad_rows, skipped=skipped, held=True)
        if self.on_bad_rows == "skip" and self.labels:
            keep &= known_labels(self.labels, batch, skipped=skipped)
        return Rows(features, {column: batch[column] for column in self.raw_columns}, keep, numbers)

    def encode(self, batch: dict[str, np.ndarray], numbers: np.ndarray, skipped: dict[str, int]) -> Encoded:
        """The kept examples of a chunk of source columns, with their targets and weights.

        Raises:
            DataError: a value that cannot be read, or a label outside its classes; each names the example.
        """
        return self.complete(self.rows(batch, numbers, skipped))

    def complete(self, part: Rows) -> Encoded:
        """The kept examples of a chunk with their targets and weights."""
        if not part.keep.all():
            part = part.take(part.keep)  # a dropped example's label is never encoded: it may be one skipped
        targets = {name: encoder.encode(part.columns[encoder.column], part.numbers)
                   for name, encoder in self.labels.items()}
        weights = part.columns[self.weight].astype(np.float32) if self.weight else None
        if self.class_weights:
            first = next(iter(targets.values())).astype(int).reshape(-1)
            factors = np.ones(len(first), dtype=np.float32)
            for index, weight in self.class_weights.items():
                factors[first == index] = weight
            weights = factors if weights is None else weights * factors
        return Encoded(part.features, targets, weights)

    def held_bytes(self, part: Rows) -> int:
        """What the kept examples of a chunk take once encoded (as `Encoded.nbytes` counts them)."""
        kept = part.take(part.keep) if not part.keep.all() else part
        targets = sum(encoder.target_bytes() for encoder in self.labels.values()) * len(kept)
        return Encoded(kept.features, {}, None).nbytes() + targets


def class_weight_table(written, labels: dict, fitting: Fitting | None) -> dict[int, float] | None:
    """Class index of the first label -> weight, from `training.class_weight` as written (`balanced`, or class
    name -> weight); None when it is not set.

    Raises:
        DataError: a class name that is not a class of the label.
    """
    if not written:
        return None
    if written == "balanced":
        return fitting.balanced_weights()
    encoder = next(iter(labels.values()))
    index = {name: position for position, name in enumerate(encoder.classes)}
    unknown = [str(name) for name in written if str(name) not in index]
    if unknown:
        raise DataError(f"training.class_weight names {unknown}, which are not classes of label "
                        f"'{encoder.item.name}': {encoder.classes}")
    return {index[str(name)]: float(weight) for name, weight in written.items()}


__all__ = ["Encoded", "Encoder", "class_weight_table", "raw_dtypes", "text_bytes"]
