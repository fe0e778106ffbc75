"""Reading a spec's data: sources in every format, streamed in batches, and deterministic splits.

    from modelctl.data import open_source, assign_splits

    source = open_source(document.data["source"], base_dir=spec_path.parent)
    labels = np.concatenate([batch["species"] for batch in source.batches(["species"])])
    split = assign_splits(len(labels), {"train": 0.8, "validation": 0.1, "test": 0.1}, seed=7,
                          labels=labels, stratify=True)
"""

from modelctl.data.errors import DataError
from modelctl.data.sources import Source, open_source
from modelctl.data.splits import TEST, TRAIN, VALIDATION, assign_splits, kfold

__all__ = ["DataError", "Source", "TEST", "TRAIN", "VALIDATION", "assign_splits", "kfold", "open_source"]
