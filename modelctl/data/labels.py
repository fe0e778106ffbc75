"""Labels as the model's targets: the encoder of each label's type (see `modelctl.features.labels`).

    encoder = label_encoder(plan.labels["species"])
    encoder.encode(batch["species"], numbers)
"""

from __future__ import annotations

from modelctl.data.columns import Columns


def label_encoder(item: Columns, classes: list[str] | None = None):
    """The `LabelType` of the label's type, for the label `item`.

    Args:
        item: the label's columns and spec options.
        classes: class names from an earlier fit (a run being resumed or evaluated); default None.
    """
    from modelctl.features import label_type

    return label_type(item.kind)(item, classes)


__all__ = ["label_encoder"]
