"""Checking an artifact against the Keras model it came from, in the artifact's own runtime.

On the first `examples` held-out examples (the caller chooses them: `modelctl
export` gives a seeded, stratified sample of the held-out split): the largest
absolute difference per output, and for classification outputs the fraction of
examples whose predicted class agrees (argmax, or > 0.5 for a single sigmoid
unit). Float32 exports must stay within `tolerance`; quantized ones are not held
to it but report the context's score for the artifact and for Keras, on the
whole held-out split when the context gives it. Also the median latency per
example at batch 1 and the size on disk.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from modelctl.export.artifact import Artifact, ExportContext, Result
from modelctl.export.errors import VerificationError
from modelctl.export.graph import output_tensors, producer
from modelctl.export.preprocessing import encode
from modelctl.export.formats import load
from modelctl.spec.typed import schema_default

DEFAULT_TOLERANCE = schema_default("export", "verify", "tolerance")
"""Largest absolute difference from Keras a float export may show, as `export.verify.tolerance` defaults."""
DEFAULT_EXAMPLES = schema_default("export", "verify", "examples")
"""Held-out examples each artifact is checked on, as `export.verify.examples` defaults."""
SCORE_BATCH = 1024
"""Examples per call when a quantized artifact is scored on the whole held-out split."""


def held_out(context: ExportContext, examples: int) -> dict[str, np.ndarray]:
    """The first `examples` held-out examples.

    Raises:
        VerificationError: no held-out examples were given.
    """
    if not context.holdout:
        raise VerificationError("no held-out examples to verify the artifacts with")
    if examples < 1:
        raise VerificationError(f"invalid number of verification examples. Expected at least 1. "
                                f"Received: examples={examples}")
    return {name: np.asarray(values)[:examples] for name, values in context.holdout.items()}


def keras_outputs(model, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Output name -> the Keras model's predictions (inference mode)."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    names = [tensor.name for tensor in model.inputs]
    outputs = model({name: tf.convert_to_tensor(inputs[name]) for name in names}, training=False)
    if not isinstance(outputs, dict):
        import keras

        outputs = dict(zip(output_tensors(model), keras.tree.flatten(outputs)))
    return {name: np.asarray(value) for name, value in outputs.items()}


def output_kinds(model, metadata: dict) -> dict[str, str]:
    """Output name -> `softmax`, `sigmoid` (class outputs) or `regression`.

    An output is a class output when its layer's activation is softmax or sigmoid, or when the metadata
    lists class names for it.
    """
    # A label without classes (regression) is listed with None: its output is a number, whatever its activation.
    class_names = {name for name, classes in (metadata.get("class_names") or {}).items() if classes}
    kinds = {}
    for name, tensor in output_tensors(model).items():
        activation = getattr(getattr(producer(tensor)[0], "activation", None), "__name__", "")
        units = tensor.shape[-1]
        if activation == "softmax" or (name in class_names and units and units > 1):
            kinds[name] = "softmax"
        elif activation == "sigmoid" or name in class_names:
            kinds[name] = "sigmoid"
        else:
            kinds[name] = "regression"
    return kinds


def predicted_classes(values: np.ndarray, kind: str) -> np.ndarray:
    """Argmax over the last axis for `softmax` outputs, values > 0.5 for `sigmoid` ones."""
    if kind == "softmax":
        return np.argmax(values, axis=-1)
    return (values > 0.5).astype(np.int64)


def verify(model, artifact: Artifact, context: ExportContext, *, examples: int = DEFAULT_EXAMPLES,
           tolerance: float = DEFAULT_TOLERANCE, max_metric_drop: float | None = None,
           reference: dict[str, np.ndarray] | None = None, latency_runs: int = 30) -> Result:
    """Run `artifact` on held-out examples and compare it with `model`.

    Args:
        model: the Keras model the artifact was exported from.
        artifact: the artifact, at its (temporary) path.
        context: holds the held-out examples and the optional `score`.
        examples: how many held-out examples to compare (default 64; fewer when fewer are given).
        tolerance: largest absolute difference allowed per output for float32 exports (default 1e-4).
        max_metric_drop: for quantized exports, the largest allowed drop of the score; default None (reported,
            not checked).
        reference: the Keras outputs on those examples, when already computed.
        latency_runs: single-example runs timed for the median latency (default 30; 0 skips timing).

    Raises:
        VerificationError: outputs differ beyond `tolerance` (float32), are not finite, or the score drops
            more than `max_metric_drop`.
    """
    inputs = held_out(context, examples)
    count = len(next(iter(inputs.values())))
    reference = reference if reference is not None else keras_outputs(model, inputs)
    feeds = artifact_inputs(artifact, inputs)
    predict = load(artifact)
    outputs = _run(predict, feeds, artifact)
    missing = sorted(set(reference) - set(outputs))
    if missing:
        raise VerificationError(f"{artifact.label}: outputs {', '.join(missing)} are missing; the artifact has "
                                f"{', '.join(sorted(outputs)) or 'none'}")
    kinds = output_kinds(model, context.metadata)
    differences, agreement, problems = {}, {}, []
    for name, expected in reference.items():
        actual = np.asarray(outputs[name], dtype=np.float64).reshape(expected.shape)
        if not np.all(np.isfinite(actual)):
            problems.append(f"output '{name}' has non-finite values")
            differences[name] = float("inf")
            continue
        differences[name] = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
        if kinds[name] != "regression":
            agreement[name] = float(np.mean(predicted_classes(actual, kinds[name]) ==
                                            predicted_classes(expected, kinds[name])))
        if not artifact.quantized and differences[name] > tolerance:
            shown = f", class agreement {agreement[name]:.1%}" if name in agreement else ""
            problems.append(f"output '{name}' differs from the Keras model by up to {differences[name]:.3g} "
                            f"(tolerance {tolerance:g}){shown}")
    metric, metric_examples = None, None
    if artifact.quantized and context.split is not None and context.split_score is not None:
        metric, metric_examples = split_metric(model, artifact, predict, context=context)
    elif context.score is not None:
        metric_name, value = context.score({name: outputs[name] for name in reference})
        _, keras_value = context.score(reference)
        metric, metric_examples = (metric_name, float(value), float(keras_value)), count
    if metric is not None:
        metric_name, value, keras_value = metric
        drop = metric[2] - metric[1]
        if artifact.quantized and max_metric_drop is not None and drop > max_metric_drop:
            problems.append(f"{metric_name} drops by {drop:.4g} ({keras_value:.4g} -> {value:.4g}) on "
                            f"{metric_examples} examples; at most {max_metric_drop:g} is allowed")
    if problems:
        raise VerificationError(f"{artifact.label}: verification failed on {count} held-out examples: "
                                + "; ".join(problems))
    return Result(format=artifact.format, quantization=artifact.quantization, path=artifact.path,
                  size_bytes=size_on_disk(artifact.path), max_abs_diff=differences, class_agreement=agreement,
                  examples=count, tolerance=None if artifact.quantized else tolerance, metric=metric,
                  metric_examples=metric_examples,
                  latency_ms=median_latency(predict, feeds, latency_runs) if latency_runs else None,
                  skipped=list(artifact.skipped), notes=list(artifact.notes))


def split_metric(model, artifact: Artifact, predict, *, context: ExportContext) -> tuple[tuple, int]:
    """((metric name, artifact value, Keras value), examples) over the context's whole held-out split."""
    from_artifact, from_keras, truths = [], [], []
    for features, truth in context.split():
        for start in range(0, len(truth), SCORE_BATCH):
            chunk = {name: np.asarray(values)[start:start + SCORE_BATCH] for name, values in features.items()}
            expected = keras_outputs(model, chunk)
            actual = _run(predict, artifact_inputs(artifact, chunk), artifact)
            from_keras.append(expected)
            from_artifact.append({name: np.asarray(actual[name]).reshape(expected[name].shape) for name in expected})
            truths.append(np.asarray(truth)[start:start + SCORE_BATCH])
    if not truths:
        raise VerificationError(f"{artifact.label}: the held-out split is empty, so the quantized artifact cannot "
                                "be scored")
    truth = np.concatenate(truths)

    def joined(parts):
        return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}

    name, value = context.split_score(joined(from_artifact), truth)
    _, keras_value = context.split_score(joined(from_keras), truth)
    return (name, float(value), float(keras_value)), len(truth)


