"""The metadata every artifact carries: what the spec was, what goes in, what comes out."""

from __future__ import annotations

from modelctl.export.artifact import ExportContext, SkippedStep
from modelctl.export.graph import output_tensors
from modelctl.export.signature import describe_inputs
from modelctl.version import __version__


def base_metadata(model, context: ExportContext) -> dict:
    """The context's metadata, with `modelctl_version`, `inputs` and `outputs` filled from the model.

    `inputs` describes the raw features the Keras model takes; an artifact that leaves preprocessing
    outside lists its own inputs under `artifact_inputs`.
    """
    metadata = dict(context.metadata)
    metadata["modelctl_version"] = __version__
    metadata.setdefault("inputs", describe_inputs(model))
    metadata.setdefault("outputs", {name: {"shape": [None, *tensor.shape[1:]], "dtype": str(tensor.dtype)}
                                    for name, tensor in output_tensors(model).items()})
    return metadata


def artifact_metadata(base: dict, export_format: str, quantization: str, *, prepared_model,
                      skipped: list[SkippedStep]) -> dict:
    """`base` plus the facts of one artifact: format, quantization, its inputs and the steps left outside."""
    return {
        **base,
        "format": export_format,
        "quantization": quantization,
        "artifact_inputs": describe_inputs(prepared_model),
        "preprocessing_outside": [{"feature": step.feature, "layer": step.layer} for step in skipped],
    }
