"""Labels as the model's targets: the encoder of each label's type (see `modelctl.features.labels`).

    encoder = label_encoder(plan.labels["species"])
    encoder.encode(batch["species"], numbers)
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.data.columns import Columns


def label_encoder(item: Columns, classes: list[str] | None = None):
    """The `LabelType` of the label's type, for the label `item`.

    Args:
        item: the label's columns and spec options.
        classes: class names from an earlier fit (a run being resumed or evaluated); default None.
    """
    from modelctl.features import label_type

    return label_type(item.kind)(item, classes)


def known_labels(labels: dict, columns: dict[str, np.ndarray], *, skipped: dict[str, int]) -> np.ndarray:
    """Under `data.on_bad_rows: skip`: which examples of a batch have a value every label whose classes are known
    takes (`LabelType.known`); the others are counted in `skipped`, in place, under their first bad label.

    Args:
        labels: label name -> `LabelType`.
        columns: source column -> values of the batch (every label's column).
        skipped: reason -> count of skipped examples.
    """
    keep = None
    for encoder in labels.values():
        if encoder.needs_fit:
            continue  # every value is a class still to be learned; a value the type refuses stops fitting
        known = encoder.known(columns[encoder.column])
        bad = ~known if keep is None else keep & ~known
        if bad.any():
            reason = f"column '{encoder.column}': not a class of label '{encoder.item.name}'"
            skipped[reason] = skipped.get(reason, 0) + int(np.count_nonzero(bad))
        keep = known if keep is None else keep & known
    return np.ones(len(next(iter(columns.values()), [])), dtype=bool) if keep is None else keep


def as_trained(dataset, labels: dict, output_names: list[str]):
    """`dataset` of (features, targets[, weights]) batches with each label's targets as Keras trains on them
    (`LabelType.trained_targets`: one-hot vectors for `encoding: one_hot`); the same dataset when no label changes
    them.

    Args:
        dataset: a `tf.data.Dataset` whose targets are a tensor (one output) or a dict by output name.
        labels: label name -> `LabelType`, in the order of the outputs.
        output_names: the model's output names, in the order of `data.labels`.
    """
    from modelctl.features.labels.base import LabelType

    encoders = list(labels.values())
    if all(type(encoder).trained_targets is LabelType.trained_targets for encoder in encoders):
        return dataset

    def convert(features, targets, *weights):
        if isinstance(targets, dict):
            targets = {name: encoder.trained_targets(targets[name]) for name, encoder in zip(output_names, encoders)}
        else:
            targets = encoders[0].trained_targets(targets)
        return (features, targets, *weights)

    return dataset.map(convert)


__all__ = ["as_trained", "known_labels", "label_encoder"]
