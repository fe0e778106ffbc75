"""The export formats, as the registry knows them: each one module, named by its `modelctl.exporters` entry.

A format module defines five functions (`modelctl.export.saved_model`,
`tflite` and `onnx` are the built-in ones; docs/plugins.md adds one from a
plug-in):

    artifact_name(options) -> str
        The artifact's name in the output folder, from the format's resolved options
        (`model.tflite`, `model.int8.tflite`).
    recognizes(path) -> bool
        Whether `path` is an artifact of this format. Cheap, and without importing TensorFlow:
        `modelctl predict` asks every format about its target.
    export(model, path, options, *, context) -> Artifact
        Write `model` at `path` (a temporary path that ends with `artifact_name(options)`; it does not
        exist yet). `options` are the format's options with defaults filled in; `context` is an
        `ExportContext`.
    read_metadata(path) -> dict
        The metadata `export` stored in the artifact (`Artifact.metadata`).
    load(artifact) -> predict
        `predict(inputs) -> outputs` in the format's runtime, both dicts of numpy arrays keyed by the
        artifact's input and output names, with a batch dimension.

Everything else asks this module: the runner for names and exporters,
verification and `modelctl predict` for runtimes, `read_metadata` for any
artifact. Finding a format imports its module (never TensorFlow for the
built-in ones); only exporting and loading import the format's runtime.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Callable

import numpy as np

from modelctl.errors import one_of
from modelctl.export.artifact import Artifact
from modelctl.export.errors import ExportError
from modelctl.registry.exporters import exporters
from modelctl.registry.plugins import PluginError, plugin_names

Predict = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""`predict(inputs) -> outputs`: feature name -> batch of values in, output name -> batch of values out."""

FUNCTIONS = ("artifact_name", "recognizes", "export", "read_metadata", "load")
"""What a format module defines."""


def module(export_format: str) -> ModuleType:
    """The module of a format: built-in or from a plug-in.

    Raises:
        UnknownNameError: no such format; the message lists the known ones.
        PluginError: a plug-in's module cannot be imported, or lacks one of `FUNCTIONS`.
    """
    registry = exporters()
    entry = registry.get(export_format)
    source = plugin_names(registry).get(entry.name)
    owner = f"plug-in {source}: " if source else ""
    try:
        loaded = entry.load()
    except Exception as error:
        if not source:
            raise  # a built-in format that does not import is a bug: keep its traceback
        raise PluginError(f"{owner}export format '{entry.name}' names the module {entry.target!r}, which cannot "
                          f"be imported: {type(error).__name__}: {error}") from error
    missing = [name for name in FUNCTIONS if not callable(getattr(loaded, name, None))]
    if missing:
        raise PluginError(f"{owner}export format '{entry.name}': its module {entry.target!r} does not define "
                          f"{', '.join(missing)}. A format module defines {', '.join(FUNCTIONS)} "
                          "(see docs/plugins.md)")
    return loaded


def artifact_name(export_format: str, options: dict | None = None) -> str:
    """The artifact's name in the output folder: `saved_model`, `model.tflite`, `model.int8.tflite`, `model.onnx`.

    Args:
        export_format: a format name.
        options: the format's options (missing ones take their defaults). Default None: all defaults.
    """
    entry = exporters().get(export_format)
    return module(entry.name).artifact_name({**entry.defaults(), **(options or {})})


def recognize(path: str | Path) -> str | None:
    """The format `path` is an artifact of, or None when it is none of theirs.

    Raises:
        ExportError: two formats both claim it.
        PluginError: a plug-in format's module cannot be used.
    """
    path = Path(path)
    claims = [entry.name for entry in exporters() if module(entry.name).recognizes(path)]
    if len(claims) > 1:
        raise ExportError(f"{path}: the export formats {one_of(claims)} each take it for one of their artifacts; "
                          "uninstall the plug-in that claims another format's artifacts")
    return claims[0] if claims else None


def format_of(path: str | Path) -> str:
    """The format `path` is an artifact of.

    Raises:
        ExportError: `path` is not an artifact of a registered format (the message says what each one looks
            like), or two formats claim it.
    """
    export_format = recognize(path)
    if export_format is None:
        kinds = [entry.meta.get("artifact", f"a {entry.name} artifact") for entry in exporters()]
        expected = kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"
        raise ExportError(f"{path}: not an exported model. Expected {expected}")
    return export_format


def read_metadata(path: str | Path) -> dict:
    """The modelctl metadata of an artifact of any format, which is recognized from the path.

    Raises:
        ExportError: `path` is not an artifact of a registered format, or holds no metadata.
    """
    return module(format_of(path)).read_metadata(Path(path))


def load(artifact: Artifact) -> Predict:
    """The predict function of an artifact, in its format's runtime."""
    return module(artifact.format).load(artifact)
