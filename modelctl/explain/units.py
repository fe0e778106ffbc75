"""What attributions are reported for: the features and columns a user wrote in the spec.

    units(fitted)                      # [Unit("measurements", "sepal_length", 0), ...]

A numeric feature that reads several columns gives one unit per column (shuffled or attributed separately,
named after the column); every other feature is one unit named after the feature (its values shuffled as a
whole: a category, a text, an image). Plug-in feature types are whole units too.
"""

from __future__ import annotations

import dataclasses

from modelctl.util.lazy import numpy as np

@dataclasses.dataclass(frozen=True)
class Unit:
    """One thing importance is measured for.

    Args:
        feature: the spec's feature name.
        name: what reports show: the column's name, or the feature's.
        column: the index in the feature's raw vector; None for the whole feature.
    """

    feature: str
    name: str
    column: int | None = None

    def shuffled(self, values: np.ndarray, order: np.ndarray) -> np.ndarray:
        """`values` (a feature's raw values, one row per example) with this unit's values taken in `order`."""
        if self.column is None:
            return values[order]
        copy = values.copy()
        copy[:, self.column] = values[order, self.column]
        return copy


def columns_of(feature) -> list[str] | None:
    """The source column of each value of a fitted feature's raw vector (`modelctl.runs.FittedFeature`), or None
    when it is not split by column."""
    from modelctl.features import feature_type

    columns = feature.columns
    if feature_type(feature.type).by_column and columns and len(columns) == feature.width:
        return list(columns)
    return None


def units(fitted) -> list[Unit]:
    """Every unit of the fitted features (of a run's `modelctl.runs.Fitted`), in spec order."""
    found = []
    for feature, entry in fitted.features.items():
        columns = columns_of(entry)
        if columns and len(columns) > 1:
            found += [Unit(feature, column, index) for index, column in enumerate(columns)]
        else:
            found.append(Unit(feature, columns[0] if columns else feature))
    return found


__all__ = ["Unit", "columns_of", "units"]
