"""`modelctl predict`: raw inputs through a trained model, as class names and probabilities (or values).

    rows = predict(Path("runs/iris/20261123T101500Z"), ["new_flowers.csv"])

Inputs are read the way training read them, each by its kind: rows of a CSV,
TSV, Parquet or NPZ file (the feature columns, by name), or image files, `.txt`
files and folders of them for a model with one image or text feature. Several
inputs, of one kind or mixed, give their predictions in the order given, each
row naming its file. The preprocessing saved with the model is applied inside
it, so raw values go in.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path
from typing import Callable

import numpy as np

from modelctl.data.columns import ColumnPlan
from modelctl.data.errors import DataError
from modelctl.errors import UsageError
from modelctl.runs import Fitted



def _tables() -> dict[str, str]:
    """File extension -> the source format that reads such a file as a table (`meta["suffixes"]` of the
    source formats' registry, plug-ins included)."""
    from modelctl.registry.sources import table_suffixes

    return table_suffixes()


def _document_types() -> list:
    """The feature types `predict` reads from files of their own (image, text), by their plural noun."""
    from modelctl.features import feature_type, feature_types

    return sorted((kind for kind in map(feature_type, feature_types()) if kind.documents),
                  key=lambda kind: kind.documents_noun)


def _described(kind) -> str:
    """`images (.bmp, .gif, ...)`."""
    return f"{kind.documents_noun} ({', '.join(sorted(kind.documents))})"


def _allowed() -> str:
    """What predict reads, for messages."""
    kinds = _document_types()
    return (f"tables ({', '.join(_tables())}), {', '.join(_described(kind) for kind in kinds)} and folders of "
            f"{' or '.join(kind.documents_noun for kind in kinds)}")


def read_inputs(features: dict, fitted, inputs: list[str], *, base_dir: Path | None = None):
    """The raw feature values of `inputs`, with a name for each example saying where it came from.

    Each input is read by its kind, and the examples keep the order the inputs are given in:

    - a table (`.csv`, `.tsv`, `.parquet`, `.npz`): one example per row, each feature from its columns by name;
      named `FILE row N`, N counting the examples from 1;
    - an image (`.png`, `.jpg`, `.jpeg`, `.bmp`, `.gif`) or a text document (`.txt`): one example, for a model
      whose only feature is an image or a text; named by its path;
    - a folder: the images or text documents inside it (subfolders included, sorted by path), for such a model.

    Args:
        features: the spec's `data.features`.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`, or the JSON of a run's).
        inputs: the files and folders, in order.

    Raises:
        UsageError: no inputs, a missing file, a file of another kind, inputs of a kind the model does not take.
        DataError: a missing column, a bad value, an image that cannot be decoded.
    """
    if not inputs:
        raise UsageError("give the inputs to predict: a CSV, TSV, Parquet or NPZ file, or image or text files")
    # Every input is checked before any is read, so a misfit at the end does not wait for a long table.
    planned = [_plan_input(Path(item), features) for item in inputs]
    fitted = Fitted.from_json(fitted, source="the fitted preprocessing given")
    skipped: dict[str, int] = {}
    parts, names = [], []
    for path, files in planned:
        values, rows = (_read_table(path, features, fitted, skipped=skipped) if files is None
                        else _read_documents(path, files, features, fitted=fitted, skipped=skipped))
        parts.append(values)
        names += rows
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}, names


def _kind(path: Path):
    """`table` for a table, the feature type whose documents the file is (image, text), or None for any other
    file, by its extension."""
    suffix = path.suffix.lower()
    if suffix in _tables():
        return "table"
    return next((kind for kind in _document_types() if suffix in kind.documents), None)


