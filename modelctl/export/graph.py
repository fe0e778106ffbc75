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


def output_tensors(model) -> dict:
    """Output name -> symbolic tensor.

    A model with a dict of outputs gives its keys; otherwise each output is named after the layer that
    makes it, or, when a nested model makes it, after that model's output (so a model wrapping a core
    model with one output `label` has the output `label`, not the core model's name).
    """
    import keras

    if isinstance(model.output, dict):
        return dict(model.output)
    return {producer(tensor)[1]: tensor for tensor in keras.tree.flatten(model.output)}


def producer(tensor) -> tuple[object, str]:
    """(layer, output name) of the innermost layer that makes `tensor`, looking inside nested models."""
    import keras

    # Keras 3 (3.0 to 3.15 at least) has no public API for the operation that made a symbolic tensor;
    # `_keras_history` is what its functional models read themselves.
    operation, _, index = tensor._keras_history
    if not _is_functional(operation):
        return operation, operation.name
    path, inner = keras.tree.flatten_with_path(operation.output)[index]
    layer, name = producer(inner)
    return layer, str(path[0]) if isinstance(operation.output, dict) else name


def _is_functional(operation) -> bool:
    # A functional (or sequential) model nested as a layer: Keras 3 (to 3.15 at least) exports no public
    # class or flag for it, and `_nodes_by_depth` is set only on graph networks.
    return hasattr(operation, "_nodes_by_depth") and hasattr(operation, "layers")


def all_layers(model):
    """Every layer of the model, descending into nested functional models (which are listed too)."""
    for layer in model.layers:
        yield layer
        if _is_functional(layer):
            yield from all_layers(layer)


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
    # Keras 3 (to 3.15 at least) has no public API for a functional model's graph of nodes; `_nodes_by_depth`
    # is what its own `Functional` walks to call and to clone a model.
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            if node.operation is not None and not node.is_input and any(
                    x is tensor for x in node.input_tensors):
                readers.append(node.operation)
    return readers


def rebuild(model, cut: dict[str, object] | None = None,
            replace: Callable[[object], object | None] | None = None):
    """Return a model computing the same outputs with the given changes.

    The new model takes and returns the same structure (dict, list or single tensor) as `model`.

    Args:
        model: a Keras functional model.
        cut: feature -> encoder layer to leave out; the new model's input of that name takes the
            encoder's output (its shape and dtype). Default: none.
        replace: called with each layer (nested functional models included); returns a layer to use
            instead, or None to keep it. An unbuilt replacement gets the original's weights once built.
            Default: keep every layer.
    """
    import keras

    cut = cut or {}
    known: dict[int, object] = {}  # id of a tensor of `model` -> its counterpart in the new model
    new_inputs: dict[int, object] = {}
    for tensor in model.inputs:
        source = cut[tensor.name].output if tensor.name in cut else tensor
        new_inputs[id(tensor)] = known[id(source)] = keras.Input(
            shape=tuple(source.shape[1:]), dtype=source.dtype, name=tensor.name)
    swapped: list[tuple[object, object]] = []
    # The graph's nodes by depth: no public Keras 3 API (to 3.15 at least) gives them, see `_readers`.
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            if any(id(x) not in known for x in node.input_tensors):
                continue  # reads a cut-off string input only
            operation = node.operation
            new_operation = replace(operation) if replace is not None else None
            if new_operation is not None:
                if not new_operation.built:
                    swapped.append((operation, new_operation))
                operation = new_operation
            args, kwargs = node.arguments.fill_in(known)
            results = operation(*args, **kwargs)
            for reference, value in zip(node.outputs, keras.tree.flatten(results)):
                known[id(reference)] = value
    inputs = keras.tree.map_structure(lambda tensor: new_inputs[id(tensor)], model.input)
    outputs = keras.tree.map_structure(lambda tensor: known[id(tensor)], model.output)
    rebuilt = keras.Model(inputs, outputs, name=model.name)
    for original, new in swapped:
        new.set_weights(original.get_weights())
    return rebuilt


def unrolled(layer):
    """An unrolled copy of a recurrent layer (or of a Bidirectional wrapper of one, or of a nested functional
    model holding one), or None for other layers.

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
    if _is_functional(layer) and recurrent_layers(layer):
        return rebuild(layer, replace=unrolled)
    return None


def recurrent_layers(model) -> list:
    """The recurrent layers (and Bidirectional wrappers) `unrolled` would replace, nested models included."""
    return [layer for layer in all_layers(model) if _rolled(layer)]


def _rolled(layer) -> bool:
    if type(layer).__name__ == "Bidirectional":
        layer = layer.forward_layer
    return type(layer).__name__ in RECURRENT_CLASSES and not layer.unroll
