"""Exporting a trained model to every registered format, each verified against Keras in its own runtime.

    results = export_formats(model, ["saved_model", "tflite", "onnx"], Path("out"),
                             options={"tflite": {"quantize": "int8"}},
                             context=ExportContext(holdout=..., representative=..., metadata={...}))
    render_table(results, console)

One module per format (`saved_model`, `tflite`, `onnx`, and those of plug-ins),
each registered in `modelctl.registry.exporters`; `modelctl.export.formats`
says what a format module defines and finds the one an artifact belongs to.
`modelctl.predict` runs an artifact (or a run's model) in its own runtime on
raw inputs, for `modelctl predict` and `modelctl serve`.
"""

from modelctl.export.artifact import Artifact, ExportContext, Result, SkippedStep
from modelctl.export.errors import ExportError, ExportFailed, ExportInterrupted, UnsupportedLayerError, \
    VerificationError
from modelctl.export.formats import artifact_name, read_metadata
from modelctl.export.report import render_table, write_benchmark
from modelctl.export.runner import export_formats
from modelctl.export.verify import verify

__all__ = [
    "ExportInterrupted",
    "Artifact", "ExportContext", "Result", "SkippedStep", "ExportError", "ExportFailed", "UnsupportedLayerError",
    "VerificationError", "render_table", "write_benchmark", "artifact_name", "export_formats", "verify",
    "read_metadata",
]
