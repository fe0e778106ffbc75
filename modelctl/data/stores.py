"""Where a spec's examples live once prepared: one class per place, behind one interface.

    store = prepared.store            # HeldStore, StreamedStore or shards.ShardStore, chosen once by `prepare`
    store.chunks("test")              # the split's examples in source order, as `Encoded` chunks
    store.steps("train")              # batches of a pass over the split
    store.reasons                     # why this store: a sentence each, printed by `train --dry-run`

| store | where the examples are | a training epoch |
| --- | --- | --- |
| `HeldStore` | every split in memory | the whole split permuted (`index_shuffle`, keyed by seed and epoch) |
| `StreamedStore` | the training split read again every pass, from the prepared-data cache (`EntryOrigin`) or the source (`SourceOrigin`); validation and test held when they fit | pieces or parts in a permuted order, shuffled in windows |
| `shards.ShardStore` | a worker's shard of the training split (multi-worker runs) | the shard, permuted or shuffled in windows |

A store is chosen as Keras chooses a data adapter for what `fit` is given: by
where the data is, once, instead of flags tested wherever the data is read.
"""

from __future__ import annotations

import math
from typing import ClassVar, Iterator

import numpy as np

from modelctl.data import batching
from modelctl.data.batching import Epochs, Shape, epoch_rng, interleaved, window_batches, window_blocks
from modelctl.data.budget import Budget
from modelctl.data.encoding import Encoded, Encoder
from modelctl.data.fitting import Rows
from modelctl.data.reading import Reading, too_large
from modelctl.data.splits import SPLITS

EVALUATION_BATCH_FACTOR = 64
"""At most this many training batches make one batch of a pass that only evaluates a held split."""

EVALUATION_BATCH_BYTES = 8 * 2**20
"""At most this many bytes of encoded examples make one batch of a pass without training: 8 MiB, which is 16
batches of 256 rows of 500 float32 columns, 64 of 256 rows of 54, or 20 batches of 32 uint8 images of 64x64x3."""


class Store:
    """Where the examples of every split live, and the passes over them.

    Args:
        counts: examples of each split.
        batch_size: examples of a training batch (`data.batch_size`).
        seed: keys every epoch's order.
        held_dtypes: feature -> dtype its values are held in (see `FeatureType.held_dtype`).
        reasons: why the examples live here, a sentence each.
    """

    kind: ClassVar[str] = ""

    def __init__(self, *, counts: dict[str, int], batch_size: int, seed: int, held_dtypes: dict[str, str],
                 reasons: list[str]):
        self.counts = counts
        self.batch_size = batch_size
        self.seed = seed
        self.held_dtypes = held_dtypes
        self.reasons = reasons

    def chunks(self, split: str) -> Iterator[Encoded]:
        """The examples of `split` in source order, in chunks (none for a split without examples)."""
        raise NotImplementedError

    def steps(self, split: str) -> int:
        """Batches of a pass over `split` (a training epoch, for `train`)."""
        return math.ceil(self.counts[split] / self.batch_size)

    def held(self, split: str) -> Encoded | None:
        """`split` when it is held in memory; None when it streams."""
        return None

    def evaluation_batch_size(self, split: str) -> int:
        """Examples a batch of a pass that only evaluates `split` may hold; `data.batch_size` unless held."""
        return self.batch_size

    def dataset(self, tf, split: str, shape: Shape, *, epochs: Epochs | None, batch_size: int | None):
        """Batches of `split`: training epochs (`epochs`), or one pass in source order (`epochs` None) in batches
        of `batch_size` (None: `data.batch_size`)."""
        raise NotImplementedError

    def order_note(self) -> str:
        """What a training epoch does to mix examples sorted by their label, in words."""
        return "each epoch permutes the training split whole"


