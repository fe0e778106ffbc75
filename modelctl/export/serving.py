"""The model repository layout of TensorFlow Serving and Triton: `<repository>/<name>/<version>/`.

Both servers serve the highest numbered version folder under a model's folder
(TensorFlow Serving's model base path). `modelctl export` writes there what it
exported, numbered by the run's timestamp (`20261126T182346Z` ->
20261126182346), so that a later run's export into the same repository is the
newer version:

    <repository>/iris/20261126182346/saved_model.pb, variables/, assets/   the SavedModel's files (TF Serving)
    <repository>/iris/20261126182346/model.onnx                            Triton's name for an ONNX model
    <repository>/iris/20261126182346/model.tflite                          the TFLite model (float or quantized)
    <repository>/iris/config.pbtxt                                         `backend: "onnxruntime"` for Triton

Files are hard links to the verified artifacts where the file system allows,
else copies. By default only a SavedModel is laid out, in `<export>/serving/`;
`modelctl export --model-repository DIR` lays out every format written in DIR:

    tensorflow_model_server --rest_api_port=8501 --model_name=iris --model_base_path=$PWD/repo/iris
    docker run -p 8501:8501 -v $PWD/repo/iris:/models/iris -e MODEL_NAME=iris tensorflow/serving
    tritonserver --model-repository=$PWD/repo                      # serves model.onnx (config.pbtxt)

`config.pbtxt` names ONNX Runtime as the backend and leaves the rest to
Triton, which reads inputs, outputs and batching from the ONNX model; one a
user wrote is kept. `modelctl serve` and `modelctl predict` take a model's
folder (its highest version) or a version folder, and run the artifact of the
version that `--backend` asks for; `auto` prefers those that need no
TensorFlow (`PREFERENCE`), so a repository holding an ONNX or TFLite model is
served by `pip install "modelctl[serve]"`.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from modelctl.errors import UsageError

FOLDER = "serving"
"""The layout's folder in the export folder, when no model repository is given."""

ROOT_FORMAT = "saved_model"
"""The format whose files make the version folder itself, as TensorFlow Serving reads it; the others are files in it."""

PREFERENCE = ("onnx", "tflite", "saved_model")
"""The formats `auto` takes from a version folder (or a run's export folder), in order: those that run without
TensorFlow first."""

TRITON_CONFIG = "config.pbtxt"
TRITON_BACKENDS = {"onnx": "onnxruntime"}
"""Triton's backend for each format it serves from this layout without a hand-written configuration."""


def artifacts(version: Path) -> dict[str, Path]:
    """Format -> artifact of a version folder: the folder itself for a SavedModel, and each format's file in it,
    in the order `auto` takes them (`PREFERENCE`, then other formats by name). Empty when `version` holds none (or
    is not a folder)."""
    from modelctl.export.formats import artifact_name, recognize
    from modelctl.registry.exporters import exporters

    version = Path(version)
    if not version.is_dir():
        return {}
    found = {}
    if recognize(version) == ROOT_FORMAT:
        found[ROOT_FORMAT] = version
    for entry in exporters():
        if entry.name == ROOT_FORMAT:
            continue
        candidate = version / artifact_name(entry.name)
        if candidate.exists() and recognize(candidate) == entry.name:
            found[entry.name] = candidate
    return {name: found[name] for name in _ranked(found)}


def _ranked(formats) -> list[str]:
    """`formats` in the order `auto` takes them: `PREFERENCE`, then the others by name."""
    return [name for name in PREFERENCE if name in formats] + sorted(set(formats) - set(PREFERENCE))


def versions(base: Path) -> dict[int, Path]:
    """Version number -> folder, of the version folders under a model's folder that hold an artifact."""
    base = Path(base)
    if not base.is_dir():
        return {}
    return {int(child.name): child for child in base.iterdir()
            if child.name.isdigit() and child.is_dir() and artifacts(child)}


def newest_version(path: Path) -> Path | None:
    """The highest numbered version folder of a model's folder (`<repository>/<name>/`), or None when `path` is
    not one."""
    found = versions(path) if not artifacts(path) else {}
    return found[max(found)] if found else None


def choose(found: dict[str, Path], backend: str = "auto", *, where: str) -> Path | None:
    """The artifact of `found` (format -> path) that `backend` runs: `auto` takes the first of `PREFERENCE` there
    (else any other format there); None when `found` is empty under `auto`.

    Raises:
        UsageError: `backend` names a format `found` lacks; `where` (what holds them) and what it holds are said.
    """
    if backend == "auto":
        ranked = _ranked(found)
        return found[ranked[0]] if ranked else None
    if backend in found:
        return found[backend]
    names = sorted(found)
    held = (f"holds {', '.join(names[:-1])} and {names[-1]}" if len(names) > 1 else f"holds {names[0]}") if names \
        else "holds no exported model"
    raise UsageError(f"{where} has no {backend} artifact (it {held}); leave --backend out (auto), or export "
                     f"the format into it with `modelctl export RUN --format {backend} --model-repository ...`")


