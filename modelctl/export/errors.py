"""Errors of `modelctl export`: every one names the format, and the layer when one is to blame."""

from __future__ import annotations

from modelctl.errors import ModelctlError


class ExportError(ModelctlError):
    """An artifact that could not be written. Exit code 1."""


class UnsupportedLayerError(ExportError):
    """A layer the format cannot hold, with the ops it lacks.

    Args:
        export_format: the format, such as `tflite`.
        layers: layer name -> the ops of that layer the format lacks (may be empty when unknown).
        hint: what the user can do about it, or `""`.
    """

    def __init__(self, export_format: str, layers: dict[str, list[str]], hint: str = ""):
        self.export_format = export_format
        self.layers = layers
        described = "; ".join(f"layer '{name}'" + (f" (ops {', '.join(ops)})" if ops else "")
                              for name, ops in layers.items())
        super().__init__(f"{export_format}: cannot convert {described}.{' ' + hint if hint else ''}")


class VerificationError(ExportError):
    """An artifact whose outputs do not match the Keras model's; the artifact is removed."""


class ExportFailed(ExportError):
    """One or more formats failed; `results` holds the artifacts that were written and verified.

    Args:
        failures: (format label, error) for each failed format.
        results: the `Result`s of the formats that succeeded.
    """

    def __init__(self, failures: list[tuple[str, ModelctlError]], results: list):
        self.failures = failures
        self.results = results
        lines = [_labelled(label, str(error)) for label, error in failures]
        self.exit_code = max(error.exit_code for _, error in failures)
        super().__init__("\n".join(lines))


def _labelled(label: str, message: str) -> str:
    """`message` starting with `label:` (such as `tflite (int8):`), whether it names the format or not."""
    if message.startswith(label + ":"):
        return message
    export_format = label.split(" ")[0]
    if message.startswith(export_format + ":"):
        return label + message[len(export_format):]
    return f"{label}: {message}"


class ExportInterrupted(ExportError):
    """Ctrl-C (or SIGTERM) during an export: the artifacts verified before it are in place, the one under way is
    removed. Exit code 130 (128 + SIGINT), as a shell gives an interrupted command.

    Args:
        message: what was kept, what was not written, and how to finish.
        results: the `Result` of each artifact in place.
    """

    exit_code = 130

    def __init__(self, message: str, results: list):
        super().__init__(message)
        self.results = results

