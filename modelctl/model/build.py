"""Compile a validated spec's `model` section into a Keras 3 functional model.

    document = load_spec("specs/resnet-cnn.yaml")
    model = build_model(document)

A layer that cannot take its input is reported at the spec line of the layer,
with the shapes involved and a hint, never with a TensorFlow traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelctl.errors import SpecError
from modelctl.registry import values
from modelctl.model.inputs import InputShapeError, InputSpec, model_inputs
from modelctl.registry.base import Entry
from modelctl.spec.graph import Graph, Node, expand
from modelctl.spec.loader import Document

MERGE_KINDS = {"add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"}
"""Layers called with a list of tensors."""

ATTENTION_KINDS = {"multi_head_attention"}
"""Layers called as `layer(query, value[, key])`; one input means self-attention."""

LIST_ATTENTION_KINDS = {"attention", "additive_attention"}
"""Layers called as `layer([query, value[, key]])`; one input means self-attention."""


def build_model(document: Document, inputs: list[InputSpec] | None = None):
    """Build the Keras model of a validated spec.

    Args:
        document: the loaded, valid spec.
        inputs: the model's input specs; by default derived from `model.inputs` or the data features.

    Raises:
        SpecError: a layer cannot be built or cannot take its input (reported at the layer's line).
    """
    return Builder(document, inputs).build()


def format_shape(shape: Any) -> str:
    dims = ["None" if dim is None else str(dim) for dim in tuple(shape)]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


class Builder:
    def __init__(self, document: Document, inputs: list[InputSpec] | None = None):
        from modelctl.registry.layers import LAYERS

        self.document = document
        self.spec = document.spec
        self.layers = LAYERS
        self.seed = self.spec.seed
        try:
            self.inputs = inputs if inputs is not None else model_inputs(self.spec, document.base_dir)
        except InputShapeError as error:
            raise SpecError([document.diagnostic(("data", "features", error.feature), str(error))]) from None
        labels = list(self.spec.label_types())
        self.graph: Graph = expand(self.spec.model.as_dict(), [spec.name for spec in self.inputs], LAYERS,
                                   labels=labels)
        self.default_regularizer = self.spec.training.regularization

    def build(self):
        """Build the Keras model, once its weights are known to fit in memory.

        Raises:
            SpecError: a layer cannot be built or take its input, or the weights do not fit in this machine's
                memory (at the line of each layer that does not fit, or of the largest one).
        """
        import concurrent.futures

        from modelctl.util.tf import tensorflow

        tf = tensorflow()

        def check_in_scratch_graph():
            with tf.Graph().as_default():  # variables made in a scratch graph have shapes, not memory
                self.check_memory(self.make_model())

        # Keras keeps its naming counters, seeds and scopes per thread: a thread of its own leaves the model
        # built next exactly as it would be without the check.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(check_in_scratch_graph).result()
        return self.make_model()

    def check_memory(self, model) -> None:
        from modelctl.model.memory import machine_memory, oversized, weight_bytes, weight_size
        from modelctl.model.summary import human_bytes

        sizes = {layer.name: sum(weight_bytes(weight) for weight in layer.weights) for layer in model.layers}
        limit = machine_memory()
        total = sum(sizes.values())
        problems = []
        for name in oversized(sizes, limit):
            layer = model.get_layer(name)
            count = sum(weight_size(weight) for weight in layer.weights)
            node = self.graph.node(name)
            problems.append(self.document.diagnostic(
                node.path if node else ("model", "layers"),
                f"the weights of '{name}' do not fit in memory: they take {human_bytes(sizes[name])} "
                f"({count:,} parameters) of the model's {human_bytes(total)}, and this machine has "
                f"{human_bytes(limit)}. Make the layer smaller (such as fewer units, filters or input_dim)"))
        if problems:
            raise SpecError(problems)

    def make_model(self):
        """The Keras model of the graph: an input per model input, a layer per node."""
        import keras

        keras.utils.set_random_seed(self.seed)
        self.tensors = tensors = {spec.name: keras.Input(shape=spec.shape, dtype=spec.dtype, name=spec.name)
                                  for spec in self.inputs}
        for node in self.graph.nodes:
            entry = self.layers.get(node.kind)
            sources = [tensors[name] for name in node.inputs]
            layer = self.make_layer(node, entry, sources)
            tensors[node.name] = self.call(node, entry, layer, sources)
        outputs = [tensors[name] for name in self.graph.outputs]
        self.check_outputs(outputs)
        model_inputs = [tensors[spec.name] for spec in self.inputs]
        return keras.Model(inputs=model_inputs if len(model_inputs) > 1 else model_inputs[0],
                           outputs=outputs if len(outputs) > 1 else outputs[0],
                           name=self.spec.name.replace("-", "_").replace(".", "_"))

    def fail(self, path: tuple, message: str) -> SpecError:
        return SpecError([self.document.diagnostic(path, message)])

    def wrapped(self, node: Node, written: dict):
        """Build a wrapped layer such as bidirectional's `layer: {lstm: {units: 32}}`."""
        (kind, args), = written.items()
        entry = self.layers.get(kind)
        keyword = values.keras_arguments(entry, entry.arguments(args), self.seed,
                                         build_layer=lambda inner: self.wrapped(node, inner))
        return entry.load()(**keyword)

    def make_layer(self, node: Node, entry: Entry, sources: list):
        args = dict(node.args)
        if self.default_regularizer and "kernel_regularizer" in entry.args and args.get("kernel_regularizer") is None:
            args["kernel_regularizer"] = self.default_regularizer
        try:
            keyword = values.keras_arguments(entry, args, self.seed, build_layer=lambda inner: self.wrapped(node,
                                                                                                            inner))
        except values.ArgumentError as error:
            raise self.fail(node.arg_paths.get(error.argument, node.path), str(error)) from None
        weights = keyword.get("weights") if node.kind == "backbone" else None
        if isinstance(weights, str) and weights != "imagenet" and not Path(weights).is_absolute():
            keyword["weights"] = str(self.document.base_dir / weights)  # as written: relative to the spec
        if entry.meta.get("needs_input_shape") and sources:
            keyword["input_shape"] = tuple(sources[0].shape[1:])
        keyword["name"] = node.name
        try:
            return entry.load()(**keyword)
        except (ValueError, TypeError) as error:
            raise self.fail(node.path + (node.kind,), f"{node.kind} cannot be built: {_first_line(error)}") from None

    def call(self, node: Node, entry: Entry, layer, sources: list):
        self.check_rank(node, entry, sources)
        try:
            if node.kind in MERGE_KINDS:
                if len(sources) < 2:
                    raise self.fail(node.path, f"{node.kind} joins several tensors but reads only "
                                               f"{len(sources)}; list them in `inputs`, such as "
                                               "`inputs: [stem, previous]`")
                return layer(sources)
            if node.kind in ATTENTION_KINDS:
                query, value, *key = sources if len(sources) > 1 else sources * 2
                return layer(query, value, *key)
            if node.kind in LIST_ATTENTION_KINDS:
                return layer(sources if len(sources) > 1 else sources * 2)
            if len(sources) != 1:
                raise self.fail(node.path + ("inputs",), f"{node.kind} reads one input but `inputs` names "
                                                         f"{len(sources)}; join them first (concatenate, add)")
            return layer(sources[0])
        except SpecError:
            raise
        except Exception as error:  # Keras raises many types for a shape that does not fit
            shapes = " and ".join(f"{format_shape(t.shape)} from '{name}'" for t, name in zip(sources, node.inputs))
            raise self.fail(node.path, f"{node.kind} cannot take its input {shapes}: {_first_line(error)}") from None

    def check_rank(self, node: Node, entry: Entry, sources: list) -> None:
        rank = entry.meta.get("input_rank")
        if not rank or not sources:
            return
        actual = len(sources[0].shape)
        if actual == rank:
            return
        shape = format_shape(sources[0].shape)
        if actual > rank:
            hint = "add flatten or a global pooling layer before it" if rank == 2 else \
                "add reshape, flatten or a pooling layer before it to change the rank"
        else:
            hint = "add reshape before it (for example `reshape: [8, 8, 1]`)" if rank >= 4 else \
                "add reshape or embedding before it to make a sequence"
        raise self.fail(node.path, f"{node.kind} expects a rank-{rank} input but gets {shape} from "
                                   f"'{node.inputs[0]}'; {hint}")

    def check_outputs(self, outputs: list) -> None:
        """A per-example label needs a (batch, units) output: catch dense on images or sequences."""
        if not self.spec.label_types():
            return
        for name, tensor in zip(self.graph.outputs, outputs):
            if len(tensor.shape) <= 2:
                continue
            node = self._first_dense_on_high_rank(name)
            if node is not None:
                shape = format_shape(self.tensors[node.inputs[0]].shape)
                raise self.fail(node.path, f"dense expects a rank-2 input but gets {shape} from "
                                           f"'{node.inputs[0]}'; add flatten or global_average_pooling2d before it")
            raise self.fail(("model", "layers"), f"output '{name}' has shape {format_shape(tensor.shape)}; a label "
                                                 "needs (None, units): add flatten or a global pooling layer")

    def _first_dense_on_high_rank(self, output: str) -> Node | None:
        """The earliest dense layer on the output's path that reads a tensor of rank > 2."""
        chain = []
        node = self.graph.node(output)
        while node is not None:
            chain.append(node)
            node = self.graph.node(node.inputs[0]) if node.inputs else None
        for node in reversed(chain):
            if node.kind == "dense" and len(self.tensors[node.inputs[0]].shape) > 2:
                return node
        return None


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
