"""The reading passes over a spec's sources: count and split, fit, and hold what fits in memory.

    reading = Reading(sources, plans, encoder, budget=budget, stratify_label="species", order_label="species")
    outcome = read_and_fit(reading, split=..., seed=..., fold=None, fitting=fitting, writer=None, keep=True)
    outcome.held                  # every split as model inputs (all of them fit), else None
    outcome.evaluation            # validation and test held beside a streamed training split, else None

Every pass streams the sources in chunks of `budget.chunk_rows` rows. The first
reads the columns the spec needs, counts the rows (the split needs their number,
and the label when it is stratified), follows the runs of one class in reading
order (`LabelRuns`: data sorted by its label) and turns each chunk into model
inputs, held while all of them together fit in `budget.held_bytes` (with
`data.cache` on). Held data is split, fitted and encoded in memory: the source
is read once. Otherwise the validation and test splits are kept when they fit
in `budget.evaluation_bytes`, and only the training split is read again each
epoch. Data that does not fit takes one more pass, which fits every statistic,
vocabulary and class on the training split while it counts and checks every
split (`modelctl.data.fitting`; a statistic step that depends on an earlier one
takes one more). With `data.cache` off, a first pass that stops at the first
bad row reads only the label column (or the first column).
"""

from __future__ import annotations

import dataclasses
from typing import Iterator

import numpy as np

from modelctl.data.budget import Budget
from modelctl.data.encoding import Encoder
from modelctl.data.fitting import Fitting, Rows
from modelctl.data.sources import Source
from modelctl.data.splits import SPLITS, ClassCodes, assign


ESTIMATE_ROWS = 256
"""Rows of a source encoded to estimate what all of its rows take encoded (`Reading.first_pass`)."""


class LabelRuns:
    """The longest run of consecutive rows with the same label value, in reading order, over chunks."""

    def __init__(self):
        self.longest = 0
        self.value = None
        self._current = 0
        self._last = None

    def add(self, values: np.ndarray) -> None:
        """Take the next chunk of the label column."""
        values = np.asarray(values)
        if not len(values):
            return
        changes = np.flatnonzero(values[1:] != values[:-1]) + 1
        starts = np.concatenate([[0], changes])
        lengths = np.diff(np.concatenate([starts, [len(values)]]))
        if self._current and values[0] == self._last:
            lengths[0] += self._current
        longest = int(np.argmax(lengths))
        if lengths[longest] > self.longest:
            self.longest, self.value = int(lengths[longest]), values[starts[longest]]
        self._current, self._last = int(lengths[-1]), values[-1]


@dataclasses.dataclass
class FirstPass:
    """What the first pass found.

    Attributes:
        held: source key -> its chunks as model inputs, when all of them fit in memory; else None.
        prefix: when they do not fit, the shared source's first chunks as model inputs, read before they
            stopped fitting; else [].
        rows: rows of the shared source (0 for a source per split).
        labels: each row's class code, for a stratified split; else None.
        runs: the longest run of one class in reading order.
    """

    held: dict[str, list[Rows]] | None
    prefix: list[Rows]
    rows: int
    labels: np.ndarray | None
    runs: "LabelRuns"


@dataclasses.dataclass
class Outcome:
    """What the reading passes found.

    Attributes:
        fitting: the fitted statistics, vocabularies and classes, and the counts of every split.
        assignment: each row's split (0 train, 1 validation, 2 test) of a shared source; None for a source per
            split.
        held: split -> its chunks as model inputs, when every split fits in memory; else None.
        evaluation: split -> chunks of the validation and test splits, held beside a streamed training split
            when they fit; else None.
        dropped: for each training chunk with examples not kept, the numbers of those rows.
        runs: the longest run of one class in reading order (of the shared source's first single-class label).
    """

    fitting: Fitting
    assignment: np.ndarray | None
    held: dict[str, list[Rows]] | None
    evaluation: dict[str, list[Rows]] | None
    dropped: list[np.ndarray]
    runs: LabelRuns


