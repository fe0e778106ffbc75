"""What an exporter is given (`ExportContext`), returns (`Artifact`), and what a verified export is (`Result`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np

Score = Callable[[dict[str, np.ndarray]], tuple[str, float]]
"""`score(outputs) -> (metric name, value)`, higher is better; `outputs` maps output name -> predictions
for the held-out examples, in their order."""

SplitScore = Callable[[dict[str, np.ndarray], np.ndarray], tuple[str, float]]
"""`score(outputs, truth) -> (metric name, value)` over a whole held-out split, higher is better."""

PREPROCESSING_SUFFIX = ".preprocessing.json"
"""Suffix of the file beside an artifact that describes the preprocessing steps left outside it."""


@dataclasses.dataclass
class ExportContext:
    """Everything an exporter and the verifier need besides the model.

    Args:
        holdout: held-out examples, feature name -> array of raw values (strings as numpy object or
            bytes arrays of shape (n, 1)); verification runs the first `examples` of them.
        representative: training-split examples in the same form, used to calibrate int8 quantization;
            None when not available (int8 is then refused).
        metadata: facts stored in every artifact: `spec_name`, `spec_hash`, `class_names` (output name ->
            list), ... `modelctl_version`, `inputs` and `outputs` are filled from the model when absent.
        score: optional metric computed on the outputs of the Keras model and of each artifact on `holdout`.
        split: optional; returns, each time it is called, the whole held-out split in chunks of (raw
            features, truth of the first label). Quantized artifacts are scored on all of it with
            `split_score`, since a sample says little about a small accuracy drop.
        split_score: the metric for `split`.
        saved_models: SavedModels shared by the formats of one export (`export_formats` sets it); None writes
            one for each conversion.
    """

    holdout: Mapping[str, np.ndarray]
    representative: Mapping[str, np.ndarray] | None = None
    metadata: dict = dataclasses.field(default_factory=dict)
    score: Score | None = None
    split: Callable[[], Iterable[tuple[dict[str, np.ndarray], np.ndarray]]] | None = None
    split_score: SplitScore | None = None
    saved_models: Any = None


@dataclasses.dataclass(frozen=True)
class SkippedStep:
    """A preprocessing layer left out of an artifact; the app runs it and feeds its output instead.

    Args:
        feature: the model input it reads (the artifact's input of that name takes its output).
        layer: the layer's name, such as `color_lookup`.
        description: JSON-ready description of the step (class, vocabulary, oov indices, output mode...).
        reason: why the format cannot hold it (the ops it lacks).
        shape: shape of the encoded values the artifact takes, batch dimension first (None).
        dtype: dtype of the encoded values, such as `int64`.
    """

    feature: str
    layer: str
    description: dict
    reason: str
    shape: tuple
    dtype: str


@dataclasses.dataclass
class Artifact:
    """One file or folder an exporter wrote (at a temporary path; the runner moves it into place).

    Args:
        format: the format's name in `modelctl.registry.exporters`: `saved_model`, `tflite`, `onnx` or a plug-in's.
        path: where it was written.
        quantization: `none` for float32 exports, else the TFLite quantization.
        skipped: preprocessing steps left outside the artifact, by feature.
        encoders: feature -> the Keras layer that encodes it, for the skipped steps (verification feeds
            the encoded values).
        sidecars: suffixes of files written beside `path` (`path` + suffix), such as `.preprocessing.json`.
        notes: facts the user must know, such as that the Flex delegate is needed.
        needs_flex: the TFLite model uses Select TF ops.
        metadata: the metadata stored in the artifact.
    """

    format: str
    path: Path
    quantization: str = "none"
    skipped: list[SkippedStep] = dataclasses.field(default_factory=list)
    encoders: dict[str, Any] = dataclasses.field(default_factory=dict)
    sidecars: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    needs_flex: bool = False
    metadata: dict = dataclasses.field(default_factory=dict)

    @property
    def quantized(self) -> bool:
        return self.quantization != "none"

    @property
    def label(self) -> str:
        return self.format if not self.quantized else f"{self.format} ({self.quantization})"


@dataclasses.dataclass
class Result:
    """A verified artifact at its final path.

    Args:
        format, quantization, path, skipped, notes: as in `Artifact` (path is the final one).
        size_bytes: file size (a folder's total for SavedModel), sidecars not counted.
        max_abs_diff: output name -> largest absolute difference from the Keras model.
        class_agreement: output name -> fraction of examples whose predicted class matches Keras
            (argmax, or > 0.5 for one sigmoid unit); absent for regression outputs.
        examples: how many held-out examples were compared.
        tolerance: the largest difference allowed (float exports), or None (quantized: not checked).
        metric: (name, artifact value, Keras value) from the context's score, or None.
        metric_examples: how many examples `metric` was computed on: `examples`, or the whole held-out split
            for quantized artifacts when the context gives it.
        latency_ms: median milliseconds per example at batch 1 in the artifact's runtime.
    """

    format: str
    quantization: str
    path: Path
    size_bytes: int
    max_abs_diff: dict[str, float]
    class_agreement: dict[str, float]
    examples: int
    tolerance: float | None
    metric: tuple[str, float, float] | None = None
    metric_examples: int | None = None
    latency_ms: float | None = None
    skipped: list[SkippedStep] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def metric_drop(self) -> float | None:
        """Keras value minus artifact value (positive: the artifact scores lower)."""
        return None if self.metric is None else self.metric[2] - self.metric[1]

    def as_dict(self) -> dict:
        return {
            "format": self.format,
            "quantization": self.quantization,
            "path": str(self.path),
            "size_bytes": self.size_bytes,
            "max_abs_diff": self.max_abs_diff,
            "class_agreement": self.class_agreement,
            "examples": self.examples,
            "tolerance": self.tolerance,
            "metric": None if self.metric is None else {
                "name": self.metric[0], "artifact": self.metric[1], "keras": self.metric[2],
                "drop": self.metric_drop, "examples": self.metric_examples},
            "latency_ms": self.latency_ms,
            "preprocessing_outside": [{"feature": step.feature, "layer": step.layer, "reason": step.reason}
                                      for step in self.skipped],
            "notes": self.notes,
        }
