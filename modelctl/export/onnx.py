"""ONNX export: a model with the Keras input and output names, a free batch dimension and modelctl metadata.

Options (see `modelctl.registry.exporters`):
    opset: ONNX opset version, 14 to 18 (default 17; tf2onnx 1.17 converts up to 18).

The model is converted with tf2onnx from a SavedModel with the `serving_default`
signature, the route that keeps lookup tables: a `StringLookup` becomes an
`ai.onnx.ml` `CategoryMapper`, so string inputs stay strings. Erfc (exact GELU)
becomes 1 - Erf. Encoders tf2onnx
cannot convert (TextVectorization's string ops) are left outside; see
`modelctl.export.preprocessing`. The artifact is the file `model.onnx`.
Metadata is in `metadata_props`: one entry per key, each value JSON text;
`read_metadata` reads it back. `load` runs it with ONNX Runtime.
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import numpy as np

from modelctl.export.artifact import PREPROCESSING_SUFFIX, Artifact, ExportContext
from modelctl.export.errors import ExportError
from modelctl.export.metadata import artifact_metadata, base_metadata
from modelctl.export.preprocessing import document, skipped_steps
from modelctl.export.signature import SIGNATURE, saved_model_of, to_json
from modelctl.export.split import Unconvertible, convert_leaving_out, text_encoders

NAME = "model.onnx"
SUFFIX = ".onnx"


def artifact_name(options: dict) -> str:
    """`model.onnx`."""
    return NAME


def recognizes(path: Path) -> bool:
    """Whether `path` is a `.onnx` file."""
    return Path(path).suffix == SUFFIX and Path(path).is_file()


def export(model, path: Path, options: dict, *, context: ExportContext) -> Artifact:
    """Write `model` as a `.onnx` file at `path`; see the module docstring for `options`, which the registry
    entry's schema has checked (`modelctl.export.runner.planned_artifacts`) and whose defaults it has filled in."""
    opset = options["opset"]
    def convert(prepared, cut):
        return _convert(prepared, opset, context.saved_models)

    converted = convert_leaving_out(model, "onnx", convert, cut_first=text_encoders(model, "onnx"),
                                    hint="tf2onnx cannot convert these ops to ONNX.")
    steps = skipped_steps(converted.cut, converted.reasons)
    metadata = artifact_metadata(base_metadata(model, context), "onnx", "none", prepared_model=converted.model,
                                 skipped=steps)
    metadata["opset"] = opset
    proto = converted.value
    del proto.metadata_props[:]
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = to_json(value)
    Path(path).write_bytes(proto.SerializeToString())
    artifact = Artifact("onnx", Path(path), skipped=steps, encoders=dict(converted.cut), metadata=metadata)
    if steps:
        Path(str(path) + PREPROCESSING_SUFFIX).write_text(to_json(document("onnx", steps)), encoding="utf-8")
        artifact.sidecars.append(PREPROCESSING_SUFFIX)
    return artifact


def read_metadata(path: str | Path) -> dict:
    """The metadata of a `.onnx` file: `metadata_props` with each value decoded from JSON.

    Read by ONNX Runtime, unoptimized, rather than the `onnx` package, whose import alone takes a sixth of a
    second: `modelctl serve` answers its first request within a second of starting.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        return {key: json.loads(value) for key, value in session.get_modelmeta().custom_metadata_map.items()}
    except Exception as error:  # ONNX Runtime's own exception classes (InvalidProtobuf, Fail...) share no base
        raise ExportError(f"{path}: not an ONNX model that ONNX Runtime can read ({error})") from None


def load(artifact: Artifact):
    """`predict(inputs) -> outputs` in ONNX Runtime, on the CPU; string inputs are fed as Python strings."""
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


def _convert(model, opset: int, saved_models=None):
    """The ONNX ModelProto of `model`; raises `Unconvertible` naming the ops ONNX lacks."""
    import onnx
    from tf2onnx import convert as tf2onnx_convert
    from tf2onnx import tf_loader

    from modelctl.util.tf import quiet_native_output

    with saved_model_of(model, saved_models) as path, _quiet_tf2onnx(), quiet_native_output((1, 2)):
        saved = str(path)
        # The saved-model loader (tf2onnx's own command line route) hands over the initialized lookup tables,
        # which from_function does not.
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            saved, None, None, signatures=[SIGNATURE], return_initialized_tables=True,
            return_tensors_to_rename=True)
        try:
            proto, _ = tf2onnx_convert._convert_common(
                graph_def, name=model.name, opset=opset, input_names=inputs, output_names=outputs,
                initialized_tables=tables, tensors_to_rename=renames, continue_on_error=True,
                custom_op_handlers={"Erfc": (_erfc, [])})
        except Exception as error:
            raise ExportError(f"onnx: tf2onnx failed: {str(error).strip().splitlines()[0]}") from error
    lacking = {node.name: node.op_type for node in proto.graph.node
               if not onnx.defs.has(node.op_type, node.domain or "")}
    if lacking:
        raise Unconvertible(lacking)
    return proto


def _erfc(graph, node, name, args):
    """Erfc as 1 - Erf: ONNX has no Erfc, and Keras's exact GELU uses it."""
    from tf2onnx import utils

    node.type = "Erf"
    dtype = utils.map_onnx_to_numpy_type(graph.get_dtype(node.output[0]))
    one = graph.make_const(utils.make_name(f"{name}_one"), np.array(1, dtype=dtype))
    graph.insert_new_node_on_output("Sub", node.output[0], inputs=[one.output[0], node.output[0]],
                                    name=utils.make_name(f"{name}_erfc"))
    return node


@contextlib.contextmanager
def _quiet_tf2onnx():
    """tf2onnx logs every op it cannot convert; those are reported by layer instead."""
    logger = logging.getLogger("tf2onnx")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
