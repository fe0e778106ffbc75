"""How `prepare` makes a spec's data: from the prepared-data cache, or by reading the sources, into a store.

    reading = open_reading(document, fitted=None, budget=Budget())
    made = make(document, reading, fold=None, fitted=None, cache=None, shard=None)
    made.store, made.fitted, made.counts, made.split_rows, made.cache_note, made.notices

The cache entry of the same data and settings (`modelctl.data.cache`) gives the
fitted preprocessing, the counts and the examples without reading the source;
otherwise the reading passes (`modelctl.data.reading`) read, split and fit the
sources, writing the entry as they go. Then the store is chosen once
(`modelctl.data.stores`): every split held when all fit in `Budget.held_bytes`,
else the training split streamed from the entry (or the source, when there is
no entry), or under multi-worker training a worker's shard.
"""

from __future__ import annotations

import dataclasses

from modelctl.data import stores
from modelctl.data.budget import Budget
from modelctl.data.cache import DataCache, Entry, open_slot
from modelctl.data.columns import ColumnPlan, open_typed
from modelctl.data.encoding import Encoded, Encoder, class_weight_table
from modelctl.data.errors import DataError
from modelctl.data.fingerprints import Fingerprint, data_identity, effective_split_seed, fingerprint
from modelctl.data.fitting import Fitting, check_balanced
from modelctl.data.labels import label_encoder
from modelctl.data.reading import LabelRuns, Reading, read_and_fit
from modelctl.data.shards import Shard, shard_store
from modelctl.data.sources import located
from modelctl.data.splits import SPLITS
from modelctl.features import feature_type
from modelctl.runs import Fitted


@dataclasses.dataclass
class Made:
    """What `make` gives `Prepared`: the fitted preprocessing, the counts, the rows each split kept
    (`Fitting.split_rows`; None for a cache entry that did not record them), where the examples live, and the lines
    run output shows about them (see `Prepared`'s attributes)."""

    fitted: Fitted
    counts: dict[str, int]
    split_rows: dict[str, str] | None
    store: stores.Store
    cache_note: str
    fingerprints: dict[str, list[Fingerprint]]
    notices: list[str]


def open_reading(document, *, fitted: Fitted | None, budget: Budget) -> Reading:
    """Open the spec's sources, find the columns each feature and label reads, and make the label encoders (with
    the classes of `fitted`, an earlier fit, when given).

    Raises:
        DataError: no data section, a source or column that cannot be read, a class weight on a label that has
            no classes.
    """
    spec = document.spec
    data = spec.data
    if data is None:
        raise DataError("the spec has no `data` section; add one to train, evaluate or predict from data")
    training = spec.training
    sources = {"all": open_typed(data.source, document.base_dir, data.features)} if data.source else \
        {split: open_typed(data.sources.get(split), document.base_dir, data.features)
         for split in SPLITS if data.sources.get(split)}
    plans = {key: ColumnPlan({"features": data.features, "labels": data.labels}, source.columns, source.where,
                             weight=training.sample_weight) for key, source in sources.items()}
    plan = next(iter(plans.values()))
    classes = {} if fitted is None else {name: label.classes for name, label in fitted.labels.items()}
    labels = {name: label_encoder(item, classes.get(name)) for name, item in plan.labels.items()}
    if training.class_weight:
        check_balanced(labels)
    encoder = Encoder(plan.features, labels, weight=plan.weight, on_bad_rows=data.on_bad_rows)
    single = [encoder.column for encoder in labels.values() if encoder.single_class][:1]
    stratify = single[0] if single and data.split.stratify and "all" in sources else None
    return Reading(sources, plans, encoder, budget=budget, stratify_label=stratify,
                   order_label=single[0] if single else None)


def make(document, reading: Reading, *, fold: tuple[int, int] | None, fitted: Fitted | None,
         cache: DataCache | None, shard: Shard | None) -> Made:
    """Take the data from its cache entry, or read, split and fit it (writing the entry); choose the store."""
    note, slot, fingerprints = _slot(document, reading, fold=fold, fitted=fitted, cache=cache, shard=shard)
    if slot is not None and slot.entry is not None:
        return _from_entry(document, reading, slot.entry, fingerprints=fingerprints)
    return _read(document, reading, fold=fold, fitted=fitted, slot=slot, note=note, shard=shard,
                 fingerprints=fingerprints)


