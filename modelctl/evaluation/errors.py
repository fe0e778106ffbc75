"""The error raised for predictions or arguments that evaluation cannot use.

`EvaluationError` is defined in `modelctl.errors`, below the label types, whose checks of scores raise it too.
"""

from __future__ import annotations

from modelctl.errors import EvaluationError

__all__ = ["EvaluationError"]
