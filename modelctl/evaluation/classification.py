"""How a classifier's scores become predicted labels.

Binary and multi_label predict 1 where the score is above `THRESHOLD` (0.5, as Keras's
`binary_accuracy`); categorical predicts the class of the highest score (the first one
on ties). The metrics and the confusion matrix plot count these predictions.
"""

from __future__ import annotations

import numpy as np

THRESHOLD = 0.5


def predictions(label_type: str, y_score: np.ndarray) -> np.ndarray:
    """Predicted labels: class indices (n,) for categorical, 0/1 of `y_score`'s shape otherwise."""
    if label_type == "categorical":
        return np.argmax(y_score, axis=1)
    return (y_score > THRESHOLD).astype(np.int64)
