"""Rebuilding a functional model for a format: string encoders cut off, recurrent layers unrolled.

The rebuilt model shares every layer (and so every weight) with the original,
except the layers `replace` swaps for new ones; those get the original's weights.
"""

from __future__ import annotations

from typing import Callable

ENCODER_CLASSES = ("StringLookup", "TextVectorization", "Hashing")
"""Keras preprocessing layers that turn a string input into numbers; a format that cannot hold one gets
the model from their outputs on."""

RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")


def input_names(model) -> list[str]:
    """The model's input names, in its order."""
    return [tensor.name for tensor in model.inputs]


def output_tensors(model) -> dict:
    """Output name -> symbolic tensor (a model with a list or a single output gets its layer names)."""
    if isinstance(model.output, dict):
        return dict(model.output)
    outputs = model.outputs
    return {tensor._keras_history.operation.name: tensor for tensor in outputs}


def string_encoders(model) -> dict[str, object]:
    """Feature -> the encoder layer (see ENCODER_CLASSES) applied directly to that string input.

    Only string inputs read by exactly one encoder layer are listed: those are the ones that can be left
    outside an artifact. Other string inputs stay inside, and a converter that cannot hold what reads
    them reports that layer.
    """
    encoders = {}
    for tensor in model.inputs:
        if tensor.dtype != "string":
            continue
        readers = _readers(model, tensor)
        if len(readers) == 1 and type(readers[0]).__name__ in ENCODER_CLASSES:
            encoders[tensor.name] = readers[0]
    return encoders


def _readers(model, tensor) -> list:
    readers = []
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            if node.operation is not None and not node.is_input and any(
                    x is tensor for x in node.input_tensors):
                readers.append(node.operation)
    return readers


def rebuild(model, cut: dict[str, object] | None = None,
            replace: Callable[[object], object | None] | None = None):
    """Return a model computing the same outputs with the given changes.

    Args:
        model: a Keras functional model.
        cut: feature -> encoder layer to leave out; the new model's input of that name takes the
            encoder's output (its shape and dtype). Default: none.
        replace: called with each layer; returns a new, unbuilt layer to use instead, or None to keep it.
            Replacements get the original's weights once built. Default: keep every layer.
    """
    import keras

    cut = cut or {}
    known: dict[int, object] = {}
    inputs = {}
    for tensor in model.inputs:
        source = cut[tensor.name].output if tensor.name in cut else tensor
        new = keras.Input(shape=tuple(source.shape[1:]), dtype=source.dtype, name=tensor.name)
        known[id(source)] = new
        inputs[tensor.name] = new
    swapped: list[tuple[object, object]] = []
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            if any(id(x) not in known for x in node.input_tensors):
                continue  # reads a cut-off string input only
            operation = node.operation
            new_operation = replace(operation) if replace is not None else None
            if new_operation is not None:
                swapped.append((operation, new_operation))
                operation = new_operation
            args, kwargs = node.arguments.fill_in(known)
            results = operation(*args, **kwargs)
            for reference, value in zip(node.outputs, keras.tree.flatten(results)):
                known[id(reference)] = value
    outputs = {name: known[id(tensor)] for name, tensor in output_tensors(model).items()}
    rebuilt = keras.Model(inputs, outputs, name=model.name)
    for original, new in swapped:
        new.set_weights(original.get_weights())
    return rebuilt


def unrolled(layer):
    """An unrolled copy of a recurrent layer (or of a Bidirectional wrapper of one), or None for other layers.

    Unrolled layers use plain ops instead of a while loop and TensorList ops, which TFLite builtins lack.
    """
    import keras

    kind = type(layer).__name__
    if kind in RECURRENT_CLASSES:
        if layer.unroll:
            return None
        config = layer.get_config()
        config["unroll"] = True
        return type(layer).from_config(config)
    if kind == "Bidirectional" and type(layer.forward_layer).__name__ in RECURRENT_CLASSES:
        config = layer.get_config()
        config["layer"]["config"]["unroll"] = True
        if config.get("backward_layer"):
            config["backward_layer"]["config"]["unroll"] = True
        return keras.layers.Bidirectional.from_config(config)
    return None


def recurrent_layers(model) -> list[str]:
    """Names of the recurrent layers (and Bidirectional wrappers) that `unrolled` would replace."""
    return [layer.name for layer in model.layers if unrolled_kind(layer)]


def unrolled_kind(layer) -> bool:
    kind = type(layer).__name__
    if kind == "Bidirectional":
        layer = layer.forward_layer
        kind = type(layer).__name__
    return kind in RECURRENT_CLASSES and not layer.unroll
