"""TensorFlow Lite export: a flat buffer with the `serving_default` signature and modelctl metadata.

Options (see `modelctl.registry.exporters`):
    quantize: `none` (default, float32), `dynamic` (int8 weights, float activations), `float16` (float16
        weights) or `int8` (full integer quantization of weights and activations, calibrated on
        `representative_examples` training examples; the model's inputs and outputs stay float32, with
        quantize/dequantize ops inside, so the app feeds and reads the same values as with float32).
    select_tf_ops: default False: builtin ops only, and a layer needing other ops is an error naming it.
        True allows Select TF ops; the app then needs the Flex delegate (`tensorflow-lite-select-tf-ops`).
    representative_examples: default 100; training examples used to calibrate int8.

Recurrent layers (LSTM, GRU, SimpleRNN, also inside Bidirectional) are converted
through an unrolled copy, which needs a fixed sequence length. String encoders
TFLite builtins lack (TextVectorization) are left outside, and with int8 every
string encoder is (full integer quantization does not keep lookups exact); see
`modelctl.export.preprocessing`. The artifact is the file `model.tflite`, or
`model.<quantize>.tflite` when quantized. Metadata is a flat buffer metadata
entry named `modelctl` holding JSON; `read_metadata` reads it back. `load` runs
it with LiteRT.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from modelctl.export import tflite_metadata
from modelctl.export.artifact import PREPROCESSING_SUFFIX, Artifact, ExportContext
from modelctl.export.errors import ExportError, UnsupportedLayerError, VerificationError
from modelctl.export.graph import recurrent_layers, unrolled
from modelctl.export.metadata import artifact_metadata, base_metadata
from modelctl.export.preprocessing import document, encode, skipped_steps
from modelctl.export.signature import SIGNATURE, saved_model_of, to_json
from modelctl.export.split import Unconvertible, convert_leaving_out, text_encoders

SUFFIX = ".tflite"
read_metadata = tflite_metadata.read_metadata


def artifact_name(options: dict) -> str:
    """`model.tflite`, or `model.<quantize>.tflite` (`model.int8.tflite`) when quantized."""
    quantize = options["quantize"]
    return f"model{SUFFIX}" if quantize == "none" else f"model.{quantize}{SUFFIX}"


def recognizes(path: Path) -> bool:
    """Whether `path` is a `.tflite` file."""
    return Path(path).suffix == SUFFIX and Path(path).is_file()


def export(model, path: Path, options: dict, *, context: ExportContext) -> Artifact:
    """Write `model` as a `.tflite` file at `path`; see the module docstring for `options`, which the registry
    entry's schema has checked (`modelctl.export.runner.planned_artifacts`) and whose defaults it has filled in."""
    quantize = options["quantize"]
    select_tf_ops = options["select_tf_ops"]
    count = options["representative_examples"]
    _check_recurrent(model)
    cut_first = {} if select_tf_ops else text_encoders(model, "tflite")
    if quantize == "int8":
        if not context.representative:
            raise ExportError("tflite: int8 quantization needs representative examples from the training split; "
                              "none were given")
        cut_first = {**{feature: "int8 quantization does not keep string lookups exact"
                        for feature, tensor in _inputs(model).items() if tensor.dtype == "string"}, **cut_first}

    def convert(prepared, cut):
        return _convert(prepared, quantize, select_tf_ops, representative=context.representative, count=count,
                        encoders=cut,
                        saved_models=context.saved_models)

    hint = ("" if select_tf_ops else
            "TFLite builtins lack these ops; set `select_tf_ops: true` to use Select TF ops (the app then "
            "needs the Flex delegate), or change the layer.")
    converted = convert_leaving_out(model, "tflite", convert, cut_first=cut_first, replace=unrolled,
                                    rebuild_always=bool(recurrent_layers(model)), hint=hint)
    steps = skipped_steps(converted.cut, converted.reasons)
    metadata = artifact_metadata(base_metadata(model, context), "tflite", quantize, prepared_model=converted.model,
                                 skipped=steps)
    content = tflite_metadata.add_metadata(converted.value, metadata)
    Path(path).write_bytes(content)
    artifact = Artifact("tflite", Path(path), quantization=quantize, skipped=steps, encoders=dict(converted.cut),
                        metadata=metadata)
    flex = tflite_metadata.flex_ops(content)
    if flex:
        artifact.needs_flex = True
        artifact.notes.append(f"uses Select TF ops ({', '.join(flex)}): the app must link the Flex delegate "
                              "(tensorflow-lite-select-tf-ops)")
    if steps:
        Path(str(path) + PREPROCESSING_SUFFIX).write_text(to_json(document("tflite", steps)), encoding="utf-8")
        artifact.sidecars.append(PREPROCESSING_SUFFIX)
    return artifact


