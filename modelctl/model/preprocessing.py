"""The fitted preprocessing as Keras layers, so that a trained model takes raw values.

    model = assemble(core, fitted)          # fitted: the run's `modelctl.runs.Fitted`

`assemble` puts the preprocessing layers of each feature's type in front of
each input of the core model (the model the spec's `model` section builds); each
type's module in `modelctl.features` says which layers, named after the feature
(`<name>_preprocess`, `<name>_lookup`, `<name>_vectorize`). Numeric and image
features take their `augmentation` layers after their preprocessing.

Augmentation layers are Keras random layers: active in training, the identity
otherwise. The assembled model's inputs are named after the features and its
outputs after the core model's outputs (a dict when there are several).
"""

from __future__ import annotations

from typing import Any

from modelctl.util.tf import tensorflow

tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)


def feature_layers(name: str, entry: dict, *, seed: int = 0) -> list:
    """The layers that turn feature `name`'s raw input into what the core model takes, in order: those its
    feature type gives (`FeatureType.layers`) for its fitted `entry` (`modelctl.runs.FittedFeature.entry`)."""
    from modelctl.features import fitted_type

    return fitted_type(entry).layers(name, entry, seed=seed)


def raw_input(name: str, entry: dict):
    """The `keras.Input` a feature's raw values come in through (`FeatureType.raw_input`), for its fitted
    `entry`."""
    from modelctl.features import fitted_type

    return fitted_type(entry).raw_input(name, entry)


def assemble(core, fitted, seed: int = 0):
    """The model that takes raw features: preprocessing layers in front of `core`.

    Args:
        core: the Keras model the spec's `model` section builds; its inputs are named after the features.
        fitted: the fitted preprocessing (`modelctl.runs.Fitted`).
        seed: seed of the augmentation layers.
    """
    features = {name: feature.entry for name, feature in fitted.features.items()}
    inputs = {name: raw_input(name, entry) for name, entry in features.items()}
    prepared: dict[str, Any] = {}
    for name, entry in features.items():
        tensor = inputs[name]
        for layer in feature_layers(name, entry, seed=seed):
            tensor = layer(tensor)
        prepared[name] = tensor
    ordered = [prepared[tensor.name] for tensor in core.inputs]
    outputs = core(ordered if len(ordered) > 1 else ordered[0])
    names = list(core.output_names)
    if keras.mixed_precision.global_policy().compute_dtype != "float32":
        # Under a mixed policy the last layers compute in float16/bfloat16; the outputs the loss and every
        # exported file see stay float32.
        outputs = keras.tree.map_structure(
            lambda tensor: keras.layers.Activation("linear", dtype="float32", name=None)(tensor), outputs)
    if len(names) > 1:
        outputs = dict(zip(names, outputs))
    return keras.Model(inputs=inputs, outputs=outputs, name=core.name)


def predict_raw(model, features: dict, batch_size: int = 256):
    """The model's outputs on raw features, numpy in and out; string features may be object arrays of str.

    Returns an array, or a dict of arrays for a model with several outputs.
    """
    import numpy as np
    import tensorflow as tf

    count = len(next(iter(features.values())))
    chunks = []
    for start in range(0, count, batch_size):
        batch = {}
        for name, values in features.items():
            part = values[start:start + batch_size]
            batch[name] = tf.constant(part.astype(str) if part.dtype == object else part)
        outputs = model(batch, training=False)
        chunks.append(keras.tree.map_structure(lambda tensor: np.asarray(tensor), outputs))
    if not chunks:
        raise ValueError("predict_raw needs at least one example")
    return keras.tree.map_structure(lambda *parts: np.concatenate(parts), *chunks)


def scores_by_label(predictions, labels: list[str]) -> dict:
    """Model outputs (from `predict_raw`) keyed by label; outputs come in the order of `data.labels`."""
    if isinstance(predictions, dict):
        return dict(zip(labels, predictions.values()))
    return {labels[0]: predictions}


__all__ = ["assemble", "feature_layers", "predict_raw", "raw_input", "scores_by_label"]
