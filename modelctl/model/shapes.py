"""`validate --deep`: build the model to check that every layer fits its input."""

from __future__ import annotations

from modelctl.errors import Diagnostic, SpecError
from modelctl.spec.loader import Document


def check_shapes(document: Document) -> list[Diagnostic]:
    """Diagnostics from building the spec's model (empty when it builds)."""
    from modelctl.model.build import build_model

    try:
        build_model(document)
    except SpecError as error:
        return error.diagnostics
    return []