def _plan_input(path: Path, features: dict) -> tuple[Path, list[Path] | None]:
    """`(path, None)` for a table; `(path, files)` for an image or text file (itself) or a folder (those inside).

    Raises:
        UsageError: a missing path, a file of another kind, or documents for a model that does not take them.
    """
    from modelctl.features import feature_type

    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    kind = None if path.is_dir() else _kind(path)
    if kind == "table":
        return path, None
    if not path.is_dir() and kind is None:
        received = f"a '{path.suffix}' file" if path.suffix else "a file without an extension"
        raise UsageError(f"{path}: predict reads {_allowed()}; received {received}")
    what = "a folder" if path.is_dir() else f"{kind.document_noun} file"
    readers = " or ".join(sorted(reader.name for reader in _document_types()))
    if len(features) != 1:
        raise UsageError(f"{path}: {what} holds examples of one {readers} feature, and the model takes "
                         f"{len(features)} features ({', '.join(features)}); give them as columns of a CSV, TSV, "
                         "Parquet or NPZ file")
    (name, feature), = features.items()
    wanted = feature_type(feature["type"])
    if not wanted.documents:
        raise UsageError(f"{path}: {what} holds {readers} examples, and the model's feature '{name}' is "
                         f"{feature['type']}; give it as a column of a CSV, TSV, Parquet or NPZ file")
    described = _described(wanted)
    if not path.is_dir():
        if path.suffix.lower() not in wanted.documents:
            raise UsageError(f"{path}: {what}, and the model's feature '{name}' is {feature['type']}; give "
                             f"{described}, folders of them, or a CSV, TSV, Parquet or NPZ file with a column per "
                             "feature")
        return path, [path]
    files = sorted(child for child in path.rglob("*") if child.is_file() and child.suffix.lower() in wanted.documents)
    if not files:
        raise UsageError(f"{path}: no {described} in this folder, and the model's feature '{name}' is "
                         f"{feature['type']}")
    return path, files


def _read_table(path: Path, features: dict, fitted: dict, *, skipped: dict[str, int]):
    from modelctl.data.pipeline import encode_features, open_typed
    from modelctl.data.sources import located

    features = _as_trained(features, fitted)
    source = open_typed({"format": _tables()[path.suffix.lower()], "path": str(path.resolve())}, path.parent, features)
    plan = ColumnPlan({"features": features}, source.columns, source.where)
    parts, offset = [], 0
    with located(source):
        for batch in source.batches(plan.read, 4096):
            size = len(next(iter(batch.values())))
            numbers = np.arange(offset + 1, offset + size + 1)
            values, _ = encode_features(plan.features, fitted, batch, numbers=numbers, on_bad_rows="error",
                                        skipped=skipped)
            parts.append(values)
            offset += size
    if not parts:
        raise DataError("has no rows", file=path)
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}, \
        [f"{path} row {row}" for row in _rows(source, path, offset)]


def _as_trained(features: dict, fitted) -> dict:
    """`features` with each glob of columns (`columns: "f*"`) replaced by the columns it matched in training, so
    that a table without one of them is an error naming it, and a column the glob matches only here is not read."""
    trained = {}
    for name, feature in features.items():
        columns = fitted.features[name].columns if name in fitted.features else None
        glob = isinstance(feature.get("columns"), str)
        trained[name] = {**feature, "columns": list(columns)} if glob and columns else feature
    return trained


def _rows(source, path: Path, count: int) -> list[int]:
    """The rows of the `count` examples of the table `path`, as data errors number them (a CSV's header is
    row 1): the example numbers shifted by the header, unless blank lines in the file shift them further."""
    first = source.row_of(path, 1)
    if source.row_of(path, count) == count + first - 1:
        return list(range(first, count + first))
    return [source.row_of(path, number) for number in range(1, count + 1)]


def _read_documents(path: Path, files: list[Path], features: dict, *, fitted: dict, skipped: dict[str, int]):
    """The image or text `files` of `path` (a file or a folder) as one example each, for the model's one feature."""
    from modelctl.data.pipeline import encode_features
    from modelctl.features import feature_type

    (name, feature), = features.items()
    reader = feature_type(feature["type"])
    column = np.array([reader.read_document(file) for file in files], dtype=object)
    plan = ColumnPlan({"features": {name: {**feature, "column": "value"}}}, ["value"], path)
    try:
        values, _ = encode_features(plan.features, fitted, {"value": column}, numbers=np.arange(1, len(files) + 1),
                                    on_bad_rows="error", skipped=skipped)
    except DataError as error:
        if error.example is None or error.file is not None:
            raise
        raise DataError(error.problem, file=files[error.example - 1]) from error
    return values, [str(file) for file in files]


def prediction_rows(names: list[str], scores: dict[str, np.ndarray], labels: dict) -> list[dict]:
    """One row per example: each label's prediction (a class name or a value) and its probabilities (`labels`:
    name -> `modelctl.runs.FittedLabel`)."""
    from modelctl.features import label_type

    rows = [{"input": name} for name in names]
    for label, values in scores.items():
        kind = label_type(labels[label].type)
        classes = labels[label].classes or []
        values = np.asarray(values, dtype=np.float64)
        for index, row in enumerate(rows):
            row.update(kind.predictions(label, values[index], classes))
    return rows


def rows_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def is_artifact(path: Path) -> bool:
    """An exported model: an artifact of a registered export format (a SavedModel folder, a `.tflite` or `.onnx`
    file, or a plug-in format's)."""
    from modelctl.export.formats import recognize

    return recognize(path) is not None


