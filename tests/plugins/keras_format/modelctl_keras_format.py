"""A modelctl export format from a plug-in: the model as one Keras file, `model.keras`.

    modelctl export runs/iris/20261123T101500Z --format keras
    modelctl predict runs/iris/20261123T101500Z/export/model.keras new_flowers.csv

The file is a Keras 3 archive with the whole model, preprocessing included, for
Python apps and further training: `modelctl.load_model("model.keras")` opens it
without the run folder. modelctl's metadata (features, fitted preprocessing,
class names) is one more member of the archive, `modelctl_metadata.json`, so
`modelctl predict` reads raw inputs with it; a run's own `model.keras` has no
such member and stays the run's.

This module is imported whenever modelctl looks for export formats, so it
imports nothing heavy at the top: TensorFlow only once a model is exported or run.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from modelctl.registry.base import Entry

ENTRY = Entry("keras", "modelctl_keras_format",
              "One Keras 3 file with the preprocessing inside, for Python apps and further training.",
              meta={"artifact": "a .keras file written by modelctl export"})
"""The registration: the name in specs and on the command line, and this module as the target."""

METADATA = "modelctl_metadata.json"


def artifact_name(options: dict) -> str:
    return "model.keras"


def recognizes(path: Path) -> bool:
    path = Path(path)
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return METADATA in archive.namelist()


def export(model, path: Path, options: dict, *, context):
    from modelctl.export.artifact import Artifact
    from modelctl.export.metadata import artifact_metadata, base_metadata

    metadata = artifact_metadata(base_metadata(model, context), "keras", "none", prepared_model=model, skipped=[])
    model.save(path)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(METADATA, json.dumps(metadata))
    return Artifact("keras", Path(path), metadata=metadata)


def read_metadata(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read(METADATA))


def load(artifact):
    import modelctl
    from modelctl.export.verify import keras_outputs

    model = modelctl.load_model(artifact.path)
    return lambda inputs: keras_outputs(model, inputs)
