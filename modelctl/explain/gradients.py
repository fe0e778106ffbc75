"""Integrated gradients: each input's share of one example's output, with TensorFlow's gradients.

    explained = integrated_gradients(model, features, fitted, steps=50)
    explained[0].inputs["measurements"]     # one attribution per value the core model takes
    explained[0].score - explained[0].baseline_score  # ~ the sum of every attribution (completeness)

The attributions are taken at the inputs of the core model (the model the spec's `model` section builds),
after the preprocessing the run's model holds, because string lookups and tokenizers have no
gradient. For each example the output explained is its top class's probability (categorical, multi_label),
the positive class's probability (binary) or the first output (regression), of the model's first label.

The baseline is zero at every core input: for a standardized numeric feature that is its training mean, for
a rescaled image a black image, for a one-hot category or a bag of words no value at all. An integer input
(token ids, a category's index) is attributed at the output of the `Embedding` layer that takes it (or the
`token_embedding` of the layer that takes it, as in the `positional_embedding` block, whose position
embeddings stay in the baseline), with an all-zero token embedding as its baseline: the embedding table is
scaled from 0 to its trained values along the path, so the gradient of each table row gives the share of the
token it embeds, and a token that occurs several times in an example has its share divided evenly between its
positions. An integer input that no such layer takes cannot be attributed: `ExplainError`.

The path integral is a midpoint Riemann sum over `steps` points. Completeness (the attributions of an
example sum to its output minus the baseline's output) holds up to that sum's error; `gap` reports it per
example.
"""

from __future__ import annotations

import dataclasses

from modelctl.util.lazy import numpy as np

from modelctl.explain.errors import ExplainError


@dataclasses.dataclass
class Explained:
    """Integrated gradients of one example.

    Args:
        row: the example's position in the explained examples (0-based).
        column: the output column explained (its class index; 0 for binary and regression).
        score: the output explained, on the example.
        baseline_score: the same output on the baseline.
        inputs: core input name -> attributions, shaped as the core model's input (token positions for
            integer inputs).
        values: core input name -> the example's core input (after preprocessing), the same shape.
    """

    row: int
    column: int
    score: float
    baseline_score: float
    inputs: dict[str, np.ndarray]
    values: dict[str, np.ndarray]

    @property
    def gap(self) -> float:
        """Sum of the attributions minus (score - baseline_score): 0 for an exact path integral."""
        total = sum(float(np.sum(values)) for values in self.inputs.values())
        return total - (self.score - self.baseline_score)


def core_of(model):
    """The core model inside a run's model (the nested `keras.Model` the preprocessing layers feed).

    Raises:
        ExplainError: the model holds none, or several.
    """
    import keras

    cores = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if len(cores) != 1:
        raise ExplainError(f"integrated gradients need the run's model as `modelctl train` saves it, preprocessing "
                           f"layers in front of one core model; this one holds {len(cores)} nested models. "
                           "Use --method permutation")
    return cores[0]


def core_inputs(core, features: dict, fitted) -> dict[str, np.ndarray]:
    """Core input name -> what the preprocessing gives for the raw `features` (inference mode: augmentation
    layers leave values as they are), in the dtype the core model's input has (a one-hot lookup gives integers
    that a float input takes)."""
    from modelctl.model.preprocessing import feature_layers

    values = {}
    for tensor in core.inputs:
        name = tensor.name
        output = features[name].astype(str) if features[name].dtype == object else features[name]
        for layer in feature_layers(name, fitted.features[name].entry):
            output = layer(output, training=False) if _takes_training(layer) else layer(output)
        values[name] = np.asarray(output).astype(str(tensor.dtype))
    return values


def _takes_training(layer) -> bool:
    import inspect

    return "training" in inspect.signature(layer.call).parameters


def target_columns(scores: np.ndarray, label_type: str) -> np.ndarray:
    """The output column explained for each example (see the module docstring)."""
    from modelctl.features import label_type as kind_of

    scores = np.asarray(scores).reshape(len(scores), -1)
    kind = kind_of(label_type)
    if kind.classifies and kind.positive_class is None and scores.shape[1] > 1:
        return scores.argmax(axis=1)
    return np.zeros(len(scores), dtype=int)


def embedding_of(core, name: str):
    """The `keras.layers.Embedding` whose table embeds `core`'s integer input `name`: the layer that takes the
    input, or the `token_embedding` of a layer that has one (the `positional_embedding` block); None when there
    is none."""
    import keras

    for layer in core.layers:
        try:
            source = layer.input
        except (AttributeError, ValueError):
            continue
        if getattr(source, "name", None) != name:
            continue
        if isinstance(layer, keras.layers.Embedding):
            return layer
        inner = getattr(layer, "token_embedding", None)
        if isinstance(inner, keras.layers.Embedding):
            return inner
    return None


def _first_output(outputs):
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    elif isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return outputs