def load(artifact: Artifact):
    """`predict(inputs) -> outputs` through the `serving_default` signature in LiteRT.

    Raises (from `predict`):
        VerificationError: the model uses Select TF ops, which this Python's LiteRT cannot run.
    """
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


def _inputs(model) -> dict:
    return {tensor.name: tensor for tensor in model.inputs}


def _check_recurrent(model) -> None:
    import keras

    for layer in recurrent_layers(model):
        # A layer behind a mask is called with (sequences, mask): the sequences come first.
        sequences = keras.tree.flatten(layer.input)[0]
        if sequences.shape[1] is None:
            raise UnsupportedLayerError(
                "tflite", {layer.name: []},
                "TFLite builtins run recurrent layers only unrolled, which needs a fixed sequence length; "
                f"the input of '{layer.name}' has shape {tuple(sequences.shape)}. Declare the sequence length.")


def _convert(model, quantize: str, select_tf_ops: bool, *, representative, count: int, encoders: dict,
             saved_models=None) -> bytes:
    from modelctl.util.tf import quiet_native_output, tensorflow

    tf = tensorflow()
    with saved_model_of(model, saved_models) as saved:
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved), signature_keys=[SIGNATURE])
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if quantize == "int8" else tf.lite.OpsSet.TFLITE_BUILTINS]
        if select_tf_ops:
            ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        converter.target_spec.supported_ops = ops
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            converter.representative_dataset = _calibration(model, representative, count, encoders=encoders)
            converter.inference_input_type = tf.float32
            converter.inference_output_type = tf.float32
        try:
            with quiet_native_output((1, 2)), warnings.catch_warnings():
                # int8 calibration runs the deprecated tf.lite.Interpreter inside the converter
                warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
                return converter.convert()
        except Exception as error:  # the converter raises ConverterError with the ops it lacks
            ops_lacking = _lacking(error)
            if ops_lacking:
                raise Unconvertible(ops_lacking) from error
            raise ExportError(f"tflite: the converter failed: {_first_line(error)}") from error


def _calibration(model, representative, count: int, *, encoders: dict):
    dtypes = {tensor.name: str(tensor.dtype) for tensor in model.inputs}
    examples = {name: np.asarray(values)[:count] for name, values in representative.items() if name in dtypes}
    examples = encode(examples, encoders, dtypes)
    total = min(len(values) for values in examples.values())

    def dataset():
        for index in range(total):
            yield {name: values[index:index + 1].astype(dtypes[name]) if dtypes[name] != "string"
                   else values[index:index + 1] for name, values in examples.items()}

    return dataset


def _lacking(error: Exception) -> dict[str, str]:
    """Op name -> op type of each op the converter reported it cannot convert."""
    lacking = {}
    for item in getattr(error, "errors", None) or []:
        op_type = item.operator.name.removeprefix("tf.")
        calls = [call.name for call in item.location.call]
        op_name = calls[0].split("@")[0] if calls else op_type
        if op_type:
            lacking[op_name] = op_type
    return lacking


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
