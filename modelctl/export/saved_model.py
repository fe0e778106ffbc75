"""SavedModel export: a folder with the `serving_default` signature, for TF Serving and TensorFlow tools.

The signature takes the raw named features (strings included: every
preprocessing layer is inside) and returns the named outputs:

    saved_model_cli show --dir model.savedmodel --tag_set serve --signature_def serving_default

Options: none. Metadata is the asset file `assets/modelctl_metadata.json`;
`read_metadata` reads it back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from modelctl.export.artifact import Artifact, ExportContext
from modelctl.export.errors import ExportError
from modelctl.export.metadata import artifact_metadata, base_metadata
from modelctl.export.signature import METADATA_ASSET, write_saved_model


def export(model, path: Path, options: dict, context: ExportContext) -> Artifact:
    """Write `model` as a SavedModel folder at `path` (which must not exist). `options` must be empty."""
    if options:
        raise ExportError(f"saved_model: takes no options. Received: {', '.join(sorted(options))}")
    metadata = artifact_metadata(base_metadata(model, context), "saved_model", "none", model, [])
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
