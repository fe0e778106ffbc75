"""`Predictor`: a trained model, from a run or an exported artifact, that scores raw feature values.

    predictor = open_predictor("runs/iris")                 # the newest completed run's Keras model
    predictor = open_predictor("export/model.onnx")         # an artifact, in its own runtime
    predictor.scores({"measurements": batch})               # outputs by label
    predictor.rows(examples)                                # prediction rows (`modelctl.predict.outputs`)

An artifact carries its features, fitted preprocessing and metadata, and runs
in its format's runtime: ONNX and TFLite artifacts never import TensorFlow, so
they predict and serve in an install without it (`pip install
"modelctl[serve]"`). A run's Keras model and a SavedModel need TensorFlow (the
`train` extra), and say so by name when it is missing. A run's model is loaded
on first use, so that the inputs are read and checked before TensorFlow starts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from modelctl.util.lazy import MissingExtra, installed, numpy as np

from modelctl.errors import UsageError
from modelctl.runs import Fitted

Scores = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""Raw values (feature name -> batch) -> the model's outputs by label."""

TENSORFLOW = ("tensorflow", "keras")
"""The packages of the `train` extra that a run's Keras model and a SavedModel need."""

WITHOUT_TENSORFLOW = ("or export the model to ONNX or TFLite where TensorFlow is installed (`modelctl export RUN "
                      "--format onnx`) and use that artifact, which needs no TensorFlow")
"""What a run's Keras model or a SavedModel can be replaced with where TensorFlow is missing."""


@dataclasses.dataclass
class Predictor:
    """A trained model that predicts on raw feature values (`modelctl.predict.inputs.read_inputs` gives them).

    Args:
        features: the spec's `data.features`.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`; the JSON of a run's is read as one).
        runtime: `keras` for a run's model, else the artifact's export format (`onnx`, `tflite`, ...).
        path: the model file or artifact.
        metadata: facts about the model: `spec_name` and `spec_hash` always; an artifact's whole metadata.
        loader: loads the model in its runtime and gives its `Scores`; called once, on first use (`load`).
    """

    features: dict
    fitted: Fitted
    runtime: str
    path: Path
    metadata: dict
    loader: Callable[[], Scores] = dataclasses.field(repr=False)
    _loaded: Scores | None = dataclasses.field(default=None, init=False, repr=False)

    def __post_init__(self):
        self.fitted = Fitted.from_json(self.fitted, source=f"{self.path}: the fitted preprocessing")

    @property
    def labels(self) -> dict:
        """Label name -> fitted label (`modelctl.runs.FittedLabel`), in `data.labels` order."""
        return self.fitted.labels

    def load(self) -> Predictor:
        """Load the model now (it is otherwise loaded on first use); returns the predictor."""
        if self._loaded is None:
            self._loaded = self.loader()
        return self

    def scores(self, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's outputs by label for raw values (feature name -> batch)."""
        return self.load()._loaded(values)

    def rows(self, examples) -> list[dict]:
        """One prediction row per example of `examples` (`Examples`): see `modelctl.predict.outputs`."""
        from modelctl.predict.outputs import prediction_rows

        return prediction_rows(examples.names, self.scores(examples.values), self.labels, ids=examples.ids,
                               id_column=examples.id_column or "id")


def is_artifact(path: Path) -> bool:
    """An exported model: an artifact of a registered export format (a SavedModel folder, a `.tflite` or `.onnx`
    file, or a plug-in format's)."""
    from modelctl.export.formats import recognize

    return recognize(path) is not None


def open_predictor(target: str | Path) -> Predictor:
    """The `Predictor` of `target`: an artifact of any registered export format, a model's folder in the model
    repository layout of TensorFlow Serving and Triton (its highest version) or one of its version folders (the
    version's artifact that needs no TensorFlow first: `modelctl.export.serving.PREFERENCE`), a run folder, a
    spec's runs folder (its newest completed run) or a `.keras` file in a run.

    Raises:
        UsageError: no such run or artifact; a repository of several models, which names none.
        MissingExtra: TensorFlow is needed (a run's model, a SavedModel) and not installed.
    """
    from modelctl.export.serving import resolve

    path = resolve(target)
    return open_artifact(path) if is_artifact(path) else open_run(target)


def open_artifact(path: Path) -> Predictor:
    """The `Predictor` of an exported model, in its format's runtime (loaded at once); the metadata inside it
    says how to read inputs. Imports TensorFlow only for a SavedModel, or an artifact that leaves preprocessing
    steps outside it.

    Raises:
        ExportError: `path` is not an artifact of a registered format, or holds no metadata.
        UsageError: the metadata does not describe the model's features.
        MissingExtra: the format's runtime needs TensorFlow, which is not installed.
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
    what = f"a {export_format} artifact ({path})"
    outside = {step["feature"] for step in metadata.get("preprocessing_outside", [])}
    encoders = {}
    if outside:
        _needs_tensorflow(f"{what}, whose preprocessing of {', '.join(sorted(outside))} runs outside the model,")
        from modelctl.model.preprocessing import feature_layers

        encoders = {name: feature_layers(name, fitted.features[name].entry)[0] for name in outside}
    artifact = Artifact(export_format, Path(path), metadata.get("quantization", "none"), encoders=encoders,
                        metadata=metadata)
    try:
        run = load(artifact)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in TENSORFLOW:
            raise
        raise MissingExtra(error.name.split(".")[0], what, instead=WITHOUT_TENSORFLOW) from None
    labels = fitted.label_names

    def scores(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        outputs = run(artifact_inputs(artifact, values))
        ordered = [outputs[name] for name in metadata["outputs"] if name in outputs] or list(outputs.values())
        return dict(zip(labels, ordered))

    return Predictor(metadata["features"], fitted, export_format, Path(path), metadata, lambda: scores).load()


def open_run(target) -> Predictor:
    """The `Predictor` of a run's Keras model: a run folder, a spec's runs folder for its newest completed run, a
    `.keras` file in one, or a run already opened (`modelctl.model.trained.TrainedRun`); the model is loaded on
    first use.

    Raises:
        UsageError: no such folder, not a run folder.
        RunError: a run that has not completed, or a cross-validation (which names the fold to give).
        MissingExtra: TensorFlow is not installed.
    """
    from modelctl.model.trained import TrainedRun, open_trained

    trained = target if isinstance(target, TrainedRun) else open_trained(target, command="predict with")
    _needs_tensorflow(f"the Keras model of run {trained.run}", instead=WITHOUT_TENSORFLOW)
    record = trained.run.record
    labels = trained.fitted.label_names

    def loader() -> Scores:
        from modelctl.model.preprocessing import predict_raw, scores_by_label

        model = trained.load_model()
        return lambda values: scores_by_label(predict_raw(model, values), labels)

    return Predictor(trained.document.spec.data.features, trained.fitted, "keras", trained.model_file,
                     {"spec_name": record.name, "spec_hash": record.values.get("spec_hash")}, loader)


def _needs_tensorflow(what: str, *, instead: str | None = None) -> None:
    for package in TENSORFLOW:
        if not installed(package):
            raise MissingExtra(package, what, instead=instead)


__all__ = ["Predictor", "Scores", "is_artifact", "open_artifact", "open_predictor", "open_run"]
