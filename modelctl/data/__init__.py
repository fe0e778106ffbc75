"""Reading a spec's data: sources in every format, deterministic splits, and `prepare`, which makes them the
training, validation and test data a model takes.

    from modelctl.data.pipeline import prepare

    prepared = prepare(document)                       # document = modelctl.spec.validate.load_spec(path)
    prepared.counts                                    # {"train": 105, "validation": 22, "test": 23}
    prepared.store.reasons                             # where the examples live, and why
    dataset = prepared.dataset("train", ["species"], training=True, epochs=10)

    from modelctl.data import open_source, assign_splits

    source = open_source({"format": "csv", "path": "iris.csv"}, base_dir=spec_path.parent)
    labels = np.concatenate([batch["species"] for batch in source.batches(["species"])])
    split = assign_splits(len(labels), {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=7,
                          labels=labels, stratify=True)

| module | what it holds |
| --- | --- |
| `pipeline` | `prepare` and `Prepared`: the public surface every command uses |
| `preparing` | how `prepare` makes the data: from the cache entry or by reading, then the store chosen once |
| `reading` | the reading passes: count and split, follow runs of one class, fit, hold what fits |
| `stores` | where the examples live: `HeldStore`, `StreamedStore` (from a cache entry or the source) |
| `shards` | a worker's shard of the training split in a multi-worker run: `Layout`, `ShardStore` |
| `batching` | tf.data: held batches gathered by permutation, streamed batches shuffled in windows, epochs |
| `encoding` | `Encoded` examples, the `Encoder` of targets and weights, class weights |
| `budget` | the memory budget and the sizes of chunks, pieces and shuffle windows |
| `fitting` | statistics, vocabularies and classes fitted on the training split; counts and label checks |
| `splits` | deterministic train / validation / test splits and k-fold partitions |
| `cache` | the prepared-data cache: entries keyed by settings and file contents |
| `fingerprints` | one fingerprint of a file (content hash, size, time); what data a run saw; how two records differ |
| `sources`, `formats/` | reading every source format in batches of columns; parts read in any order |
| `columns`, `labels` | which columns features and labels read, how they are encoded, targets as Keras trains on them |
"""

from modelctl.data.errors import DataError
from modelctl.data.sources import Source, open_source
from modelctl.data.splits import TEST, TRAIN, VALIDATION, assign_splits, kfold

__all__ = ["DataError", "Source", "TEST", "TRAIN", "VALIDATION", "assign_splits", "kfold", "open_source"]
