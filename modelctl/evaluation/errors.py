"""The error raised for predictions or arguments that evaluation cannot use."""

from __future__ import annotations

from modelctl.errors import ModelctlError


class EvaluationError(ModelctlError):
    """Labels, scores, metric names or plot inputs that do not fit together. Exit code 1.

    The message says what was received and what is allowed, for example:

        y_score must have shape (n, C) with C >= 2 for label type 'categorical'; received shape (150,)
    """