@dataclasses.dataclass
class Predictor:
    """A trained model, loaded once, that predicts on raw feature values (`read_inputs` gives them).

    Args:
        features: the spec's `data.features`.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`).
        runtime: `keras` for a run's model, else the artifact's export format (`onnx`, `tflite`, ...).
        path: the model file or artifact.
        metadata: facts about the model: `spec_name` and `spec_hash` always; an artifact's whole metadata.
        scores: raw values (feature name -> batch) -> the model's outputs by label, in `data.labels` order.
    """

    features: dict
    fitted: Fitted
    runtime: str
    path: Path
    metadata: dict
    scores: Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]

    @property
    def labels(self) -> dict:
        """Label name -> fitted label (`modelctl.runs.FittedLabel`)."""
        return self.fitted.labels

    def rows(self, values: dict[str, np.ndarray], names: list[str]) -> list[dict]:
        """One prediction row per example (see `prediction_rows`), each under its name."""
        return prediction_rows(names, self.scores(values), self.labels)


def open_artifact(path: Path) -> Predictor:
    """The `Predictor` of an exported model, in its format's runtime; the metadata inside it says how to read
    inputs. Imports TensorFlow only for an artifact that leaves preprocessing steps outside it.

    Raises:
        ExportError: `path` is not an artifact of a registered format, or holds no metadata.
        UsageError: the metadata does not describe the model's features.
    """
    from modelctl.export.artifact import Artifact
    from modelctl.export.formats import format_of, load, module
    from modelctl.export.verify import artifact_inputs

    export_format = format_of(path)
    metadata = module(export_format).read_metadata(Path(path))
    if not metadata.get("preprocessing") or not metadata.get("features"):
        raise UsageError(f"{path}: its metadata does not describe the model's features; export it again with "
                         "`modelctl export RUN_DIR`")
    fitted = Fitted.from_json(metadata["preprocessing"], source=f"{path}: metadata: preprocessing")
    outside = {step["feature"] for step in metadata.get("preprocessing_outside", [])}
    encoders = {}
    if outside:
        from modelctl.model.preprocessing import feature_layers

        encoders = {name: feature_layers(name, fitted.features[name].entry)[0] for name in outside}
    artifact = Artifact(export_format, Path(path), metadata.get("quantization", "none"), encoders=encoders,
                        metadata=metadata)
    run = load(artifact)
    labels = fitted.label_names

    def scores(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = run(artifact_inputs(artifact, values))
        ordered = [outputs[name] for name in metadata["outputs"] if name in outputs] or list(outputs.values())
        return dict(zip(labels, ordered))

    return Predictor(metadata["features"], fitted, export_format, Path(path), metadata, scores)


def run_predictor(trained) -> Predictor:
    """The `Predictor` of a run's Keras model (`trained`: a `modelctl.model.trained.TrainedRun`); the model is
    loaded here.
    """
    from modelctl.model.preprocessing import predict_raw, scores_by_label

    record = trained.run.record
    model = trained.load_model()
    labels = trained.fitted.label_names

    def scores(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return scores_by_label(predict_raw(model, values), labels)

    return Predictor(trained.document.spec.data.features, trained.fitted, "keras", trained.model_file,
                     {"spec_name": record.name, "spec_hash": record.values.get("spec_hash")}, scores)


def predict_artifact(path: Path, inputs: list[str]) -> list[dict]:
    """Predictions of an exported model in its own runtime; the metadata inside it says how to read inputs.

    Raises:
        ExportError: `path` is not an artifact of a registered format, or holds no metadata.
        UsageError: the metadata does not describe the model's features.
    """
    predictor = open_artifact(Path(path))
    values, names = read_inputs(predictor.features, predictor.fitted, inputs)
    return predictor.rows(values, names)


def predict(target: str | Path, inputs: list[str]) -> list[dict]:
    """Predictions of a run's model (a run folder or a `.keras` file in one), or of an exported model
    (an artifact of any registered export format: SavedModel folder, `.tflite` or `.onnx` file...), for raw
    `inputs`. A TensorFlow Serving model base folder (`export/serving/<name>`) means its highest version.

    Raises:
        UsageError: no such run or artifact; the layout's `serving` folder itself, which holds models.
    """
    from modelctl.export.serving import resolve

    path = resolve(target)
    if is_artifact(path):
        return predict_artifact(path, inputs)
    from modelctl.model.trained import open_trained

    # The run is opened once; the inputs are read (and checked) before the model is loaded.
    trained = open_trained(target, command="predict with")
    values, names = read_inputs(trained.document.spec.data.features, trained.fitted, inputs)
    return run_predictor(trained).rows(values, names)