class Reading:
    """Passes over a spec's sources: a shared one (`all`) split by row, or one per split.

    Args:
        sources: `all`, or split name -> the opened `Source`.
        plans: the same keys -> the `ColumnPlan` of the columns read.
        encoder: turns read columns into model inputs.
        budget: the pipeline's sizes.
        stratify_label: the column a stratified split keeps the balance of, or None.
        order_label: the column whose runs of one value are followed (the first single-class label's), or None.

    Attributes:
        skipped: reason -> rows skipped by the readers and the encoding (`data.on_bad_rows: skip`).
    """

    def __init__(self, sources: dict[str, Source], plans: dict, encoder: Encoder, *, budget: Budget,
                 stratify_label: str | None, order_label: str | None):
        self.sources = sources
        self.plans = plans
        self.encoder = encoder
        self.budget = budget
        self.on_bad_rows = encoder.on_bad_rows
        self.stratify_label = stratify_label
        self.order_label = order_label
        self.skipped: dict[str, int] = {}

    def source_of(self, split: str | None = None) -> Source | None:
        """The source whose example numbers an error in `split` (None: in any split) gives: the shared one, or
        the split's own; None when that is not one source."""
        if "all" in self.sources:
            return self.sources["all"]
        if split is None:
            return next(iter(self.sources.values())) if len(self.sources) == 1 else None
        return self.sources.get(split)

    def first_pass(self, *, holding: bool) -> "FirstPass":
        """Read every source once: the rows of the shared source, the class of each when the split is
        stratified (one code a row), the runs of one class, and every chunk as model inputs while all of them
        fit in `budget.held_bytes` (when `holding`). When they do not, the chunks of the shared source read
        until then are kept (`FirstPass.prefix`), so that the next pass does not encode them again."""
        held: dict[str, list[Rows]] | None = {key: [] for key in self.sources} if holding and self._may_fit() \
            else None
        prefix: list[Rows] = []
        skipped: dict[str, int] = {}
        size = rows = 0
        classes, runs = ClassCodes(), LabelRuns()
        for key, source in self.sources.items():
            if held is None and key != "all":
                continue
            columns = self.plans[key].read
            if held is None and self.on_bad_rows == "error":
                # Only the row count, the split's label and the label's runs are needed: another bad value stops
                # the next pass.
                columns = [self.order_label or self.stratify_label or columns[0]]
            count = 0
            for batch in source.batches(columns, self.budget.chunk_rows, self.on_bad_rows):
                numbers = np.arange(count + 1, count + len(next(iter(batch.values()))) + 1)
                count += len(numbers)
                if key == "all" and self.stratify_label:
                    classes.add(batch[self.stratify_label])
                if key == "all" and self.order_label:
                    runs.add(batch[self.order_label])
                if held is None:
                    continue
                found: dict[str, int] = {}
                part = self.encoder.rows(batch, numbers, found)
                size += self.encoder.held_bytes(part)
                if size > self.budget.held_bytes:
                    if key == "all":
                        prefix = held["all"]
                    held = None
                    if key != "all":
                        break
                    continue
                held[key].append(part)
                for reason, number in found.items():
                    skipped[reason] = skipped.get(reason, 0) + number
            self.note_skipped(source)
            if key == "all":
                rows = count
        if held is not None or prefix:
            for reason, count in skipped.items():
                self.skipped[reason] = self.skipped.get(reason, 0) + count
        return FirstPass(held, prefix, rows, classes.codes() if self.stratify_label else None, runs)

    def _may_fit(self) -> bool:
        """Whether the encoded data may fit in `budget.held_bytes`; False only when sources whose files take
        more than that are estimated at more than `budget.estimate_margin` times it (each source's
        `estimated_rows` times the encoded bytes of a row of its first `ESTIMATE_ROWS` rows). Data known to be too
        large is streamed from the first pass, which then reads only what splitting needs, instead of keeping chunks it
        would drop."""
        budget = self.budget
        if sum(file.stat().st_size for source in self.sources.values() for file in source.files) <= budget.held_bytes:
            return True
        estimated = 0.0
        for key, source in self.sources.items():
            rows = source.estimated_rows()
            if rows is None:
                return True
            batches = source.batches(self.plans[key].read, min(budget.chunk_rows, ESTIMATE_ROWS), self.on_bad_rows)
            try:
                batch = next(batches, None)
            finally:
                batches.close()
            if batch is None:
                continue
            count = len(next(iter(batch.values())))
            part = self.encoder.rows(batch, np.arange(1, count + 1), {})
            estimated += self.encoder.held_bytes(part) / count * rows
        return estimated <= budget.estimate_margin * budget.held_bytes

    def numbered(self, source: Source, key: str, first: int = 0) -> Iterator[tuple[dict[str, np.ndarray],
                                                                                  np.ndarray]]:
        """(raw column batch, 1-based number of each row) of a read of `source` (a source, or a view of one)
        whose columns are those of `self.sources[key]`; `first` rows come before it in its source."""
        offset = first
        for batch in source.batches(self.plans[key].read, self.budget.chunk_rows, self.on_bad_rows):
            size = len(next(iter(batch.values())))
            yield batch, np.arange(offset + 1, offset + size + 1)
            offset += size

    def encoded(self, batch: dict[str, np.ndarray], numbers: np.ndarray, mask: np.ndarray | None = None):
        """The rows of a raw batch where `mask` holds (None: every row) as model-ready examples (maybe none)."""
        if mask is not None and not mask.all():
            batch, numbers = {name: values[mask] for name, values in batch.items()}, numbers[mask]
        return self.encoder.encode(batch, numbers, {})

    def note_skipped(self, source: Source) -> None:
        """Count the rows `source`'s last read skipped (the same rows on every pass: the most of any pass)."""
        for reason, count in source.skipped.items():
            self.skipped[reason] = max(self.skipped.get(reason, 0), count)

    def raw_splits(self, assignment: np.ndarray | None, wanted: tuple[str, ...] = SPLITS,
                   after: int = 0) -> Iterator[tuple[str, dict[str, np.ndarray], np.ndarray]]:
        """(split, raw column batch, 1-based example numbers) of the `wanted` splits, in one pass over a
        shared source (a source per split is read split after split); rows up to number `after` of the shared
        source are read but not given."""
        if assignment is None:
            for split in wanted:
                source = self.sources.get(split)
                if source is None:
                    continue
                for batch, numbers in self.numbered(source, split):
                    yield split, batch, numbers
                self.note_skipped(source)
            return
        source = self.sources["all"]
        codes_wanted = [SPLITS.index(split) for split in wanted]
        for batch, numbers in self.numbered(source, "all"):
            if numbers[-1] <= after:
                continue
            codes = np.where(numbers > after, assignment[numbers - 1], -1)
            for split, code in zip(wanted, codes_wanted):
                mask = codes == code
                if mask.all():
                    yield split, batch, numbers
                elif mask.any():
                    yield split, {name: values[mask] for name, values in batch.items()}, numbers[mask]
        self.note_skipped(source)

    def split_rows(self, held: dict[str, list[Rows]] | None, assignment: np.ndarray | None,
                   wanted: tuple[str, ...], *, skipped: dict[str, int],
                   prefix: list[Rows] | None = None) -> Iterator[tuple[str, Rows]]:
        """(split, chunk as model inputs) of the `wanted` splits in source order: from the held chunks, or
        read and turned into model inputs again (counting images that cannot be decoded into `skipped`), the
        first rows of the shared source taken from `prefix` (chunks of it as model inputs) when given."""
        if held is None:
            if prefix:
                yield from self.split_rows({"all": prefix}, assignment, wanted, skipped=skipped)
            after = int(prefix[-1].numbers[-1]) if prefix else 0
            for split, batch, numbers in self.raw_splits(assignment, wanted, after):
                yield split, self.encoder.rows(batch, numbers, skipped)
            return
        for key, parts in held.items():
            if key != "all":
                if key in wanted:
                    yield from ((key, part) for part in parts)
                continue
            for part in parts:
                codes = assignment[part.numbers - 1]
                for split in wanted:
                    mask = codes == SPLITS.index(split)
                    if mask.all():
                        yield split, part
                    elif mask.any():
                        yield split, part.take(mask)