def integrated_gradients(model, features: dict, fitted, *, steps: int = 50) -> list[Explained]:
    """Integrated gradients of each example of `features` (see the module docstring).

    Args:
        model: the run's model (raw features in).
        features: feature name -> raw values of the examples to explain.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`).
        steps: points of the path integral, at least 1; default 50.

    Raises:
        ExplainError: an integer input that no embedding layer takes, or a model without one core model.
    """
    import tensorflow as tf

    core = core_of(model)
    names = [tensor.name for tensor in core.inputs]
    values = core_inputs(core, features, fitted)
    embeddings = {}
    for name in names:
        if not np.issubdtype(values[name].dtype, np.floating):
            layer = embedding_of(core, name)
            if layer is None:
                raise ExplainError(f"integrated gradients: feature '{name}' reaches the model as integers "
                                   f"(dtype {values[name].dtype}) that no embedding layer takes, so they have no "
                                   "gradient. Use --method permutation")
            embeddings[name] = layer
    first = _first_output(core([values[name] for name in names] if len(names) > 1 else values[names[0]],
                               training=False))
    columns = target_columns(np.asarray(first), fitted.first_label.type)
    alphas = (np.arange(steps, dtype=np.float32) + 0.5) / steps
    tables = {name: tf.identity(layer.embeddings) for name, layer in embeddings.items()}
    explained = []
    try:
        step = _step_function(core, names=names, embeddings=embeddings, tables=tables) if embeddings else None
        for row in range(len(columns)):
            example = {name: values[name][row:row + 1] for name in names}
            column = int(columns[row])
            if step is not None:
                inputs = _stepwise(step, example, names=names, embeddings=embeddings, tables=tables, alphas=alphas,
                                   column=column)
                score = _stepped_output(step, example, alpha=1.0, column=column)
                baseline = _stepped_output(step, example, alpha=0.0, column=column)
            else:
                inputs = _batched(core, example, names=names, alphas=alphas, column=column)
                score = _output(core, example, names=names, alpha=1.0, column=column)
                baseline = _output(core, example, names=names, alpha=0.0, column=column)
            explained.append(Explained(row=row, column=column, score=score, baseline_score=baseline, inputs=inputs,
                                       values={name: example[name][0] for name in names}))
    finally:
        for name, layer in embeddings.items():
            layer.embeddings.assign(tables[name])
    return explained


def _call(core, names: list[str], inputs: list):
    return _first_output(core(inputs if len(names) > 1 else inputs[0], training=False))


def _target(outputs, column: int):
    import tensorflow as tf

    return tf.reshape(outputs, (tf.shape(outputs)[0], -1))[:, column]


def _output(core, example, *, names, alpha: float, column: int) -> float:
    inputs = [example[name] * alpha for name in names]
    return float(_target(_call(core, names, inputs), column)[0])


def _stepped_output(step, example, *, alpha: float, column: int) -> float:
    import tensorflow as tf

    total, _, _ = step(tf.constant(alpha, tf.float32), {name: tf.constant(value) for name, value in example.items()},
                       tf.constant(column))
    return float(total)


def _batched(core, example, *, names, alphas, column: int) -> dict[str, np.ndarray]:
    """Every point of the path in one batch: the model has no embedding to scale."""
    import tensorflow as tf

    path = [tf.constant(alphas.reshape((-1,) + (1,) * (example[name].ndim - 1)) * example[name], tf.float32)
            for name in names]
    with tf.GradientTape() as tape:
        tape.watch(path)
        total = tf.reduce_sum(_target(_call(core, names, path), column))
    gradients = tape.gradient(total, path)
    # None: the input does not reach the output (a model that ignores it); its attributions are zero.
    return {name: example[name][0] * (0.0 if gradient is None else np.asarray(gradient).mean(axis=0))
            for name, gradient in zip(names, gradients)}


def _stepwise(step, example, *, names, embeddings, tables, alphas, column: int) -> dict[str, np.ndarray]:
    """One point of the path at a time: each scales the embedding tables, which a batch shares. One traced
    function computes a point (eager recurrent layers take about a second a call)."""
    import tensorflow as tf

    floats = [name for name in names if name not in embeddings]
    sums = {name: np.zeros(example[name].shape[1:], dtype=np.float64) for name in floats}
    rows = {name: np.zeros(tables[name].shape, dtype=np.float64) for name in embeddings}
    constants = {name: tf.constant(example[name]) for name in names}
    for alpha in alphas:
        _, float_gradients, row_gradients = step(tf.constant(alpha), constants, tf.constant(column))
        for name, gradient in zip(floats, float_gradients):
            if gradient is not None:  # None: the input does not reach the output
                sums[name] += np.asarray(gradient)[0]
        for name, gradient in zip(embeddings, row_gradients):
            rows[name] += np.asarray(gradient)
    inputs = {name: example[name][0] * sums[name] / len(alphas) for name in floats}
    for name in embeddings:
        per_token = (rows[name] / len(alphas) * np.asarray(tables[name])).sum(axis=1)
        ids = example[name][0].reshape(-1).astype(int)
        counts = np.bincount(ids, minlength=len(per_token))
        inputs[name] = (per_token[ids] / counts[ids]).reshape(example[name][0].shape)
    return inputs


def _step_function(core, *, names, embeddings, tables):
    import tensorflow as tf

    floats = [name for name in names if name not in embeddings]

    @tf.function(reduce_retracing=True)
    def step(alpha, example, column):
        for name, layer in embeddings.items():
            layer.embeddings.assign(tables[name] * alpha)
        scaled = {name: tf.cast(example[name], tf.float32) * alpha for name in floats}
        with tf.GradientTape() as tape:
            tape.watch(list(scaled.values()))
            inputs = [scaled[name] if name in scaled else example[name] for name in names]
            total = tf.reduce_sum(_target(_call(core, names, inputs), column))
        gradients = tape.gradient(total, [*scaled.values(), *(layer.embeddings for layer in embeddings.values())])
        dense = [tf.zeros_like(tables[name]) if gradient is None else tf.convert_to_tensor(gradient)
                 for name, gradient in zip(embeddings, gradients[len(floats):])]
        return total, gradients[:len(floats)], dense

    return step


__all__ = ["Explained", "core_inputs", "core_of", "embedding_of", "integrated_gradients", "target_columns"]