def _slot(document, reading: Reading, *, fold, fitted: Fitted | None, cache: DataCache | None, shard: Shard | None):
    """(cache note, the cache slot of this data or None when the cache is off or cannot hold it, each source's
    file fingerprints)."""
    sources = reading.sources
    quick = {key: [fingerprint(path, content=False) for path in source.files] for key, source in sources.items()} \
        if shard is not None or (cache is not None and not cache.enabled) else {}
    if shard is not None:
        return "data cache: off (each worker of a multi-worker run reads its shard from the source)", None, quick
    if cache is not None and not cache.enabled:
        return "data cache: off", None, quick
    for name, item in reading.encoder.features.items():
        if feature_type(item.kind).reads_named_files and any(source.format != "image_folder"
                                                             for source in sources.values()):
            return (f"data cache: off ({item.kind} feature '{name}' reads files named in a column, which are not "
                    "fingerprinted)"), None, {key: [fingerprint(path, content=False) for path in source.files]
                                              for key, source in sources.items()}
    hashes = (cache if cache is not None else DataCache()).hashes
    files = {key: _fingerprints(source.files, hashes) for key, source in sources.items()}
    training = document.spec.training
    # The key hashes the data section with its sources' paths resolved (open_slot fills its defaults itself), and
    # the seed that splits the rows: the spec's own seed only shuffles batches, which the entry does not hold.
    slot = open_slot(cache, data=data_identity(document.data["data"], document.base_dir),
                     seed=effective_split_seed(document.spec),
                     training={"sample_weight": training.sample_weight, "class_weight": training.class_weight},
                     fold=fold, fitted=None if fitted is None else fitted.to_json(), sources=sources,
                     reading=reading.budget.reading(), files=files)
    return "data cache: off", slot, files


def _fingerprints(files: list, hashes) -> list[Fingerprint]:
    """The content fingerprint of each file, several files at once (reading and hashing release the GIL): an
    image folder holds thousands of small files."""
    if len(files) < HASHED_TOGETHER:
        return [fingerprint(path, hashes) for path in files]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=HASHING_THREADS) as pool:
        return list(pool.map(lambda path: fingerprint(path, hashes), files, chunksize=64))


HASHED_TOGETHER = 64
"""Sources of at least this many files are fingerprinted by `HASHING_THREADS` threads."""

HASHING_THREADS = 4


def _from_entry(document, reading: Reading, entry: Entry, *, fingerprints: dict) -> Made:
    """The fitted preprocessing, counts and examples of a cache entry, instead of reading the source."""
    record, encoder, data = entry.record, reading.encoder, document.spec.data
    fitted = Fitted.from_json(record["fitted"], source=entry.folder)
    counts = {split: int(record["counts"].get(split, 0)) for split in SPLITS}
    reading.skipped.update(record["skipped"])
    weights = record["class_weights"]
    encoder.class_weights = None if weights is None else {int(index): weight for index, weight in weights.items()}
    encoder.labels = {name: label_encoder(label.item, fitted.labels[name].classes)
                      for name, label in encoder.labels.items()}
    encoder.fitted = fitted
    runs = LabelRuns()
    runs.longest, runs.value = record["runs"]
    options = _options(document, reading, counts)
    held = stores.hold(entry.every_part(), encoder, reading.budget) if record["held"] else None
    if held is not None:
        store = stores.HeldStore(held, **options, reasons=stores.held_reasons(held, reading.budget))
    else:
        evaluation = stores.evaluation_from(entry, encoder, reading.budget, counts=counts) if data.cache else {}
        store = _streamed(document, reading, stores.EntryOrigin(entry, encoder), evaluation=evaluation,
                          options=options)
    return Made(fitted, counts, record.get("split_rows"), store, f"data cache: read {entry.folder}", fingerprints,
                _notices(document, reading, store, runs=runs))


