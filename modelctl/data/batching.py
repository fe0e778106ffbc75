"""Batches as tf.data: gathered from examples held in memory, or made in Python from streamed pieces.

    shape = Shape(fitted, labels, output_names, weighted=True)
    held_training(tf, tensors, count=count, shape=shape, seed=7, batch_size=32, epochs=Epochs(0, 10))
    streamed(tf, epoch_blocks, shape, held={}, epochs=Epochs(0, 10, clock=clock, steps=313), steps=313,
             batch_size=32)

Training takes the epochs `Epochs` names. Without a clock, one dataset gives
epochs `initial` .. `epochs - 1` one after the other and then again, for a loop
that reads `steps` batches an epoch from one iterator. With an `EpochClock`,
each pass over the dataset (an iterator made at each epoch's start, as Keras's
`fit` makes one) is one epoch: the clock's, exactly `steps` batches, so that the
last execution of several fused steps (`training.steps_per_execution`) may be
shorter than the others instead of running into the next epoch. Either way
epoch e's batches depend only on the seed and e, resumed or not.

Streamed epochs are shuffled in windows (`window_batches`): pieces come in an
order permuted by the seed and the epoch, and are gathered until a window holds
at least `data.shuffle_buffer` examples and `Budget.window_pieces` pieces (or
`Budget.window_bytes`), which is then permuted and cut into batches.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Iterator

import numpy as np

from modelctl.data.budget import Budget
from modelctl.data.encoding import Encoded
from modelctl.features import feature_type

GROUP_BATCHES = 64
"""Training batches gathered from held data in one step (`held_training`)."""

GROUP_BYTES = 4 * 2**20
"""At most this many bytes of encoded examples are gathered in one step, in whole batches (at least one)."""


class EpochClock:
    """The epoch the next pass over a training dataset gives: set at each epoch's start (by a Keras callback,
    `modelctl.training.callbacks.FollowEpochs`), read when the pass begins.

    Args:
        epoch: the first epoch; default 0.
    """

    def __init__(self, epoch: int = 0):
        self.epoch = epoch


@dataclasses.dataclass(frozen=True)
class Epochs:
    """Which training epochs a dataset gives (see the module docstring).

    Args:
        initial: the first epoch (a resumed run's next); default 0.
        epochs: the epoch training stops before; default 1.
        clock: one epoch a pass, the clock's; default None: every epoch from `initial`, then again.
        steps: batches of a pass with a clock; default None: an epoch's own batches. Fewer take the first
            `steps` of the epoch; more go on into the next epoch's batches.
    """

    initial: int = 0
    epochs: int = 1
    clock: EpochClock | None = None
    steps: int | None = None


class Shape:
    """The structure of the batches a model takes: (features, targets[, weights]).

    Args:
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`: the features' raw shapes and dtypes).
        labels: label name -> `LabelType`, in the order of the model's outputs.
        output_names: the model's output names; one output takes its targets bare, several a dict.
        weighted: whether batches carry weights.
    """

    def __init__(self, fitted, labels: dict, output_names: list[str], *, weighted: bool):
        self.labels = list(labels)
        self.output_names = output_names
        self.weighted = weighted
        self.raw = {name: feature_type(feature.type).raw_shape(feature.entry)
                    for name, feature in fitted.features.items()}
        self.targets = [encoder.spec() for encoder in labels.values()]

    def structure(self, encoded: Encoded):
        """The batch as the model takes it (features as held; `cast` makes them the model's dtypes)."""
        targets = [encoded.targets[label] for label in self.labels]
        y = targets[0] if len(self.output_names) == 1 else dict(zip(self.output_names, targets))
        if encoded.weights is not None:
            return encoded.features, y, encoded.weights
        return encoded.features, y

    def signature(self, tf, held: dict[str, str] | None = None):
        """The `tf.TensorSpec` structure of the batches: features in the model's dtypes, or those of `held`
        (feature -> dtype of the held values, for a generator that yields them as held)."""
        features = {name: tf.TensorSpec((None, *shape), (held or {}).get(name, dtype))
                    for name, (shape, dtype) in self.raw.items()}
        targets = [tf.TensorSpec((None, *shape), dtype) for shape, dtype in self.targets]
        y = targets[0] if len(self.output_names) == 1 else dict(zip(self.output_names, targets))
        return (features, y, tf.TensorSpec((None,), tf.float32)) if self.weighted else (features, y)

    def cast(self, tf, dataset):
        """`dataset` with every feature held in a narrower dtype cast to the model's."""
        wanted = {name: dtype for name, (_, dtype) in self.raw.items()}

        def cast(features, *rest):
            features = {name: values if values.dtype == tf.string or values.dtype.name == wanted[name]
                        else tf.cast(values, wanted[name]) for name, values in features.items()}
            return (features, *rest)

        specs = dataset.element_spec[0]
        if all(spec.dtype == tf.string or spec.dtype.name == wanted[name] for name, spec in specs.items()):
            return dataset
        return dataset.map(cast, num_parallel_calls=tf.data.AUTOTUNE)


def training_epochs(tf, epoch_dataset: Callable, epochs: Epochs, *, steps: int):
    """Training batches of `epochs` from `epoch_dataset(epoch)` (a dataset of one epoch's `steps` batches)."""
    if epochs.clock is None:
        return tf.data.Dataset.range(epochs.initial, epochs.epochs).flat_map(epoch_dataset).repeat()
    clock = epochs.clock
    wanted = epochs.steps or steps
    spans = math.ceil(wanted / max(steps, 1)) + 1
    now = tf.data.Dataset.from_generator(lambda: iter([clock.epoch]), output_signature=tf.TensorSpec((), tf.int64))
    dataset = now.flat_map(lambda epoch: tf.data.Dataset.range(epoch, epoch + spans).flat_map(epoch_dataset))
    return dataset.take(wanted).apply(tf.data.experimental.assert_cardinality(wanted))


def held_training(tf, data: Encoded, *, count: int, shape: Shape, seed: int, batch_size: int, row_bytes: int,
                  epochs: Epochs):
    """Batches gathered from a split held in memory as tensors; epoch e is the permutation
    `index_shuffle(seed=[seed, e])` of the examples, the same whether or not the run was resumed.

    Training gathers `GROUP_BATCHES` batches at a time (fewer where they would pass `GROUP_BYTES`) and hands them
    on as slices of that gather: per-batch gathers in a parallel map took about a sixth of an epoch's CPU time
    from a small MLP's training steps on two cores. The batches are the same either way: batch i holds the
    examples at positions i * batch_size onwards of the epoch's permutation."""
    last = tf.constant(count - 1, tf.int64)
    group = batch_size * max(1, min(GROUP_BATCHES, GROUP_BYTES // max(1, row_bytes * batch_size)))
    starts = np.arange(0, count, group, dtype=np.int64)
    groups = tf.data.Dataset.from_tensor_slices((starts, np.minimum(starts + group, count)))

    def gather(indices):
        return shape.structure(data.take_tensor(tf, indices))

    def batches(*rows):
        size = tf.shape(tf.nest.flatten(rows)[0], out_type=tf.int64)[0]
        whole = size // batch_size * batch_size
        full = tf.nest.map_structure(lambda values: tf.reshape(
            values[:whole], tf.concat([[-1, batch_size], tf.shape(values)[1:]], 0)), rows)
        rest = tf.nest.map_structure(lambda values: values[whole:], rows)
        return tf.data.Dataset.from_tensor_slices(full).concatenate(
            tf.data.Dataset.from_tensors(rest).take(tf.cast(size > whole, tf.int64)))

    def epoch_dataset(epoch):
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        return groups.map(lambda start, stop: gather(
            tf.random.experimental.index_shuffle(tf.range(start, stop), key, last))).prefetch(2).flat_map(batches)

    dataset = training_epochs(tf, epoch_dataset, epochs, steps=math.ceil(count / batch_size))
    return shape.cast(tf, dataset).prefetch(tf.data.AUTOTUNE)


def held_pass(tf, data: Encoded, *, count: int, shape: Shape, batch_size: int):
    """One pass over a split held in memory as tensors, in order."""
    dataset = tf.data.Dataset.range(count).batch(batch_size).map(lambda indices: shape.structure(
        data.take_tensor(tf, indices)))
    return shape.cast(tf, dataset).prefetch(tf.data.AUTOTUNE)


def streamed(tf, blocks: Callable[[int], Iterator[Encoded]], shape: Shape, *, held: dict[str, str],
             epochs: Epochs | None, steps: int, batch_size: int):
    """Batches made in Python: `blocks(epoch)` gives one epoch's examples (training, with `epochs`) or a pass's
    (`epochs` None: one pass, `blocks(0)`) in blocks of any size, in order, which tf.data cuts into batches of
    `batch_size` (`rebatch`: a Python call a block rather than a batch)."""
    signature = shape.signature(tf, held)

    def generate(epoch):
        for encoded in blocks(int(epoch)):
            yield shape.structure(encoded)

    def epoch_dataset(epoch):
        return tf.data.Dataset.from_generator(generate, args=(epoch,), output_signature=signature).rebatch(batch_size)

    dataset = epoch_dataset(0) if epochs is None else training_epochs(tf, epoch_dataset, epochs, steps=steps)
    return shape.cast(tf, dataset).prefetch(tf.data.AUTOTUNE)


def window_blocks(pieces: Iterator[Encoded], rng: np.random.Generator, *, batch_size: int, window_rows: int,
                  budget: Budget) -> Iterator[Encoded]:
    """The examples of `pieces` shuffled in windows, in blocks of whole batches of `batch_size` (but the last):
    pieces are gathered until they hold at least `window_rows` examples and `budget.window_pieces` pieces, or
    `budget.window_bytes`; the window's examples are drawn in an order permuted by `rng`, its whole batches
    given, and the rest carried into the next window. A window is held once (its pieces joined), and each block
    of at most `BLOCK_BATCHES` batches gathered from it as it is given."""
    pending: list[Encoded] = []
    rows = size = 0
    block = batch_size * BLOCK_BATCHES
    for piece in pieces:
        if not len(piece):
            continue
        pending.append(piece)
        rows += len(piece)
        size += piece.nbytes()
        if (rows >= window_rows and len(pending) >= budget.window_pieces) or size >= budget.window_bytes:
            window, pending = Encoded.join(pending), []
            order = rng.permutation(len(window))
            whole = (len(window) // batch_size) * batch_size
            for start in range(0, whole, block):
                yield window.take(order[start:min(start + block, whole)])
            rest = window.take(np.sort(order[whole:]))
            del window
            pending, rows = ([rest], len(rest)) if len(rest) else ([], 0)
            size = rest.nbytes() if rows else 0
    if rows:
        window = Encoded.join(pending)
        order = rng.permutation(len(window))
        for start in range(0, len(window), block):
            yield window.take(order[start:start + block])


def window_batches(pieces: Iterator[Encoded], rng: np.random.Generator, *, batch_size: int, window_rows: int,
                   budget: Budget) -> Iterator[Encoded]:
    """The batches of `window_blocks`: `batch_size` examples each, the last one smaller."""
    for block in window_blocks(pieces, rng, batch_size=batch_size, window_rows=window_rows, budget=budget):
        for start in range(0, len(block), batch_size):
            yield block.take(slice(start, start + batch_size))


BLOCK_BATCHES = 64
"""Most batches a streamed epoch hands to tf.data at once."""


def interleaved(iterators: Iterator[Iterator[Encoded]], width: int) -> Iterator[Encoded]:
    """The chunks of `width` iterators at a time, one of each in turn; an iterator that ends is replaced by the
    next of `iterators`."""
    active: list[Iterator[Encoded]] = []
    pending = iter(iterators)
    exhausted = False
    while True:
        while not exhausted and len(active) < width:
            following = next(pending, None)
            if following is None:
                exhausted = True
            else:
                active.append(following)
        if not active:
            return
        for iterator in list(active):
            chunk = next(iterator, None)
            if chunk is None:
                active.remove(iterator)
            else:
                yield chunk


def epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    """The generator an epoch's order and windows are drawn from: keyed by the seed and the epoch."""
    return np.random.default_rng([int(seed), int(epoch)])


__all__ = ["BLOCK_BATCHES", "EpochClock", "Epochs", "GROUP_BATCHES", "GROUP_BYTES", "Shape", "epoch_rng",
           "held_pass", "held_training", "interleaved", "streamed", "training_epochs",
           "window_batches", "window_blocks"]
