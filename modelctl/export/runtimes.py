"""Running an artifact in its own runtime: TensorFlow for SavedModel, LiteRT for TFLite, ONNX Runtime for ONNX.

`load(artifact)` returns `predict(inputs) -> outputs`, both dicts of numpy arrays
keyed by the artifact's input and output names; inputs carry a batch dimension.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from modelctl.export.artifact import Artifact
from modelctl.export.errors import VerificationError
from modelctl.export.signature import SIGNATURE

Predict = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def load(artifact: Artifact) -> Predict:
    """The predict function of an artifact in its runtime."""
    loaders = {"saved_model": _saved_model, "tflite": _tflite, "onnx": _onnx}
    return loaders[artifact.format](artifact)


def _saved_model(artifact: Artifact) -> Predict:
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    signature = tf.saved_model.load(str(artifact.path)).signatures[SIGNATURE]

    def predict(inputs):
        outputs = signature(**{name: tf.constant(values) for name, values in inputs.items()})
        return {name: value.numpy() for name, value in outputs.items()}

    return predict


def _tflite(artifact: Artifact) -> Predict:
    from ai_edge_litert.interpreter import Interpreter

    from modelctl.util.tf import quiet_native_output

    with quiet_native_output():
        interpreter = Interpreter(model_path=str(artifact.path))
    runner = interpreter.get_signature_runner(SIGNATURE)
    first = [True]

    def predict(inputs):
        try:
            if first[0]:  # the first run prints delegate notes; later runs are timed, so stay cheap
                first[0] = False
                with quiet_native_output():
                    return {name: np.array(value) for name, value in runner(**inputs).items()}
            return {name: np.array(value) for name, value in runner(**inputs).items()}
        except RuntimeError as error:
            if artifact.needs_flex or "Select TensorFlow op" in str(error):
                raise VerificationError(
                    f"{artifact.label}: the model uses Select TF ops, and the LiteRT runtime of this Python has no "
                    "Flex delegate, so the artifact cannot be verified; set `select_tf_ops: false` to leave the "
                    "steps that need them outside the artifact (or change the layer)") from None
            raise

    return predict


def _onnx(artifact: Artifact) -> Predict:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(artifact.path), options, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]

    def predict(inputs):
        feeds = {name: _ort_value(values) for name, values in inputs.items()}
        return dict(zip(names, session.run(names, feeds)))

    return predict


def _ort_value(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "OSU":
        return np.vectorize(lambda item: item.decode("utf-8") if isinstance(item, bytes) else str(item),
                            otypes=[object])(values)
    return values
