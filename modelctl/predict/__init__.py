"""`modelctl predict`: raw inputs through a trained model, as class names and probabilities (or values).

    rows = predict("runs/iris", ["new_flowers.csv"], InputOptions(ids="id", on_bad_input="skip"))
    rows[0], rows.examples.skipped, rows.examples.outside_vocabulary

    predictor = open_predictor("runs/iris/20261123T101500Z/export/model.onnx")   # what `modelctl serve` runs
    examples = read_inputs(predictor.features, predictor.fitted, ["new_flowers.csv"])
    rows = predictor.rows(examples)

`inputs` reads the inputs by their kind (tables, image and text documents,
folders of them, standard input) into raw feature values; `predictor` holds
`Predictor`, a run's model or an exported artifact loaded in its runtime, which
scores raw values (the preprocessing saved with the model runs inside it); and
`outputs` turns scores into prediction rows and CSV. `modelctl serve` answers
with the same `Predictor`. ONNX and TFLite artifacts never import TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from modelctl.predict.inputs import STDIN, Examples, InputOptions, read_inputs
from modelctl.predict.outputs import NonFiniteScores, non_finite, prediction_rows, rows_csv
from modelctl.predict.predictor import Predictor, is_artifact, open_artifact, open_predictor, open_run


class Predictions(list):
    """What `predict` gives: the list of its rows, one per example (`prediction_rows`), which also holds the
    examples they were made from (`Examples`: what was skipped, the values outside a vocabulary)."""

    def __init__(self, rows: list[dict], examples: Examples):
        super().__init__(rows)
        self.examples = examples


def predict(target: str | Path, inputs: list[str], options: InputOptions = InputOptions(), *,
            stdin: BinaryIO | None = None) -> Predictions:
    """Predictions of a run's model (a run folder or a `.keras` file in one), of an exported model (an artifact
    of any registered export format), or of a model's folder in the model repository layout of TensorFlow Serving
    and Triton (its highest version), for raw `inputs`. The inputs are read and checked before a run's model is
    loaded.

    Args:
        target: what `open_predictor` takes.
        inputs: files, folders and `-` (see `read_inputs`).
        options: the id column, bad inputs, the delimiter (`InputOptions`).
        stdin: where `-` is read from; default None: standard input.

    Raises:
        UsageError: no such run or artifact; an input predict cannot read.
        DataError: a value the model cannot take.
        NonFiniteScores: the model's output for an example is not finite.
    """
    predictor = open_predictor(target)
    examples = read_inputs(predictor.features, predictor.fitted, inputs, options=options, stdin=stdin)
    return Predictions(predictor.rows(examples), examples)


__all__ = ["Examples", "InputOptions", "NonFiniteScores", "Predictions", "Predictor", "STDIN", "is_artifact",
           "non_finite", "open_artifact", "open_predictor", "open_run", "predict", "prediction_rows", "read_inputs",
           "rows_csv"]
