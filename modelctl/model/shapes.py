"""`validate --deep`: build the model to check that every layer fits its input."""

from __future__ import annotations

from modelctl.errors import WARNING, Diagnostic, SpecError
from modelctl.spec.loader import Document


def check_shapes(document: Document) -> list[Diagnostic]:
    """Diagnostics from building the spec's model: its errors, or a warning for each input whose width is a
    placeholder because its data could not be read (empty when it builds as training would)."""
    from modelctl.model.build import Builder

    try:
        builder = Builder(document)
        builder.build()
    except SpecError as error:
        return error.diagnostics
    return [document.diagnostic(("data", "features", spec.name), spec.note, WARNING)
            for spec in builder.inputs if spec.placeholder]
