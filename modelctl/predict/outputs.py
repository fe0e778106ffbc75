"""Predictions as rows, and rows as CSV: what `modelctl predict` writes and `modelctl serve` answers.

    rows = prediction_rows(names, scores, labels)   # [{"input": ..., "species": "setosa", "species_setosa": 0.97}]
    text = rows_csv(rows)

Each label's feature type says what a prediction is (`LabelType.predictions`):
the class and each class's probability, or the value. A score that is not
finite (an input far outside the training range overflowed the network) is never
turned into a class: `non_finite` finds such examples, and `prediction_rows`
refuses them.
"""

from __future__ import annotations

import csv
import io

from modelctl.util.lazy import numpy as np

from modelctl.errors import ModelctlError


class NonFiniteScores(ModelctlError):
    """The model's outputs for some examples are NaN or infinite. Exit code 1.

    Args:
        examples: the positions (0-based) of those examples in the batch.
        names: what to call them in the message (their input names); default None: `example N`.
    """

    def __init__(self, examples: list[int], names: list[str] | None = None):
        self.examples = examples
        shown = [names[index] if names else f"example {index + 1}" for index in examples[:5]]
        more = f" and {len(examples) - 5} more" if len(examples) > 5 else ""
        super().__init__(f"{', '.join(shown)}{more}: the model's output is not a finite number (NaN or infinity), "
                         "so it predicts nothing; an input far outside the range the model was trained on "
                         "overflows it")


def non_finite(scores: dict[str, np.ndarray]) -> list[int]:
    """The positions of the examples whose outputs, of any label, hold a NaN or an infinity."""
    bad = None
    for values in scores.values():
        values = np.asarray(values)
        if np.isfinite(values).all():  # the common case, checked without building a mask per example
            continue
        row_bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
        bad = row_bad if bad is None else bad | row_bad
    return [] if bad is None else np.flatnonzero(bad).tolist()


def prediction_rows(names: list[str], scores: dict[str, np.ndarray], labels: dict, *,
                    ids: list[str] | None = None, id_column: str = "id") -> list[dict]:
    """One row per example: `input` (its name), its id when `ids` are given, then each label's prediction (a
    class name or a value) and its probabilities.

    Args:
        names: each example's name.
        scores: label -> the model's outputs, one row per example.
        labels: label name -> fitted label (`modelctl.runs.FittedLabel`: `type`, `classes`).
        ids: each example's id, written under `id_column`; default None: no id column.
        id_column: the name of the id column (default `id`).

    Raises:
        NonFiniteScores: an output is NaN or infinite.
    """
    from modelctl.features import label_type

    bad = non_finite(scores)
    if bad:
        raise NonFiniteScores(bad, names)
    rows = [{"input": name} for name in names]
    if ids is not None:
        for row, value in zip(rows, ids):
            row[id_column] = value
    for label, values in scores.items():
        kind = label_type(labels[label].type)
        classes = labels[label].classes or []
        values = np.asarray(values, dtype=np.float64)
        for index, row in enumerate(rows):
            row.update(kind.predictions(label, values[index], classes))
    return rows


def rows_csv(rows: list[dict]) -> str:
    """The rows as CSV text with a header line; "" for no rows."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


__all__ = ["NonFiniteScores", "non_finite", "prediction_rows", "rows_csv"]