def too_large(size: int, rows: int, *, total_rows: int | None, limit: int) -> bool:
    """Whether `total_rows` rows, of which `rows` take `size` bytes, are estimated at more than `ESTIMATE_OVER` times
    `limit`, so that what is being gathered in memory is let go at once instead of when it passes `limit` (memory
    once taken stays with the process through training). False when `total_rows` is not known."""
    return total_rows is not None and rows > 0 and size / rows * total_rows > ESTIMATE_OVER * limit


ESTIMATE_OVER = 1.5
"""Splits estimated (from their first chunk) at more than this many times the memory they may take are not
gathered: a first chunk's bytes a row may be off for text, whose rows differ in length."""


def read_and_fit(reading: Reading, *, split, seed: int, fold: tuple[int, int] | None, fitting: Fitting, writer,
                 keep: bool) -> Outcome:
    """Read the sources, split them, and fit the preprocessing on the training split (see the module docstring).

    Args:
        reading: the passes over the sources.
        split: the spec's typed `data.split`.
        seed: the spec's seed.
        fold: (index, k) of a k-fold run, or None.
        fitting: what gathers the statistics, vocabularies, classes and counts.
        writer: the prepared-data cache entry being written (`modelctl.data.cache.Writer`), or None.
        keep: whether examples may be held in memory (`data.cache`).
    """
    first = reading.first_pass(holding=keep)
    held, runs = first.held, first.runs
    assignment = assign(split, seed=seed, rows=first.rows, labels=first.labels, fold=fold) \
        if "all" in reading.sources else None
    # When the splits together do not fit in memory, the evaluation splits may: they are kept from this pass,
    # so that only the training split streams every epoch.
    evaluation: dict[str, list[Rows]] | None = None if held is not None or not keep else {"validation": [],
                                                                                        "test": []}
    evaluation_bytes = 0
    evaluation_rows = None if assignment is None else int(np.count_nonzero(assignment))
    dropped = []  # training rows read but not examples (bad values skipped), which shards do not count
    prefix, first.prefix = first.prefix, []
    for name, part in reading.split_rows(held, assignment, SPLITS, skipped=reading.skipped, prefix=prefix):
        fitting.add(name, part)
        if writer is not None:
            writer.add(name, part)
        if name == "train" and not part.keep.all():
            dropped.append(part.numbers[~part.keep])
        if evaluation is not None and name in evaluation:
            size = reading.encoder.held_bytes(part)
            evaluation_bytes += size
            if evaluation_bytes > reading.budget.evaluation_bytes or \
                    too_large(size, len(part), total_rows=evaluation_rows, limit=reading.budget.evaluation_bytes):
                evaluation = None
            else:
                evaluation[name].append(part)
    del prefix
    fitting.end_pass()
    while not fitting.done:
        for name, part in reading.split_rows(held, assignment, ("train",), skipped={}):
            fitting.add(name, part)
        fitting.end_pass()
    return Outcome(fitting, assignment, held, evaluation, dropped, runs)


__all__ = ["FirstPass", "LabelRuns", "Outcome", "Reading", "read_and_fit", "too_large"]
