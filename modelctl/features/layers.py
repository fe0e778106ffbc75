"""The Keras layers feature types put in front of the core model, beyond Keras's own.

    NumericPreprocessing(steps, shape=[8, 8, 1], name="pixels_preprocess")   # fitted numeric steps, in the model
    augmentation_layers("pixels", [{"random_flip": {"mode": "horizontal"}}], seed=0)

`NumericPreprocessing` is saved in `.keras` files as `modelctl>NumericPreprocessing`;
importing this module registers it, so `modelctl.model.saving` imports it before
reading a file.
"""

from __future__ import annotations

import math

from modelctl.util.tf import tensorflow

tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)
from keras import ops  # noqa: E402

from modelctl.registry import values  # noqa: E402
from modelctl.registry.layers import LAYERS  # noqa: E402


@keras.saving.register_keras_serializable(package="modelctl")
class NumericPreprocessing(keras.layers.Layer):
    """Applies fitted numeric steps (see `modelctl.features.numeric_steps`) and reshapes each example.

    Args:
        steps: fitted steps, each a mapping with `op` one of fill, log, clip, standardize, min_max, rescale.
        shape: shape each example is reshaped to; default None keeps the input's shape.
    """

    def __init__(self, steps: list[dict], shape: list[int] | None = None, **kwargs):
        super().__init__(**kwargs)
        self.steps = [dict(step) for step in steps]
        self.shape = None if shape is None else [int(size) for size in shape]

    def call(self, inputs):
        values = ops.cast(inputs, "float32")
        for step in self.steps:
            op = step["op"]
            if op == "fill":
                values = ops.where(ops.isnan(values), ops.convert_to_tensor(step["values"], "float32"), values)
            elif op == "log":
                values = ops.log1p(values)
            elif op == "clip":
                low = -math.inf if step["min"] is None else float(step["min"])
                high = math.inf if step["max"] is None else float(step["max"])
                values = ops.clip(values, low, high)
            elif op == "standardize":
                values = (values - ops.convert_to_tensor(step["mean"], "float32")) \
                    / ops.convert_to_tensor(step["std"], "float32")
            elif op == "min_max":
                low = ops.convert_to_tensor(step["min"], "float32")
                values = (values - low) / (ops.convert_to_tensor(step["max"], "float32") - low)
            elif op == "rescale":
                values = values * float(step["factor"])
        if self.shape is not None:
            values = ops.reshape(values, (-1, *self.shape))
        return values

    def compute_output_shape(self, input_shape):
        if self.shape is not None:
            return (input_shape[0], *self.shape)
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "steps": self.steps, "shape": self.shape}


def augmentation_layers(name: str, written: list[dict], seed: int) -> list:
    """Keras random layers from the spec's `augmentation` list (`- random_flip: {mode: horizontal}`)."""
    layers = []
    for index, item in enumerate(written):
        (kind, args), = item.items()
        entry = LAYERS.get(kind)
        keyword = values.keras_arguments(entry, entry.arguments(args), seed + index, build_layer=lambda inner: None)
        keyword["name"] = f"{name}_augment_{index}"
        layers.append(entry.load()(**keyword))
    return layers


__all__ = ["NumericPreprocessing", "augmentation_layers"]
