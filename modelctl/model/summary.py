"""What a spec's model looks like: layers, output shapes, parameters, FLOPs and weight memory."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from modelctl.errors import MissingDependency
from modelctl.model.build import Builder, format_shape
from modelctl.model.memory import weight_bytes, weight_size
from modelctl.spec.loader import Document


def summarize(document: Document) -> tuple[dict, object]:
    """Build the spec's model and describe it.

    Returns:
        The description, `{"name", "inputs", "layers": [{name, type, output_shape, parameters,
        trainable_parameters}], "totals": {...}, "notes": [...]}`, and the Keras model. `notes` say where
        input widths learned from the data came from; `totals.flops_per_example` is None when unknown.
    """
    builder = Builder(document)
    model = builder.build()
    kinds = {node.name: node.kind for node in builder.graph.nodes}
    rows = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        trainable = sum(weight_size(weight) for weight in layer.trainable_weights)
        rows.append({
            "name": layer.name,
            "type": kinds.get(layer.name, type(layer).__name__),
            "output_shape": format_shape(layer.output.shape),
            "parameters": layer.count_params(),
            "trainable_parameters": trainable,
        })
    trainable = sum(weight_size(weight) for weight in model.trainable_weights)
    total = model.count_params()
    return {
        "name": model.name,
        "inputs": [{"name": t.name, "shape": format_shape(t.shape), "dtype": str(t.dtype)} for t in model.inputs],
        "layers": rows,
        "totals": {
            "parameters": total,
            "trainable_parameters": trainable,
            "non_trainable_parameters": total - trainable,
            "weight_bytes": sum(weight_bytes(weight) for weight in model.weights),
            "flops_per_example": flops_per_example(model),
        },
        "notes": [spec.note for spec in builder.inputs if spec.note],
    }, model


def flops_per_example(model) -> int | None:
    """Floating-point operations of one forward pass at batch size 1, counted by TensorFlow's profiler; None
    when they cannot be counted (a variable-size input, or a graph the profiler cannot take)."""
    try:
        return _counted_flops(model)
    except Exception:  # the figure is informative only: a graph TensorFlow cannot freeze or profile shows unknown
        return None


def _counted_flops(model) -> int | None:
    import keras
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    from modelctl.util.tf import quiet_native_output, tensorflow

    tf = tensorflow()

    signature = [tf.TensorSpec([1, *tensor.shape[1:]], tensor.dtype) for tensor in model.inputs]

    @tf.autograph.experimental.do_not_convert
    def forward(*tensors):
        # Recurrent layers with dropout draw their masks even at inference, advancing a seed variable; in a
        # stateless scope that update is not written into the graph, which freezing could not take.
        with keras.StatelessScope():
            return model(list(tensors) if len(tensors) > 1 else tensors[0], training=False)

    if any(dim is None for spec in signature for dim in spec.shape):
        return None  # a variable-size input has no fixed FLOP count
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
        MissingDependency: pydot or graphviz is missing (the message says how to install them).
    """
    missing = []
    if importlib.util.find_spec("pydot") is None:
        missing.append("pydot (`python3 -m pip install pydot`)")
    if shutil.which("dot") is None:
        missing.append("graphviz (`apt-get install graphviz`, `brew install graphviz` or graphviz.org)")
    if missing:
        raise MissingDependency(f"--plot needs {' and '.join(missing)}; install them and run the command again")
    import keras

    keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True, dpi=96)


def human_bytes(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count} B"


def human_count(count: int | None) -> str:
    """`count` with a G, M or K suffix; "unknown" for None."""
    if count is None:
        return "unknown"
    for unit, size in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.2f}{unit}"
    return str(count)
