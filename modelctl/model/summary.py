"""What a spec's model looks like: layers, output shapes, parameters, FLOPs and weight memory."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from modelctl.errors import ModelctlError
from modelctl.model.build import Builder, format_shape
from modelctl.spec.loader import Document


def summarize(document: Document) -> tuple[dict, object]:
    """Build the spec's model and describe it.

    Returns:
        The description, `{"name", "inputs", "layers": [{name, type, output_shape, parameters,
        trainable_parameters}], "totals": {...}}`, and the Keras model.
    """
    builder = Builder(document)
    model = builder.build()
    kinds = {node.name: node.kind for node in builder.graph.nodes}
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        trainable = sum(_size(weight) for weight in layer.trainable_weights)
        rows.append({
            "name": layer.name,
            "type": kinds.get(layer.name, type(layer).__name__),
            "output_shape": format_shape(layer.output.shape),
            "parameters": layer.count_params(),
            "trainable_parameters": trainable,
        })
    trainable = sum(_size(weight) for weight in model.trainable_weights)
    total = model.count_params()
    weight_bytes = sum(_size(weight) * _itemsize(weight) for weight in model.weights)
    return {
        "name": model.name,
        "inputs": [{"name": t.name, "shape": format_shape(t.shape), "dtype": str(t.dtype)} for t in model.inputs],
        "layers": rows,
        "totals": {
            "parameters": total,
            "trainable_parameters": trainable,
            "non_trainable_parameters": total - trainable,
            "weight_bytes": weight_bytes,
            "flops_per_example": flops_per_example(model),
        },
    }, model


def _size(weight) -> int:
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def _itemsize(weight) -> int:
    import numpy as np

    return np.dtype(str(weight.dtype).replace("mixed_", "")).itemsize


def flops_per_example(model) -> int:
    """Floating-point operations of one forward pass at batch size 1, counted by TensorFlow's profiler."""
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from modelctl.util.tf import quiet_native_output, tensorflow

    tf = tensorflow()

    signature = [tf.TensorSpec([1, *tensor.shape[1:]], tensor.dtype) for tensor in model.inputs]

    @tf.autograph.experimental.do_not_convert
    def forward(*tensors):
        return model(list(tensors) if len(tensors) > 1 else tensors[0], training=False)

    if any(dim is None for spec in signature for dim in spec.shape):
        return 0  # a variable-size input has no fixed FLOP count
    concrete = tf.function(forward).get_concrete_function(*signature)
    frozen = convert_variables_to_constants_v2(concrete)
    options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
    options["output"] = "none"
    with quiet_native_output((1, 2)):
        info = tf.compat.v1.profiler.profile(graph=frozen.graph, options=options)
    # The profiler does not look inside loops, so recurrent layers are counted by formula.
    return int(info.total_float_ops) + _recurrent_flops(model)


_GATES = {"SimpleRNN": 1, "GRU": 3, "LSTM": 4}


def _recurrent_flops(model) -> int:
    """Multiply-adds of SimpleRNN, GRU and LSTM layers over their sequences: 2 x gates x (input + recurrent)."""
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            total += _recurrent_flops(layer)
        cells = [layer] if type(layer).__name__ in _GATES else \
            [inner for inner in (getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None))
             if type(inner).__name__ in _GATES]
        for cell_layer in cells:
            steps = _steps(layer)
            inputs, units = int(cell_layer.cell.kernel.shape[0]), int(cell_layer.cell.units)
            total += 2 * steps * _GATES[type(cell_layer).__name__] * (inputs * units + units * units)
    return total


def _steps(layer) -> int:
    """Sequence length of the layer's input (0 when unknown)."""
    tensor = layer.input[0] if isinstance(layer.input, (list, tuple)) else layer.input
    return int(tensor.shape[1] or 0)


def plot(model, path: str | Path) -> None:
    """Draw the model graph to `path` (PNG, SVG or PDF by extension).

    Raises:
        ModelctlError: pydot or graphviz is missing (the message says how to install them).
    """
    missing = []
    if importlib.util.find_spec("pydot") is None:
        missing.append("pydot (`python3 -m pip install pydot`)")
    if shutil.which("dot") is None:
        missing.append("graphviz (`apt-get install graphviz`, `brew install graphviz` or graphviz.org)")
    if missing:
        raise ModelctlError(f"--plot needs {' and '.join(missing)}; install them and run the command again")
    import keras

    keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=96)


def human_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"


def human_count(count: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.2f}{unit}"
    return str(count)
