"""The error raised when a run cannot be explained the way asked."""

from __future__ import annotations

from modelctl.errors import ModelctlError


class ExplainError(ModelctlError):
    """A method that does not fit the run's model or features, such as integrated gradients through integer
    inputs that no embedding layer takes, or SHAP values for an image model. Exit code 1.

    The message names the feature or layer concerned and the methods that do fit.
    """


__all__ = ["ExplainError"]
