"""The model a server answers with: a run's model or an exported artifact, loaded once in one backend.

    served = open_model("runs/iris", backend="auto")    # the newest run's model.onnx when it was exported
    served.name, served.version, served.backend         # 'iris', 20261126182346, 'onnx'
    served.predictor.scores({"measurements": batch})    # outputs by label

A target is a run folder, a spec's runs folder (its newest run), a `.keras`
file in a run, an exported artifact (`model.onnx`, `model.tflite`, a SavedModel
folder), or a model's folder (or one of its version folders) in the model
repository layout of TensorFlow Serving and Triton (`<repository>/<name>/`,
whose highest numbered version is served; `modelctl.export.serving`). The
backend `auto` serves a run's exported artifacts, or a version's, in the order
of `AUTO_ORDER` (ONNX first: it starts without importing TensorFlow) and the
run's Keras model when it has none. The version is the run's timestamp as a
number (`20261126T182346Z` -> 20261126182346), the version folder's number, or 1.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from modelctl.errors import one_of
from modelctl.export.serving import PREFERENCE
from modelctl.predict import Predictor
from modelctl.runs import EXPORTS, RunFolder
from modelctl.serve.errors import ServeError

BACKENDS = ("auto", "onnx", "tflite", "saved_model", "keras")
"""The values of `--backend`."""

AUTO_ORDER = PREFERENCE
"""The exported formats `auto` looks for in a run's `export/` folder or a model version, in order (those that run
without TensorFlow first); then the run's Keras model."""

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
"""A model name a URL holds as it is: TensorFlow Serving's characters, starting with a letter or digit."""
NAME_RULE = "1 to 128 letters, digits, '_', '-' or '.', starting with a letter or digit"


@dataclasses.dataclass
class ServedModel:
    """A loaded model and the name and version it is served under.

    Args:
        name: the name in the URLs (`/v1/models/<name>`): the spec's name unless given.
        version: the version number in status and metadata answers.
        predictor: the model (`modelctl.predict.Predictor`): its features, fitted preprocessing, metadata,
            runtime (the backend: `onnx`, `tflite`, `saved_model`, a plug-in format, or `keras`) and scores.
    """

    name: str
    version: int
    predictor: Predictor

    @property
    def backend(self) -> str:
        """The runtime that runs the model (`Predictor.runtime`)."""
        return self.predictor.runtime

    @property
    def path(self) -> Path:
        """The file or folder loaded."""
        return self.predictor.path

    @property
    def labels(self) -> dict:
        """Label name -> fitted label (`modelctl.runs.FittedLabel`: `type`, `classes`)."""
        return self.predictor.labels


def open_model(target: str | Path, backend: str = "auto", name: str | None = None) -> ServedModel:
    """Load `target` (see the module docstring) in `backend`.

    Args:
        target: a run folder, a spec's runs folder, a `.keras` file in a run, an artifact, or a model's folder
            or version folder in the model repository layout.
        backend: `auto` (default), `onnx`, `tflite`, `saved_model` (or a plug-in's format) or `keras`.
        name: the model's name in the URLs; default None: the spec's name. TensorFlow Serving's characters
            only: letters, digits, `_`, `-` and `.` (`check_name`).

    Raises:
        ServeError: an unknown backend, an artifact of another backend than asked, a run without an export of the
            backend, a name a URL cannot hold.
        UsageError, ExportError: no such run or artifact; a model version without an artifact of the backend.
        MissingExtra: the backend needs TensorFlow (keras, saved_model), which is not installed.
    """
    from modelctl.export.formats import recognize
    from modelctl.export.serving import resolve
    from modelctl.predict import open_artifact, open_run

    _check_backend(backend)
    if name is not None:
        check_name(name)
    path = resolve(target, backend)
    export_format = recognize(path)
    if export_format is not None:
        if backend not in ("auto", export_format):
            raise ServeError(f"{target}: a {export_format} artifact, and --backend asks for {backend}; leave "
                             "--backend out (auto) or give an artifact of that format")
        predictor, run_dir = open_artifact(path), _run_of(path)
    else:
        from modelctl.model.trained import open_trained

        trained = open_trained(path, command="serve")
        run_dir = trained.run.path
        artifact = _run_artifact(run_dir, backend, target)
        predictor = open_run(trained).load() if artifact is None else open_artifact(artifact)
    version = _version(path, run_dir)
    served_name = name or predictor.metadata.get("spec_name") or "model"
    if name is None and not NAME.fullmatch(served_name):
        raise ServeError(f"{target}: the spec's name {served_name!r} cannot be a model name in a URL; give one "
                         f"with --name ({NAME_RULE})")
    return ServedModel(name=served_name, version=version, predictor=predictor)


def check_name(name: str) -> None:
    """Refuse a model name that TensorFlow Serving's URLs cannot hold (`/`, `:`, `#`, `?`, spaces...).

    Raises:
        ServeError: the name, with the characters allowed.
    """
    if not NAME.fullmatch(name):
        raise ServeError(f"invalid value for --name. Expected {NAME_RULE}. Received: {name!r}")


def _check_backend(backend: str) -> None:
    from modelctl.registry.exporters import exporters

    known = ["auto", *exporters().names(), "keras"]
    if backend not in known:
        from modelctl.errors import did_you_mean

        raise ServeError(f"'{backend}' is not a known backend. Expected one of {one_of(known)}."
                         f"{did_you_mean(backend, known)}")


def _run_artifact(run_dir: Path, backend: str, target) -> Path | None:
    """The artifact of `run_dir/export/` that `backend` serves; None for the run's Keras model."""
    from modelctl.export.formats import artifact_name

    if backend == "keras":
        return None
    formats = AUTO_ORDER if backend == "auto" else (backend,)
    for export_format in formats:
        candidate = run_dir / EXPORTS / artifact_name(export_format)
        if candidate.exists():
            return candidate
    if backend == "auto":
        return None
    raise ServeError(f"{target}: the run has no {backend} export ({run_dir / EXPORTS / artifact_name(backend)}); "
                     f"write it with `modelctl export {run_dir} --format {backend}`, or serve the run's Keras "
                     "model with --backend keras")


def _run_of(artifact: Path) -> Path | None:
    """The run folder an artifact was exported into (one of its parents is a run folder), or None."""
    for parent in artifact.resolve().parents:
        if RunFolder(parent).is_run:
            return parent
    return None


def _version(path: Path, run_dir: Path | None) -> int:
    from modelctl.export.serving import run_version, version_of

    version = version_of(path)
    return version if version is not None else run_version(run_dir)


__all__ = ["AUTO_ORDER", "BACKENDS", "NAME", "ServedModel", "check_name", "open_model"]
