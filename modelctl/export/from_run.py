"""Exporting a training run: the run's model, its held-out and training examples, its spec's export options.

    results = export_run(Path("runs/iris/20261123T101500Z"), ["all"])

Held-out examples for verification are a seeded sample of the run's test
split (the validation split when the test split is empty), stratified by the
first label's class so that every class is checked; quantized artifacts are
also scored on the whole split. int8 calibration examples come from the
training split, as many as the formats' `representative_examples` options ask
(none when no format takes that option). Options are the spec's `export`
section, with `quantize` from the command line winning over the `quantize`
option of every format that has one (`export.tflite.quantize`).
Artifacts go to `<run>/export/` unless another folder is given; a SavedModel
also goes to TensorFlow Serving's layout there, and with a model repository
every artifact goes to that layout in it (`modelctl.export.serving`). Every
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
from modelctl.export.serving import FOLDER, ROOT_FORMAT, artifacts, run_version, write_serving_layout
from modelctl.features import label_type
from modelctl.registry.exporters import exporters
from modelctl.spec.typed import schema_default

ALL = "all"
"""The format name that stands for every registered format, built-in and from plug-ins."""


@dataclasses.dataclass
class RunExport:
    """What `export_run` wrote: the verified artifacts in `output`, and the model's folder in the model
    repository layout (`output/serving/<name>`, or `<model repository>/<name>`; TensorFlow Serving's model base
    path) when anything was laid out there, else None; `laid_out` is the formats its version holds now."""

    run_dir: Path
    output: Path
    results: list
    serving: Path | None = None
    laid_out: list[str] = dataclasses.field(default_factory=list)


def score_function(fitted):
    """Accuracy (classification) or negative mean absolute error (regression) of the first label, from
    artifact outputs (given in the order of `data.labels`); `fitted` is the run's `modelctl.runs.Fitted`."""
    kind = label_type(fitted.first_label.type)

    def score(outputs: dict[str, np.ndarray], truth: np.ndarray) -> tuple[str, float]:
        return kind.score(np.asarray(next(iter(outputs.values())), dtype=np.float64), truth)

    return score


def export_run(target: str | Path, formats: list[str] | None = None, quantize: str | None = None, *,
               output: Path | None = None, force: bool = False, benchmark: bool = False,
               cache=None, model_repository: Path | None = None) -> RunExport:
    """Export a run's model to `formats` (default: the spec's `export.formats`; `all` for every format).

    Args:
        target: a run folder, or a `.keras` file inside one.
        formats: format names of `modelctl.registry.exporters`, or `all`. Default None: the spec's.
        quantize: the `quantize` option of every format that has one. Default None: the spec's.
        output: folder of the artifacts. Default None: `<run>/export`.
        force: replace artifacts that exist. Default False.
        benchmark: every format and quantization, timed over more runs. Default False.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`) the examples verified on come from.
            Default None: the default folder.
        model_repository: lay out every artifact in this model repository as `<name>/<version>/`, for TensorFlow
            Serving and Triton (`modelctl.export.serving`); artifacts in place already are laid out without
            being exported again. Default None: only a SavedModel, in `output/serving`.

    Raises:
        UsageError: not a run folder, artifacts that exist without `force`.
        UnknownNameError: an unknown format.
        ExportFailed: a format failed to export or verify (the others are in place).
    """
    from modelctl.export.artifact import ExportContext
    from modelctl.export.runner import Exported, export_formats, planned_artifacts
    from modelctl.model.trained import open_trained
    from modelctl.runs import EXPORTS, spec_hash

    trained = open_trained(target, command="export")
    run_dir, document, fitted = trained.run.path, trained.document, trained.fitted
    spec = document.spec
    section = spec.export
    registry = exporters()
    # An empty list of formats, on the command line or in the spec, exports the schema's default.
    chosen = list(formats or section.formats or schema_default("export", "formats"))
    if ALL in chosen:
        chosen = registry.names()
    planned = [registry.get(name) for name in (registry.names() if benchmark else chosen)]
    options = {entry.name: dict(section.options[entry.name]) for entry in registry}
    if quantize is not None:
        for entry in registry:
            if "quantize" in entry.args:
                options[entry.name]["quantize"] = quantize
    folder = Path(output) if output is not None else run_dir / EXPORTS
    if model_repository is not None and not force and not benchmark:
        planned_paths = [item.path for item in planned_artifacts(chosen, options, folder)]
        if planned_paths and all(path.exists() for path in planned_paths):
            return _lay_out(RunExport(run_dir, folder, Exported(kept=planned_paths)), spec.name,
                            repository=model_repository)
    verify = section.verify
    prepared = trained.prepare(cache=cache)
    examples = verify.examples
    split = "test" if prepared.counts.get("test") else "validation"
    if not prepared.counts.get(split):
        raise UsageError(f"{run_dir}: the run has no test or validation examples to verify exports on")
    label = fitted.first_label.name if fitted.first_label is not None else None
    stratified = label is not None and label_type(fitted.first_label.type).single_class
    holdout = verification_sample(prepared, split, examples, seed=spec.seed,
                                  label=label if stratified else None)
    calibration = [int(options[entry.name]["representative_examples"])
                   for entry in planned if "representative_examples" in entry.args]
    representative = prepared.arrays("train", limit=max(calibration)).features if calibration else None
    base_score = score_function(fitted) if label is not None else None
    score = None if base_score is None else (lambda outputs: base_score(outputs, holdout.targets[label]))

    def whole_split():
        for chunk in prepared.chunks(split):
            yield chunk.features, chunk.targets[label]

    features = spec.data.features
    metadata = {"spec_name": spec.name, "spec_hash": spec_hash(document.data),
                "class_names": {name: value.classes for name, value in fitted.labels.items()},
                "label_types": {name: value.type for name, value in fitted.labels.items()},
                "features": features, "preprocessing": fitted.to_json()}
    context = ExportContext(holdout=holdout.features, representative=representative,
                            metadata=metadata, score=score, split=whole_split if base_score else None,
                            split_score=base_score)
    try:
        results = export_formats(trained.load_model(), chosen, folder, options=options, context=context,
                                 tolerance=verify.tolerance, examples=examples, force=force,
                                 benchmark=benchmark)
    except ExportFailed as error:
        located = _locate_layers(document, error)
        if located:
            error.args = (f"{error}\n" + "\n".join(located),)
        raise
    return _lay_out(RunExport(run_dir, folder, results), spec.name, repository=model_repository)


