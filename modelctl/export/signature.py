"""The serving signature every format starts from: raw named features in, named outputs out.

TFLite and ONNX are converted from a SavedModel written here, so the three
formats share input names (the Keras input names) and output names.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

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