def _run(predict, feeds: dict[str, np.ndarray], artifact: Artifact) -> dict[str, np.ndarray]:
    try:
        return predict(feeds)
    except VerificationError:
        raise
    except Exception as error:  # the runtime refused the artifact: a failed check, not a bug of modelctl
        lines = str(error).strip().splitlines() or [type(error).__name__]
        raise VerificationError(f"{artifact.label}: the artifact fails to run in its runtime: {lines[0]}") from error


def artifact_inputs(artifact: Artifact, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Raw examples as the artifact takes them: left-out encoders applied, numbers in the input dtypes."""
    declared = {name: spec["dtype"] for name, spec in artifact.metadata["artifact_inputs"].items()}
    feeds = encode({name: inputs[name] for name in declared}, artifact.encoders, declared)
    return {name: values if declared[name] == "string" else np.asarray(values).astype(declared[name])
            for name, values in feeds.items()}


def median_latency(predict, feeds: dict[str, np.ndarray], runs: int) -> float:
    """Median milliseconds of `predict` on one example, over `runs` runs after two warm-up runs."""
    count = len(next(iter(feeds.values())))
    singles = [{name: values[index:index + 1] for name, values in feeds.items()} for index in range(count)]
    for single in singles[:2]:
        predict(single)
    timings = []
    for run in range(runs):
        single = singles[run % count]
        start = time.perf_counter()
        predict(single)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def size_on_disk(path: Path) -> int:
    """Bytes of a file, or of every file in a folder."""
    path = Path(path)
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    return path.stat().st_size