def _read(document, reading: Reading, *, fold, fitted: Fitted | None, slot, note: str, shard: Shard | None,
          fingerprints: dict) -> Made:
    """Read, split and fit the sources (writing the cache entry in `slot`), and choose the store."""
    spec, encoder = document.spec, reading.encoder
    writer = None if slot is None else slot.writer(piece_bytes=reading.budget.piece_bytes)
    if slot is not None and writer is None:
        note = f"data cache: not kept ({slot.root} cannot be written)"
    fitting = Fitting(encoder.features, encoder.labels, None if fitted is None else fitted.to_json(),
                      balanced=spec.training.class_weight == "balanced")
    try:
        with located(reading.source_of()):
            outcome = read_and_fit(reading, split=spec.data.split, seed=spec.seed, fold=fold, fitting=fitting,
                                   writer=writer, keep=spec.data.cache)
    except BaseException:
        if writer is not None:
            writer.abandon()
        raise
    encoder.fitted = Fitted.from_json(fitting.fitted, source="the fitted preprocessing")
    encoder.class_weights = class_weight_table(spec.training.class_weight, encoder.labels, fitting)
    held = None if outcome.held is None else stores.hold(
        reading.split_rows(outcome.held, outcome.assignment, SPLITS, skipped={}), encoder, reading.budget)
    outcome.held = None  # the raw chunks are let go once encoded
    entry = None
    if writer is not None:
        weights = encoder.class_weights
        entry = writer.finish({"fitted": encoder.fitted.to_json(), "counts": fitting.counts,
                               "skipped": reading.skipped,
                               "class_weights": None if weights is None else {str(index): float(weight)
                                                                              for index, weight in weights.items()},
                               "held": held is not None, "runs": [outcome.runs.longest, _text(outcome.runs.value)],
                               "split_rows": fitting.split_rows})
        note = f"data cache: {writer.note}" if entry is None else f"data cache: wrote {entry.folder}"
    options = _options(document, reading, fitting.counts)
    if held is not None:
        store = stores.HeldStore(held, **options, reasons=stores.held_reasons(held, reading.budget))
    else:
        origin = stores.SourceOrigin(reading, outcome.assignment) if entry is None \
            else stores.EntryOrigin(entry, encoder)
        evaluation = stores.hold_evaluation(outcome.evaluation or {}, encoder)
        store = _streamed(document, reading, origin, evaluation=evaluation, options=options)
    if shard is not None:
        store = shard_store(store, shard, outcome, reading=reading, shuffle_buffer=spec.data.shuffle_buffer)
    return Made(encoder.fitted, fitting.counts, fitting.split_rows, store, note, fingerprints,
                _notices(document, reading, store, runs=outcome.runs))


def _options(document, reading: Reading, counts: dict[str, int]) -> dict:
    """The arguments every store takes."""
    held = {name: kind.held_dtype for name, item in reading.encoder.features.items()
            if (kind := feature_type(item.kind)).held_dtype is not None}
    return {"counts": counts, "batch_size": document.spec.data.batch_size, "seed": document.spec.seed,
            "held_dtypes": held}


def _streamed(document, reading: Reading, origin, *, evaluation: dict[str, Encoded], options: dict):
    data = document.spec.data
    reasons = stores.streamed_reasons(origin, evaluation, budget=reading.budget, cache=data.cache,
                                      counts=options["counts"])
    return stores.StreamedStore(origin, evaluation, shuffle_buffer=data.shuffle_buffer, budget=reading.budget,
                                **options, reasons=reasons)


def _notices(document, reading: Reading, store: stores.Store, *, runs: LabelRuns) -> list[str]:
    """One line when the data is sorted by its label beyond what the shuffle buffer alone mixes, and the training
    split streams (held examples are permuted whole)."""
    buffer = document.spec.data.shuffle_buffer
    if runs.longest <= buffer or store.held("train") is not None:
        return []
    return [f"data: sorted by the label column '{reading.order_label}' (runs of up to {runs.longest:,} rows of one "
            f"class, more than the {buffer:,}-example shuffle buffer mixes): {store.order_note()}"]


def _text(value) -> str | None:
    return None if value is None else str(value)


__all__ = ["Made", "make", "open_reading"]
