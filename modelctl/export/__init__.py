"""Exporting a trained model: SavedModel, TFLite and ONNX, each verified against Keras in its own runtime.

    results = export_formats(model, ["saved_model", "tflite", "onnx"], Path("out"), {"tflite": {"quantize": "int8"}},
                             ExportContext(holdout=..., representative=..., metadata={...}))
    render_table(results, console)

One module per format (`saved_model`, `tflite`, `onnx`), each with
`export(model, path, options, context) -> Artifact` and `read_metadata(path)`.
"""

from modelctl.export.artifact import Artifact, ExportContext, Result, SkippedStep
from modelctl.export.errors import ExportError, ExportFailed, UnsupportedLayerError, VerificationError
from modelctl.export.report import render_table, write_benchmark
from modelctl.export.runner import artifact_name, export_formats
from modelctl.export.verify import verify

__all__ = [
    "Artifact", "ExportContext", "Result", "SkippedStep", "ExportError", "ExportFailed", "UnsupportedLayerError",
    "VerificationError", "render_table", "write_benchmark", "artifact_name", "export_formats", "verify",
    "read_metadata",
]


def read_metadata(path) -> dict:
    """The modelctl metadata of an artifact of any format, chosen by its name (a folder is a SavedModel)."""
    from pathlib import Path

    path = Path(path)
    if path.is_dir():
        from modelctl.export.saved_model import read_metadata as read
    elif path.suffix == ".tflite":
        from modelctl.export.tflite import read_metadata as read
    elif path.suffix == ".onnx":
        from modelctl.export.onnx import read_metadata as read
    else:
        raise ExportError(f"{path}: not a SavedModel folder, .tflite or .onnx file")
    return read(path)
