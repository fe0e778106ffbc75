"""The serving signature every format starts from: raw named features in, named outputs out.

TFLite and ONNX are converted from a SavedModel written here, so the three
formats share input names (the Keras input names) and output names.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.export.graph import output_tensors

SIGNATURE = "serving_default"
METADATA_ASSET = "modelctl_metadata.json"
"""File name of the metadata asset in a SavedModel's `assets/` folder."""


def input_specs(model) -> dict:
    """Input name -> `tf.TensorSpec` with a free batch dimension."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    return {tensor.name: tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=tensor.name)
            for tensor in model.inputs}


def describe_inputs(model) -> dict:
    """Input name -> {"shape": [None, ...], "dtype": ...}, JSON-ready."""
    return {tensor.name: {"shape": [None, *tensor.shape[1:]], "dtype": str(tensor.dtype)} for tensor in model.inputs}


def serving_function(model):
    """A function from the dict of named inputs to the dict of named outputs (inference mode)."""
    names = list(output_tensors(model))

    def serve(inputs):
        outputs = model(inputs, training=False)
        if isinstance(outputs, dict):
            return dict(outputs)
        import keras

        return dict(zip(names, keras.tree.flatten(outputs)))

    return serve


def write_saved_model(model, path: Path, metadata: dict | None = None) -> None:
    """Write `model` as a SavedModel at `path` with the `serving_default` signature.

    Args:
        model: a Keras functional model.
        path: the folder to create (must not exist).
        metadata: stored as `assets/modelctl_metadata.json` when given. Default: none.
    """
    import keras

    from modelctl.util.tf import quiet_native_output, tensorflow

    tf = tensorflow()
    archive = keras.export.ExportArchive()
    archive.track(model)
    with tempfile.TemporaryDirectory() as folder:
        if metadata is not None:
            source = Path(folder) / METADATA_ASSET
            source.write_text(to_json(metadata), encoding="utf-8")
            # Attached to the archive's root object so that the SavedModel lists it as an asset
            # (`tf.saved_model.load(path).modelctl_metadata.asset_path`) and copies it into `assets/`.
            archive._tf_trackable.modelctl_metadata = tf.saved_model.Asset(str(source))
        archive.add_endpoint(SIGNATURE, serving_function(model), input_signature=[input_specs(model)])
        with quiet_native_output():
            archive.write_out(str(path), verbose=False)


class SavedModelCache:
    """One SavedModel per model, written on first use into a temporary folder removed on exit.

    TFLite and ONNX both convert from a SavedModel, and so does each TFLite quantization: with a cache, an
    export of several formats traces each model once.

        with SavedModelCache() as cache:
            path = cache.path(model)
    """

    def __init__(self):
        self._folder: tempfile.TemporaryDirectory | None = None
        # id(model) -> (model, path, metadata); holding the model keeps its id from being reused
        self._written: dict[int, tuple[object, Path, dict | None]] = {}
        self._numbers = itertools.count()

    def __enter__(self) -> "SavedModelCache":
        self._folder = tempfile.TemporaryDirectory(prefix="modelctl-saved-model-")
        return self

    def __exit__(self, *exc_info) -> None:
        self._written.clear()
        self._folder.cleanup()

    def path(self, model, metadata: dict | None = None) -> Path:
        """The SavedModel of `model` with the serving signature, written the first time it is asked for.

        Args:
            model: the Keras model.
            metadata: the metadata asset it must hold (see `write_saved_model`); None when any will do, as
                for a converter, which reads the signature only.
        """
        written = self._written.get(id(model))
        if written is None or (metadata is not None and written[2] != metadata):
            path = Path(self._folder.name) / f"model-{next(self._numbers)}"
            write_saved_model(model, path, metadata)
            written = (model, path, metadata)
            self._written.setdefault(id(model), written)
        return written[1]


@contextlib.contextmanager
def saved_model_of(model, cache: SavedModelCache | None = None) -> Iterator[Path]:
    """The SavedModel of `model`: from `cache`, or written into a temporary folder removed afterwards."""
    if cache is not None:
        yield cache.path(model)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "saved_model"
        write_saved_model(model, path)
        yield path


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, set)):
        return list(value)
    return str(value)


def to_json(value) -> str:
    """JSON text of metadata, with numpy values turned into plain ones."""
    return json.dumps(value, indent=2, default=_json_default)