class HeldStore(Store):
    """Every split in memory: a training epoch is a permutation of the whole split.

    Args:
        splits: split -> its examples (splits without examples left out).
        Others: as `Store`.
    """

    kind = "held"

    def __init__(self, splits: dict[str, Encoded], **options):
        super().__init__(**options)
        self.splits = splits
        self.tensors: dict[str, Encoded] = {}
        """A split held as tensors, made once for every pass over it (training, then evaluation)."""

    def chunks(self, split: str) -> Iterator[Encoded]:
        if split in self.splits:
            yield self.splits[split]

    def held(self, split: str) -> Encoded | None:
        return self.splits.get(split)

    def evaluation_batch_size(self, split: str) -> int:
        """`data.batch_size` times the largest factor up to `EVALUATION_BATCH_FACTOR` that keeps a batch of
        encoded examples within `EVALUATION_BATCH_BYTES`.

        Inference keeps no activations for a backward pass, so a batch several times the training batch costs
        no more memory than a training step, and a pass takes that many times fewer steps. Losses and metrics
        are means over examples, whatever the batches.
        """
        held = self.splits.get(split)
        if held is None or not len(held):
            return self.batch_size
        per_example = max(1, held.nbytes() // len(held))
        factor = max(1, min(EVALUATION_BATCH_FACTOR, EVALUATION_BATCH_BYTES // (per_example * self.batch_size)))
        return self.batch_size * factor

    def dataset(self, tf, split: str, shape: Shape, *, epochs: Epochs | None, batch_size: int | None):
        if split not in self.tensors:
            self.tensors[split] = self.splits[split].tensors(tf)
        data, count = self.tensors[split], len(self.splits[split])
        if epochs is None:
            return batching.held_pass(tf, data, count=count, shape=shape, batch_size=batch_size or self.batch_size)
        row_bytes = max(1, self.splits[split].nbytes() // max(count, 1))
        return batching.held_training(tf, data, count=count, shape=shape, seed=self.seed, batch_size=self.batch_size,
                                      row_bytes=row_bytes, epochs=epochs)


class EntryOrigin:
    """Examples streamed from a prepared-data cache entry, a piece at a time.

    Args:
        entry: the entry (`modelctl.data.cache.Entry`).
        encoder: completes the pieces' examples with targets and weights.
    """

    def __init__(self, entry, encoder: Encoder):
        self.entry = entry
        self.encoder = encoder

    def chunks(self, split: str) -> Iterator[Encoded]:
        """The split's pieces in source order."""
        yield from self.pieces(split, None)

    def pieces(self, split: str, rng: np.random.Generator | None) -> Iterator[Encoded]:
        """The split's pieces, in an order drawn from `rng` (None: source order)."""
        count = self.entry.pieces(split)
        order = None if rng is None else rng.permutation(count)
        for part in self.entry.parts(split, order):
            encoded = self.encoder.complete(part)
            if len(encoded):
                yield encoded

    def order(self, split: str) -> str:
        return f"reads the {self.entry.pieces(split):,} pieces of the prepared-data cache entry in a new order"


class SourceOrigin:
    """Examples streamed from the source, read again at every pass; in training epochs its parts (files, row
    groups, blocks of a CSV file, groups of a folder's files: `Source.parts`) are read in a permuted order,
    `budget.interleave` at a time.

    Args:
        reading: the passes over the sources.
        assignment: each row's split of a shared source, or None for a source per split.
    """

    def __init__(self, reading: Reading, assignment: np.ndarray | None):
        self.reading = reading
        self.assignment = assignment
        self.parts: dict[str, list[tuple[object, int]]] = {}
        """Source key -> (view of a part, rows before it) of each of its parts; [] when it is read whole."""
        for key, source in reading.sources.items():
            parts = source.parts()  # known now, right after the passes that read every source to its end
            before = np.cumsum([0] + [rows for _, rows in parts])
            self.parts[key] = [(view, int(first)) for (view, _), first in zip(parts, before)]

    def chunks(self, split: str) -> Iterator[Encoded]:
        """The split's examples in source order."""
        for _, batch, numbers in self.reading.raw_splits(self.assignment, (split,)):
            encoded = self.reading.encoder.encode(batch, numbers, {})
            if len(encoded):
                yield encoded

    def pieces(self, split: str, rng: np.random.Generator | None) -> Iterator[Encoded]:
        """The split's examples in chunks of its parts, the parts in an order drawn from `rng` (None, or a source
        that cannot be read in parts: source order)."""
        key = "all" if self.assignment is not None else split
        parts = self.parts.get(key) or []
        if rng is None or not parts:
            yield from self.chunks(split)
            return
        order = rng.permutation(len(parts))
        yield from interleaved((self._part(key, split, parts[index][0], first=parts[index][1]) for index in order),
                               self.reading.budget.interleave)

    def _part(self, key: str, split: str, view, *, first: int) -> Iterator[Encoded]:
        code = SPLITS.index(split)
        for batch, numbers in self.reading.numbered(view, key, first):
            mask = None if self.assignment is None else self.assignment[numbers - 1] == code
            encoded = self.reading.encoded(batch, numbers, mask) if mask is None or mask.any() else ()
            if len(encoded):
                yield encoded

    def order(self, split: str) -> str:
        key = "all" if self.assignment is not None else split
        count = len(self.parts.get(key) or [])
        if not count:
            return "reads the source in its own order (it cannot be read in parts)"
        return f"reads the source's {count:,} parts in a new order, {self.reading.budget.interleave} at a time"


class StreamedStore(Store):
    """The training split read again at every pass, from a cache entry or the source (`origin`); the validation
    and test splits held in memory when they fit, else streamed too.

    Args:
        origin: `EntryOrigin` or `SourceOrigin`.
        evaluation: split -> examples held in memory (validation, test; empty when they stream).
        shuffle_buffer: fewest examples a training window shuffles together (`data.shuffle_buffer`).
        budget: the pipeline's sizes (`window_pieces`, `window_bytes`).
        Others: as `Store`.
    """

    kind = "streamed"

    def __init__(self, origin, evaluation: dict[str, Encoded], *, shuffle_buffer: int, budget: Budget, **options):
        super().__init__(**options)
        self.origin = origin
        self.evaluation = evaluation
        self.shuffle_buffer = shuffle_buffer
        self.budget = budget

    def chunks(self, split: str) -> Iterator[Encoded]:
        if split in self.evaluation:
            yield self.evaluation[split]
        elif self.counts.get(split):
            yield from self.origin.chunks(split)

    def held(self, split: str) -> Encoded | None:
        return self.evaluation.get(split)

    def epoch_batches(self, split: str, epoch: int) -> Iterator[Encoded]:
        """Training batches of one epoch: pieces in the epoch's order, shuffled in windows (numpy, keyed by the
        seed and the epoch)."""
        rng = epoch_rng(self.seed, epoch)
        return window_batches(self.origin.pieces(split, rng), rng, batch_size=self.batch_size,
                              window_rows=self.shuffle_buffer, budget=self.budget)

    def dataset(self, tf, split: str, shape: Shape, *, epochs: Epochs | None, batch_size: int | None):
        # An evaluation split held beside a streamed training split is handed on from its arrays, without a
        # second copy as tensors, so that memory stays bounded.
        if epochs is None:
            return batching.streamed(tf, lambda _: self.chunks(split), shape, held=self.held_dtypes, epochs=None,
                                     steps=self.steps(split), batch_size=self.batch_size)

        def blocks(epoch: int) -> Iterator[Encoded]:
            rng = epoch_rng(self.seed, epoch)
            return window_blocks(self.origin.pieces(split, rng), rng, batch_size=self.batch_size,
                                 window_rows=self.shuffle_buffer, budget=self.budget)

        return batching.streamed(tf, blocks, shape, held=self.held_dtypes, epochs=epochs, steps=self.steps(split),
                                 batch_size=self.batch_size)

    def order_note(self) -> str:
        return (f"each epoch {self.origin.order('train')} and shuffles it in windows of at least "
                f"{self.shuffle_buffer:,} examples and {self.budget.window_pieces} pieces")


def hold(split_rows: Iterator[tuple[str, Rows]], encoder: Encoder, budget: Budget) -> dict[str, Encoded] | None:
    """Every split as model-ready examples, when all of them together fit in `budget.held_bytes`; else None.

    Args:
        split_rows: (split, chunk) of every split, as `Reading.split_rows` gives them.
    """
    parts: dict[str, list[Encoded]] = {split: [] for split in SPLITS}
    size = 0
    for split, part in split_rows:
        encoded = encoder.complete(part)
        if len(encoded):
            size += encoded.nbytes()
            if size > budget.held_bytes:
                return None
            parts[split].append(encoded)
    return {split: Encoded.join(chunks) for split, chunks in parts.items() if chunks}


def hold_evaluation(evaluation: dict[str, list[Rows]], encoder: Encoder) -> dict[str, Encoded]:
    """The validation and test splits as model-ready examples (the training split streams)."""
    held = {}
    for split, parts in evaluation.items():
        encoded = []
        parts.reverse()
        while parts:  # each chunk's raw columns are let go as soon as it is encoded
            chunk = encoder.complete(parts.pop())
            if len(chunk):
                encoded.append(chunk)
        if encoded:
            held[split] = Encoded.join(encoded)
    return held


def evaluation_from(entry, encoder: Encoder, budget: Budget, *, counts: dict[str, int]) -> dict[str, Encoded]:
    """The validation and test splits of a cache entry, when they fit in `budget.evaluation_bytes` (as the
    run that wrote it held them); else {} (they stream)."""
    evaluation: dict[str, list[Rows]] = {"validation": [], "test": []}
    size = 0
    for split in evaluation:
        for part in entry.parts(split):
            part_bytes = encoder.held_bytes(part)
            size += part_bytes
            if size > budget.evaluation_bytes or too_large(part_bytes, int(np.count_nonzero(part.keep)),
                                                           total_rows=counts["validation"] + counts["test"],
                                                           limit=budget.evaluation_bytes):
                return {}
            evaluation[split].append(part)
    return hold_evaluation(evaluation, encoder)


def held_reasons(held: dict[str, Encoded], budget: Budget) -> list[str]:
    """Why every split is held in memory."""
    size = sum(encoded.nbytes() for encoded in held.values())
    return [f"held in memory: the examples of every split take {_mib(size)}, within the {_mib(budget.held_bytes)} "
            f"memory budget; each epoch permutes the training split whole"]


def streamed_reasons(origin, evaluation: dict[str, Encoded], *, budget: Budget, cache: bool,
                     counts: dict[str, int]) -> list[str]:
    """Why the training split streams, from where, and where the evaluation splits are."""
    where = "the prepared-data cache" if isinstance(origin, EntryOrigin) else "the source"
    why = (f"the examples take more than the {_mib(budget.held_bytes)} memory budget" if cache
           else "data.cache is off, so nothing is held in memory")
    reasons = [f"streamed from {where}: {why}; each epoch {origin.order('train')}"]
    evaluated = [split for split in ("validation", "test") if counts.get(split)]
    if evaluated and all(split in evaluation for split in evaluated):
        size = sum(evaluation[split].nbytes() for split in evaluated)
        reasons.append(f"{' and '.join(evaluated)} held in memory: {_mib(size)}, within "
                       f"{_mib(budget.evaluation_bytes)}")
    elif evaluated:
        reasons.append(f"{' and '.join(evaluated)} streamed from {where} at every evaluation")
    return reasons


def _mib(size: int) -> str:
    """A size in bytes as people read it: KiB under 1 MiB, else MiB."""
    return f"{size / 2**10:,.1f} KiB" if size < 2**20 else f"{size / 2**20:,.1f} MiB"


__all__ = ["EntryOrigin", "HeldStore", "SourceOrigin", "Store", "StreamedStore", "evaluation_from", "hold",
           "hold_evaluation", "held_reasons", "streamed_reasons"]
