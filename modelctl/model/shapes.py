"""`validate --deep`: build the model to check that every layer fits its input, and that each output's units and
activation fit its label (for outputs the spec alone does not show, see `modelctl.spec.checks.built_output_problems`)."""

from __future__ import annotations

from modelctl.errors import WARNING, Diagnostic, SpecError
from modelctl.spec.loader import Document


def check_shapes(document: Document) -> list[Diagnostic]:
    """Diagnostics from building the spec's model: its errors, or a warning for each input whose width is a
    placeholder because its data could not be read (empty when it builds as training would)."""
    from modelctl.model.build import Builder

    from modelctl.spec.checks import built_output_problems

    try:
        builder = Builder(document)
        model = builder.build()
    except SpecError as error:
        return error.diagnostics
    placeholders = [document.diagnostic(("data", "features", spec.name), spec.note, WARNING)
                    for spec in builder.inputs if spec.placeholder]
    return placeholders + built_output_problems(document, _outputs(model))


def _outputs(model) -> dict[str, tuple[str | None, int | None]]:
    """Output name -> (the activation of the layer that gives it, None when it has no `activation`; its units)."""
    found = {}
    for name, tensor in zip(model.output_names, model.outputs):
        try:
            config = model.get_layer(name).get_config()  # an output is named after the layer that gives it
        except ValueError:
            config = {}
        activation = config.get("activation")
        units = tensor.shape[-1] if len(tensor.shape) > 1 else 1
        found[name] = (activation if isinstance(activation, str) else None, units)
    return found
