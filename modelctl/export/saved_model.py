"""SavedModel export: a folder with the `serving_default` signature, for TF Serving and TensorFlow tools.

The signature takes the raw named features (strings included: every
preprocessing layer is inside) and returns the named outputs:

    saved_model_cli show --dir model.savedmodel --tag_set serve --signature_def serving_default

Options: none. The artifact is the folder `saved_model`. Metadata is the asset
file `assets/modelctl_metadata.json`; `read_metadata` reads it back. `load`
runs it with TensorFlow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modelctl.export.artifact import Artifact, ExportContext
from modelctl.export.errors import ExportError
from modelctl.export.metadata import artifact_metadata, base_metadata
from modelctl.export.signature import METADATA_ASSET, SIGNATURE, write_saved_model

NAME = "saved_model"


def artifact_name(options: dict) -> str:
    """`saved_model`: the folder's name in the output folder."""
    return NAME


def recognizes(path: Path) -> bool:
    """Whether `path` is a SavedModel folder (it holds `saved_model.pb`)."""
    return (Path(path) / "saved_model.pb").is_file()


def export(model, path: Path, options: dict, *, context: ExportContext) -> Artifact:
    """Write `model` as a SavedModel folder at `path` (which must not exist). `options` are checked against the
    format's registry entry (none) before any export runs."""
    metadata = artifact_metadata(base_metadata(model, context), "saved_model", "none", prepared_model=model, skipped=[])
    if context.saved_models is None:
        write_saved_model(model, Path(path), metadata)
    else:  # the converters of the other formats read the same SavedModel: it is traced once
        shutil.copytree(context.saved_models.path(model, metadata), path)
    return Artifact("saved_model", Path(path), metadata=metadata)


def read_metadata(path: str | Path) -> dict:
    """The metadata of a SavedModel folder written by `export`.

    Raises:
        ExportError: the folder has no modelctl metadata asset.
    """
    asset = Path(path) / "assets" / METADATA_ASSET
    if not asset.is_file():
        raise ExportError(f"{path}: no assets/{METADATA_ASSET} in this SavedModel")
    return json.loads(asset.read_text(encoding="utf-8"))


def load(artifact: Artifact):
    """`predict(inputs) -> outputs` through the SavedModel's `serving_default` signature (imports TensorFlow)."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    signature = tf.saved_model.load(str(artifact.path)).signatures[SIGNATURE]

    def predict(inputs):
        outputs = signature(**{name: tf.constant(values) for name, values in inputs.items()})
        return {name: value.numpy() for name, value in outputs.items()}

    return predict
