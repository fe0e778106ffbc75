"""The residual block of ResNet for images: two convolutions and a shortcut around them."""

from __future__ import annotations

import keras

from modelctl.model.blocks import _checks


@keras.saving.register_keras_serializable(package="modelctl")
class ResidualConvBlock(keras.layers.Layer):
    """Two 2D convolutions with a shortcut from the input added to their output.

        y = activation(BN(conv2(activation(BN(conv1(x))))) + shortcut(x))

    `conv1` has `strides`, `conv2` stride 1, both `padding="same"`. The shortcut is the
    input itself when the shape is unchanged, otherwise a 1x1 convolution with `strides`
    (and batch normalization) that projects it to `filters` channels and the new size.
    Convolutions followed by batch normalization have no bias (the normalization's
    offset takes its place). Images are channels-last: `(batch, height, width, channels)`.

    Args:
        filters: number of output channels, an integer >= 1. Required.
        kernel_size: size of both convolution windows, an integer >= 1 or a list of two. Default 3.
        strides: stride of the first convolution and the shortcut, an integer >= 1 or a list of two;
            2 halves the height and width. Default 1.
        activation: activation after the first convolution and after the sum, a Keras activation name.
            Default "relu".
        batch_norm: whether each convolution is followed by batch normalization. Default True.
        momentum: momentum of the batch normalizations' moving statistics, a number in [0, 1]. Default 0.99.
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`).
    """

    def __init__(self, filters, kernel_size=3, strides=1, *, activation="relu", batch_norm=True, momentum=0.99,
                 **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.filters = _checks.positive_int(owner, "filters", filters)
        self.kernel_size = _checks.pair(owner, "kernel_size", kernel_size)
        self.strides = _checks.pair(owner, "strides", strides)
        self.activation = activation
        self._activation = _checks.activation(owner, "activation", activation)
        if not isinstance(batch_norm, bool):
            raise ValueError(f"Invalid value for argument `batch_norm` of {owner}. Expected true or false. "
                             f"Received: batch_norm={batch_norm!r}")
        self.batch_norm = batch_norm
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ValueError(f"Invalid value for argument `momentum` of {owner}. Expected a number in [0, 1]. "
                             f"Received: momentum={momentum!r}")
        self.momentum = float(momentum)

        self.conv1 = self._make_conv("conv1", self.kernel_size, self.strides)
        self.norm1 = self._make_norm("norm1")
        self.conv2 = self._make_conv("conv2", self.kernel_size, 1)
        self.norm2 = self._make_norm("norm2")
        self.projection = None  # whether one is needed depends on the input's channels, known in build()
        self.projection_norm = None

    def _make_conv(self, name, kernel_size, strides):
        return keras.layers.Conv2D(self.filters, kernel_size, strides=strides, padding="same",
                                   use_bias=not self.batch_norm, dtype=self.dtype_policy, name=name)

    def _make_norm(self, name):
        if not self.batch_norm:
            return None
        return keras.layers.BatchNormalization(momentum=self.momentum, dtype=self.dtype_policy, name=name)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 4 or input_shape[-1] is None:
            raise ValueError(f"{type(self).__name__} expects images (batch, height, width, channels) with a known "
                             f"number of channels. Received: input_shape={input_shape}")
        self.conv1.build(input_shape)
        inner_shape = self.conv1.compute_output_shape(input_shape)
        self.conv2.build(inner_shape)
        if self.batch_norm:
            self.norm1.build(inner_shape)
            self.norm2.build(inner_shape)
        if self.strides != (1, 1) or input_shape[-1] != self.filters:
            self.projection = self._make_conv("projection", (1, 1), self.strides)
            self.projection.build(input_shape)
            self.projection_norm = self._make_norm("projection_norm")
            if self.projection_norm is not None:
                self.projection_norm.build(inner_shape)
        self.built = True

    def call(self, inputs, training=None):
        x = self.conv1(inputs)
        if self.norm1 is not None:
            x = self.norm1(x, training=training)
        x = self._activation(x)
        x = self.conv2(x)
        if self.norm2 is not None:
            x = self.norm2(x, training=training)
        shortcut = inputs
        if self.projection is not None:
            shortcut = self.projection(inputs)
            if self.projection_norm is not None:
                shortcut = self.projection_norm(shortcut, training=training)
        return self._activation(x + shortcut)

    def compute_output_shape(self, input_shape):
        return self.conv1.compute_output_shape(tuple(input_shape))

    def get_config(self):
        config = super().get_config()
        config.update({
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "activation": self.activation,
            "batch_norm": self.batch_norm,
            "momentum": self.momentum,
        })
        return config
