"""Loading a `.keras` model that modelctl saved, in any Python process.

    import modelctl

    model = modelctl.load_model("runs/reviews-transformer")        # the newest completed run of a spec
    model = modelctl.load_model("runs/iris/20261123T101500Z/checkpoints/best.keras")
    model.predict({"review": tf.constant(["the motor was quiet"])})   # string features as tf.string

A saved model names the Keras classes it was built from. Keras finds a class
only once the module defining it has been imported, so every module of the
project that defines one (ready blocks, the numeric preprocessing layer,
the layer combining an ensemble's members, learning-rate schedules) and the
layer classes of installed plug-ins are imported before Keras reads the file.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from modelctl.errors import ModelctlError

KERAS_MODULES = (
    "modelctl.features.layers",
    "modelctl.model.blocks",
    "modelctl.model.ensemble",
    "modelctl.training.schedules",
)
"""Modules that define (and register with `keras.saving`) the Keras classes a saved model may name."""


class ModelLoadError(ModelctlError):
    """A saved model that cannot be read back."""


def register_classes() -> None:
    """Import every module that registers a Keras class, built-in and from plug-ins (imports TensorFlow).

    Raises:
        PluginError: an installed plug-in cannot be loaded or its layer class cannot be imported.
    """
    from modelctl.registry.layers import LAYERS
    from modelctl.registry.plugins import import_plugin_classes, load_plugins

    for module in KERAS_MODULES:
        importlib.import_module(module)
    load_plugins(LAYERS)
    import_plugin_classes(LAYERS)


def model_file(path: str | Path) -> Path:
    """The `.keras` file behind `path`: the file itself, a run folder's model, or that of a spec's runs folder's
    newest completed run (`modelctl.runs.newest`: the rule every command follows).

    Raises:
        ModelLoadError: no such file or folder.
        RunError: a folder that holds no completed run, or a cross-validation (its folds hold the models).
    """
    from modelctl.runs import check_has_model, locate

    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file or folder")
    run, file = locate(path)
    check_has_model(run, command="load")
    return file


def load_model(path: str | Path, compile: bool = False):
    """Load a model saved by modelctl: a `.keras` file, a run folder or a spec's runs folder (its newest completed
    run).

    The model takes raw feature values (its preprocessing is inside it) by feature name and returns
    one output per label.

    Args:
        path: a `.keras` file, a run folder (`runs/<name>/<timestamp>`), or `runs/<name>`.
        compile: also restore the optimizer, loss and metrics it was trained with. Default False.

    Raises:
        ModelLoadError: no model there, or the file cannot be read (the message says why, and names the
            plug-in to install when the model uses a layer no installed package defines).
        RunError: a folder that holds no completed run, or a cross-validation.
    """
    import keras

    file = model_file(path)
    register_classes()
    try:
        return keras.saving.load_model(file, compile=compile)
    except (OSError, ValueError, TypeError) as error:
        raise ModelLoadError(f"{file}: the model cannot be loaded: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    if "Could not locate class" in text:
        name = text.split("Could not locate class", 1)[1].split(".")[0].strip(" '\"")
        return (f"it uses the class '{name}', which no installed package defines; install the plug-in that "
                "provides it")
    return text[:500]
