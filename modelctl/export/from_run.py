"""Exporting a training run: the run's model, its held-out and training examples, its spec's export options.

    results = export_run(Path("runs/iris/20261123T101500Z"), formats=["all"])

Held-out examples for verification come from the run's test split (the
validation split when the test split is empty); int8 calibration examples
from its training split. Options are the spec's `export` section, with
`quantize` from the command line winning over `export.tflite.quantize`.
Artifacts go to `<run>/export/` unless another folder is given. Every
artifact carries the run's fitted preprocessing and feature declarations in
its metadata, so `modelctl predict ARTIFACT INPUTS` reads raw inputs without
the run folder.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from modelctl.errors import UsageError
from modelctl.export.errors import ExportFailed, UnsupportedLayerError

ALL = ("saved_model", "tflite", "onnx")


@dataclasses.dataclass
class RunExport:
    run_dir: Path
    output: Path
    results: list


def score_function(fitted: dict):
    """Accuracy (classification) or negative mean absolute error (regression) of the first label, from
    artifact outputs (given in the order of `data.labels`)."""
    labels = list(fitted["labels"])
    label = fitted["labels"][labels[0]]

    def score(outputs: dict[str, np.ndarray], truth: np.ndarray) -> tuple[str, float]:
        values = np.asarray(next(iter(outputs.values())), dtype=np.float64)
        if label["type"] == "regression":
            return "mae", float(np.mean(np.abs(values.reshape(len(truth), -1)[:, 0] - truth.reshape(-1))))
        if label["type"] == "categorical":
            return "accuracy", float(np.mean(values.argmax(axis=-1) == truth))
        predicted = (values.reshape(len(truth), -1) > 0.5).astype(np.float64)
        return "accuracy", float(np.mean(np.all(predicted == truth.reshape(len(truth), -1), axis=1)))

    return score


def export_run(target: str | Path, formats: list[str] | None = None, quantize: str | None = None,
               output: Path | None = None, force: bool = False, benchmark: bool = False) -> RunExport:
    """Export a run's model to `formats` (default: the spec's `export.formats`; `all` for every format).

    Raises:
        UsageError: not a run folder, an unknown format, artifacts that exist without `force`.
        ExportFailed: a format failed to export or verify (the others are in place).
    """
    from modelctl.data.pipeline import prepare
    from modelctl.evaluation.evaluate import locate
    from modelctl.export.artifact import ExportContext
    from modelctl.export.runner import export_formats
    from modelctl.training.runs import load_model, load_run_spec, read_json, spec_hash

    run_dir, model_file = locate(target)
    document = load_run_spec(run_dir)
    spec = document.data
    fitted = read_json(run_dir / "preprocessing.json")
    section = spec.get("export") or {}
    chosen = list(formats or section.get("formats") or ["saved_model"])
    if "all" in chosen:
        chosen = list(ALL)
    options = {name: dict(section.get(name) or {}) for name in ALL}
    if quantize is not None:
        options["tflite"]["quantize"] = quantize
    verify = section.get("verify") or {}
    prepared = prepare(document, fitted=fitted)
    examples = int(verify.get("examples", 64))
    holdout = prepared.arrays("test", limit=examples) or prepared.arrays("validation", limit=examples)
    if holdout is None:
        raise UsageError(f"{run_dir}: the run has no test or validation examples to verify exports on")
    representative = prepared.arrays("train", limit=int(options["tflite"].get("representative_examples", 100)))
    truth = holdout.targets[next(iter(fitted["labels"]))] if fitted["labels"] else None
    base_score = score_function(fitted) if fitted["labels"] else None
    count = min(examples, len(holdout))
    score = None if base_score is None else (lambda outputs: base_score(outputs, truth[:count]))
    features = spec["data"]["features"]
    metadata = {"spec_name": spec.get("name"), "spec_hash": spec_hash(spec),
                "class_names": {label: value.get("classes") for label, value in fitted["labels"].items()},
                "label_types": {label: value["type"] for label, value in fitted["labels"].items()},
                "features": features, "preprocessing": fitted}
    context = ExportContext(holdout=holdout.features, representative=representative.features,
                            metadata=metadata, score=score)
    folder = Path(output) if output is not None else run_dir / "export"
    try:
        results = export_formats(load_model(model_file), chosen, folder, options, context,
                                 tolerance=float(verify.get("tolerance", 1e-4)), examples=examples, force=force,
                                 benchmark=benchmark)
    except ExportFailed as error:
        located = _locate_layers(document, error)
        if located:
            error.args = (f"{error}\n" + "\n".join(located),)
        raise
    return RunExport(run_dir, folder, results)


def _locate_layers(document, error) -> list[str]:
    """`spec.yaml:LINE:COL: $.model.layers[i]: ...` for each layer an export could not hold."""
    from modelctl.registry.layers import LAYERS
    from modelctl.spec import checks
    from modelctl.spec.graph import expand

    names = {name for _, failure in error.failures if isinstance(failure, UnsupportedLayerError)
             for name in failure.layers}
    if not names:
        return []
    spec = document.data
    graph = expand(spec["model"], checks.model_inputs(spec), LAYERS, list(checks.label_types(spec)))
    lines = []
    for node in graph.nodes:
        if node.name in names:
            lines.append(str(document.diagnostic(node.path, f"layer '{node.name}' ({node.kind}) is written here")))
    return lines
