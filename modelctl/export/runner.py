"""Writing several formats: plan the artifacts, export each to a temporary path, verify, then move into place.

Formats are those of `modelctl.registry.exporters`, each one module (see
`modelctl.export.formats`). Nothing reaches a final path before its
verification passed: each artifact is written beside its final path under a
hidden temporary name that ends with the final one
(`.partial-1a2b3c.model.tflite`, so writers that insist on an extension accept
it) and renamed once verified; a failed or interrupted export removes its
temporary files. An existing artifact is replaced only with `force=True`;
without it an export that finds some of its artifacts in place keeps them and
writes the others, so that running an interrupted export again completes it.
A benchmark (`benchmark=True`) measures every artifact, so it writes each again.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path

from modelctl.errors import ModelctlError, SpecError, UsageError, one_of
from modelctl.export.artifact import PREPROCESSING_SUFFIX, Artifact, ExportContext, Result
from modelctl.export.errors import ExportError, ExportFailed, ExportInterrupted
from modelctl.export.formats import artifact_name, module
from modelctl.export.signature import SavedModelCache
from modelctl.export.verify import DEFAULT_EXAMPLES, DEFAULT_TOLERANCE, held_out, keras_outputs, verify
from modelctl.registry.exporters import exporters
from modelctl.spec.messages import section_problems

SIDECARS = (PREPROCESSING_SUFFIX,)


class Exported(list):
    """The `Result` of each artifact written (a list), and `kept`: the paths of artifacts already in place that
    were left as they are (an export run again without `force`)."""

    def __init__(self, results=(), kept: list[Path] | None = None):
        super().__init__(results)
        self.kept = list(kept or [])


@dataclasses.dataclass(frozen=True)
class PlannedArtifact:
    """One artifact to write: its format, its resolved options and its final path."""

    format: str
    options: dict
    path: Path

    @property
    def label(self) -> str:
        quantize = self.options.get("quantize", "none")
        return self.format if quantize == "none" else f"{self.format} ({quantize})"


def export_formats(model, formats: list[str], output_dir: Path, *, options: dict[str, dict] | None = None,
                   context: ExportContext, tolerance: float = DEFAULT_TOLERANCE, examples: int = DEFAULT_EXAMPLES,
                   force: bool = False, benchmark: bool = False,
                   max_metric_drop: float | None = None) -> list[Result]:
    """Export `model` to each format, verify each artifact and move the verified ones into `output_dir`.

    Args:
        model: the trained Keras functional model (named inputs and outputs).
        formats: format names (`modelctl.registry.exporters`): `saved_model`, `tflite`, `onnx`, or a plug-in's.
        output_dir: folder of the artifacts; created when missing. Each format names its artifact
            (`modelctl.export.formats.artifact_name`).
        options: format -> its options (`export.<format>` of the spec); defaults fill what is absent.
            Default None: every format with its defaults.
        context: held-out and representative examples, metadata, optional score.
        tolerance: largest absolute difference from Keras allowed for float32 exports (default 1e-4).
        examples: held-out examples each artifact is checked on (default 64).
        force: replace existing artifacts. Default False: artifacts in place are kept and the others written
            (an error only when every one is in place); with `benchmark`, every artifact is written again.
        benchmark: export every registered format, and those with a `quantize` option (TFLite) with each of
            its values, ignoring `formats` (default False); latency is then timed over more runs.
        max_metric_drop: largest allowed drop of the score for quantized exports; default None (reported only).

    Returns:
        `Exported`: one `Result` per artifact written, in plan order, and the paths of those kept.

    Raises:
        UnknownNameError: an unknown format name.
        UsageError: an unknown or invalid option, or every artifact exists already, without `force`.
        ExportInterrupted: Ctrl-C or SIGTERM; what was written before it is in place and listed.
        PluginError: a plug-in format's module cannot be used.
        ExportFailed: one or more formats failed to export or verify; the others are in place and listed in
            the error's `results`.
    """
    plans = planned_artifacts(formats, options, Path(output_dir), benchmark=benchmark)
    if not plans:
        raise UsageError(f"no export format given. Expected one or more of {one_of(exporters().names())}")
    kept = [] if force or benchmark else [item for item in plans if item.path.exists()]
    if kept and len(kept) == len(plans):
        shown = ", ".join(str(item.path) for item in kept)
        raise UsageError(f"{shown} already exist{'s' if len(kept) == 1 else ''}; pass --force to write "
                         f"{'it' if len(kept) == 1 else 'them'} again")
    plans = [item for item in plans if item not in kept]
    reference = keras_outputs(model, held_out(context, examples))
    try:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"cannot create the output folder {output_dir}: {error.strerror}") from None
    results, failures = Exported(kept=[item.path for item in kept]), []
    with SavedModelCache() as saved_models:
        context = dataclasses.replace(context, saved_models=context.saved_models or saved_models)
        for index, item in enumerate(plans):
            try:
                results.append(_export_one(model, item, context, tolerance=tolerance, examples=examples,
                                           reference=reference, max_metric_drop=max_metric_drop,
                                           latency_runs=200 if benchmark else 30))
            except KeyboardInterrupt:
                raise _interrupted(item, plans[index + 1:], results=results, failures=failures) from None
            except ModelctlError as error:
                failures.append((item.label, error))
            except Exception as error:  # a converter can fail in any way: the other formats are still written
                failures.append((item.label, ExportError(
                    f"{item.format}: the export failed: {type(error).__name__}: {_first_line(error)}")))
    if failures:
        raise ExportFailed(failures, results)
    return results


def _interrupted(current: PlannedArtifact, rest: list[PlannedArtifact], *, results: list[Result],
                 failures: list) -> ExportInterrupted:
    """What an interruption during `current` leaves: the verified artifacts in place, the others not written."""
    lines = [f"export interrupted while writing {current.label}; it was removed, and nothing of it is left"]
    if results:
        lines.append("kept (written and verified): " + ", ".join(str(result.path) for result in results))
    missing = [current, *rest]
    lines.append("not written: " + ", ".join(item.label for item in missing)
                 + (f"; failed: {', '.join(label for label, _ in failures)}" if failures else ""))
    lines.append("run the same command again to write the missing ones (artifacts in place are kept)")
    return ExportInterrupted("\n".join(lines), results)


def planned_artifacts(formats: list[str], options: dict[str, dict] | None, output_dir: Path, *,
                      benchmark: bool = False) -> list[PlannedArtifact]:
    """The artifacts to write, with validated options and defaults filled in.

    Args:
        benchmark: every registered format, and each value of a `quantize` option, ignoring `formats`.
            Default False.

    Raises:
        UnknownNameError: an unknown format.
        SpecError: an unknown option or a value its schema refuses, each as
            `export options: $.export.<format>.<option>: message`.
        PluginError: a plug-in format's module cannot be used.
    """
    registry = exporters()
    names = registry.names() if benchmark else list(dict.fromkeys(formats))
    entries = [registry.get(name) for name in names]
    problems = [problem for entry in entries
                for problem in section_problems((options or {}).get(entry.name) or {}, entry.args,
                                                where="export options", path=("export", entry.name))]
    if problems:
        raise SpecError(problems)
    plans = []
    for entry in entries:
        resolved = {**entry.defaults(), **((options or {}).get(entry.name) or {})}
        variants = [resolved]
        if benchmark and "quantize" in entry.args:
            variants = [{**resolved, "quantize": value} for value in entry.args["quantize"]["enum"]]
        for variant in variants:
            plans.append(PlannedArtifact(entry.name, variant, output_dir / artifact_name(entry.name, variant)))
    return plans


def _export_one(model, item: PlannedArtifact, context: ExportContext, *, tolerance: float, examples: int,
                reference, max_metric_drop, latency_runs: int) -> Result:
    exporter = module(item.format).export
    temporary = item.path.with_name(f".partial-{uuid.uuid4().hex[:8]}.{item.path.name}")
    try:
        artifact: Artifact = exporter(model, temporary, dict(item.options), context=context)
        result = verify(model, artifact, context, examples=examples, tolerance=tolerance,
                        max_metric_drop=max_metric_drop, reference=reference, latency_runs=latency_runs)
        _install(temporary, item.path, artifact.sidecars)
        return dataclasses.replace(result, path=item.path)
    finally:
        for leftover in (temporary, *_sidecar_paths(temporary)):
            _remove(leftover)


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "(no message)"


def _sidecar_paths(path: Path) -> list[Path]:
    return [Path(str(path) + suffix) for suffix in SIDECARS]


def _install(temporary: Path, final: Path, sidecars: list[str]) -> None:
    """Move a verified artifact and its sidecars to their final paths, replacing older ones."""
    for suffix in SIDECARS:
        target = Path(str(final) + suffix)
        if suffix in sidecars:
            os.replace(str(temporary) + suffix, target)
        else:
            _remove(target)  # a sidecar of the replaced artifact would describe steps this one holds
    if final.is_dir() and not final.is_symlink():
        # A folder cannot be replaced by a rename: move the old one aside first.
        old = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        os.replace(temporary, final)
        _remove(old)
    else:
        try:
            os.replace(temporary, final)
        except OSError as error:
            raise ExportError(f"cannot move the verified artifact to {final}: {error.strerror}") from None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)