def resolve(target: str | Path, backend: str = "auto") -> Path:
    """`target` as the model it means: for a model's folder (its highest version) or a version folder, the
    artifact of that version `backend` runs (`choose`); else `target` itself.

    Args:
        target: a path given to `serve` or `predict`.
        backend: `auto` (default) or a format name; other values (`keras`) are left to the caller.

    Raises:
        UsageError: `target` is a repository holding several models' folders, which gives no model; a version
            without an artifact of `backend`.
    """
    path = Path(target)
    version = newest_version(path) or (path if path.name.isdigit() and artifacts(path) else None)
    if version is not None:
        if backend == "keras":
            raise UsageError(f"{target}: a model repository's version {version.name} holds exported models, not "
                             "a run's Keras model; leave --backend out, or serve the run folder with --backend keras")
        return choose(artifacts(version), backend, where=f"{target} (version {version.name})")
    models = sorted(child for child in path.iterdir() if child.is_dir() and newest_version(child) is not None) \
        if path.is_dir() else []
    if models:
        raise UsageError(f"{target}: a model repository holding {len(models)} model"
                         f"{'s' if len(models) != 1 else ''} ({', '.join(model.name for model in models)}); give "
                         f"a model's folder, such as {models[0]}")
    return path


def version_of(artifact: Path) -> int | None:
    """The version number of an artifact that is, or is in, a version folder of the layout; else None."""
    artifact = Path(artifact)
    for folder in (artifact, artifact.parent):
        if folder.name.isdigit() and artifact in artifacts(folder).values():
            return int(folder.name)
    return None


def run_version(run_dir: Path | None) -> int:
    """The version number of a run's models: the digits of its folder's name (its UTC timestamp), or 1."""
    digits = re.sub(r"\D", "", run_dir.name) if run_dir is not None else ""
    return int(digits) if digits else 1


def write_serving_layout(artifacts_by_format: dict[str, Path], repository: Path, name: str, *,
                         version: int) -> Path:
    """Put each artifact in `repository/<name>/<version>/` (see the module docstring), replacing that format's
    artifact there and keeping the others', so that formats exported one after the other share the version.

    Args:
        artifacts_by_format: format -> the verified artifact (a file, or the SavedModel's folder).
        repository: the model repository (`<export>/serving` by default); created when missing.
        name: the model's folder name (the spec's name).
        version: the version folder's number (`run_version`).

    Returns:
        The model's folder (TensorFlow Serving's model base path), `repository/<name>`.

    Raises:
        UsageError: the repository cannot be written.
    """
    from modelctl.export.artifact import PREPROCESSING_SUFFIX
    from modelctl.export.formats import artifact_name

    base = Path(repository) / name
    target = base / str(version)
    try:
        target.mkdir(parents=True, exist_ok=True)
        for export_format, artifact in artifacts_by_format.items():
            artifact = Path(artifact)
            if export_format == ROOT_FORMAT:
                files = [path.name for other, path in artifacts(target).items() if other != ROOT_FORMAT]
                kept = {*files, *(f"{file}{PREPROCESSING_SUFFIX}" for file in files)}
                for old in target.iterdir():  # the SavedModel laid out before, not the other formats' files
                    if old.name not in kept:
                        _remove(old)
                shutil.copytree(artifact, target, copy_function=_link_or_copy, dirs_exist_ok=True)
                continue
            placed = target / artifact_name(export_format)
            _place(artifact, placed)
            sidecar = Path(f"{artifact}{PREPROCESSING_SUFFIX}")
            _remove(Path(f"{placed}{PREPROCESSING_SUFFIX}"))
            if sidecar.is_file():
                _place(sidecar, Path(f"{placed}{PREPROCESSING_SUFFIX}"))
            backend = TRITON_BACKENDS.get(export_format)
            if backend is not None and not (base / TRITON_CONFIG).exists():
                (base / TRITON_CONFIG).write_text(
                    f"# Triton's model configuration: {backend} runs {placed.name}; Triton reads its inputs, outputs "
                    f"and batch dimension from the model.\nbackend: \"{backend}\"\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write the model repository {repository}: {error.strerror or error}") from None
    return base


def _place(source: Path, destination: Path) -> None:
    _remove(destination)
    if source.is_dir():
        shutil.copytree(source, destination, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(destination))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, destination)


__all__ = ["FOLDER", "PREFERENCE", "ROOT_FORMAT", "artifacts", "choose", "newest_version", "resolve", "run_version",
           "version_of", "versions", "write_serving_layout"]