def _lay_out(done: RunExport, name: str, *, repository: Path | None) -> RunExport:
    """Put the artifacts of `done` in the model repository layout: every format's in `repository`, or the
    SavedModel's in `output/serving` without one. Of several artifacts of one format (a benchmark's
    quantizations), the unquantized one."""
    from modelctl.export.formats import format_of

    found = [(result.format, result.quantization, result.path) for result in done.results]
    found += [(format_of(path), "", path) for path in getattr(done.results, "kept", [])]
    chosen: dict[str, Path] = {}
    for export_format, quantization, path in sorted(found, key=lambda item: item[1] not in ("none", "")):
        if repository is not None or export_format == ROOT_FORMAT:
            chosen.setdefault(export_format, path)
    if chosen:
        version = run_version(done.run_dir)
        done.serving = write_serving_layout(chosen, repository if repository is not None else done.output / FOLDER,
                                            name, version=version)
        done.laid_out = list(artifacts(done.serving / str(version)))
    return done


def verification_sample(prepared, split: str, count: int, *, seed: int, label: str | None = None):
    """`count` examples of `split` (all of them when it has fewer), chosen with `seed`, in source order.

    With `label` (a class label), the sample is stratified: each class gets its share of `count`
    (largest remainders), and every class present gets at least one example while `count` allows.
    Two passes over the split: one reads the labels only, one keeps the chosen examples.
    """
    from modelctl.data.pipeline import Encoded

    total = prepared.counts[split]
    rng = np.random.default_rng([seed, 0x5EED])
    if total <= count:
        chosen = np.arange(total)
    elif label is None:
        chosen = np.sort(rng.choice(total, size=count, replace=False))
    else:
        classes = np.concatenate([np.asarray(chunk.targets[label]).reshape(len(chunk), -1)[:, 0]
                                  for chunk in prepared.chunks(split)])
        chosen = np.sort(_stratified(classes, count, rng))
    parts, start = [], 0
    for chunk in prepared.chunks(split):
        inside = chosen[(chosen >= start) & (chosen < start + len(chunk))] - start
        if len(inside):
            parts.append(chunk.take(inside))
        start += len(chunk)
    return Encoded.join(parts)


def _stratified(classes: np.ndarray, count: int, rng) -> np.ndarray:
    """Indices of `count` examples, each class's share proportional to its size, at least one per class."""
    names, sizes = np.unique(classes, return_counts=True)
    shares = sizes * count / len(classes)
    taken = np.minimum(np.maximum(np.floor(shares).astype(int), 1 if count >= len(names) else 0), sizes)
    for index in np.argsort(-(shares - np.floor(shares)), kind="stable"):
        if taken.sum() >= count:
            break
        if taken[index] < sizes[index]:
            taken[index] += 1
    while taken.sum() > count:  # the minimum of one per class can overshoot: trim the largest classes
        taken[np.argmax(taken)] -= 1
    return np.concatenate([rng.choice(np.flatnonzero(classes == name), size=size, replace=False)
                           for name, size in zip(names, taken)])


def _locate_layers(document, error) -> list[str]:
    """`spec.yaml:LINE:COL: $.model.layers[i]: ...` for each layer an export could not hold."""
    from modelctl.registry.layers import LAYERS
    from modelctl.spec.graph import expand

    names = {name for _, failure in error.failures if isinstance(failure, UnsupportedLayerError)
             for name in failure.layers}
    if not names:
        return []
    spec = document.spec
    graph = expand(spec.model.as_dict(), spec.input_names(), LAYERS, labels=list(spec.label_types()))
    lines = []
    for node in graph.nodes:
        if node.name in names:
            lines.append(str(document.diagnostic(node.path, f"layer '{node.name}' ({node.kind}) is written here")))
    return lines
