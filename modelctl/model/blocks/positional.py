"""Position information for sequence models, with or without the token embedding in front of it."""

from __future__ import annotations

import keras
from keras import ops

from modelctl.model.blocks import _checks

MODES = ("learned", "sinusoidal")


@keras.saving.register_keras_serializable(package="modelctl")
class PositionalEmbedding(keras.layers.Layer):
    """Adds an encoding of each step's position to a sequence.

    With `input_dim` the input is a sequence of token ids `(batch, sequence)`: each id
    is embedded and its position's vector is added, giving `(batch, sequence,
    output_dim)`, the usual front of a text transformer. Without it the input is
    already a sequence of vectors `(batch, sequence, output_dim)` and the position
    vectors are added to it.

    Sequences may be shorter than `sequence_length`; the first positions are used.

    Args:
        sequence_length: the longest sequence the layer takes, an integer >= 1. Required.
        output_dim: size of each vector, an integer >= 1; without `input_dim` it must equal the
            input's last axis. Required.
        mode: "learned" (a trained vector per position) or "sinusoidal" (the fixed sine and cosine
            encoding of the original transformer, no weights). Default "learned".
        input_dim: vocabulary size, an integer >= 1: token ids are in [0, input_dim). None (the default)
            when the input is already embedded.
        mask_zero: with `input_dim`, whether token id 0 is padding, masked for the following layers
            (the vocabulary must then leave 0 unused). Default False.
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`).
    """

    def __init__(self, sequence_length, output_dim, mode="learned", *, input_dim=None, mask_zero=False, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.sequence_length = _checks.positive_int(owner, "sequence_length", sequence_length)
        self.output_dim = _checks.positive_int(owner, "output_dim", output_dim)
        self.mode = _checks.one_of(owner, "mode", mode, allowed=MODES)
        self.input_dim = None if input_dim is None else _checks.positive_int(owner, "input_dim", input_dim)
        if not isinstance(mask_zero, bool):
            raise ValueError(f"Invalid value for argument `mask_zero` of {owner}. Expected true or false. "
                             f"Received: mask_zero={mask_zero!r}")
        if mask_zero and input_dim is None:
            raise ValueError(f"Argument `mask_zero` of {owner} needs `input_dim`: only token ids can be padding. "
                             f"Received: mask_zero=True, input_dim=None")
        self.mask_zero = mask_zero
        self.supports_masking = True
        self.token_embedding = None
        if self.input_dim is not None:
            self.token_embedding = keras.layers.Embedding(self.input_dim, self.output_dim, mask_zero=mask_zero,
                                                          dtype=self.dtype_policy, name="token_embedding")
        self.position_embeddings = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        owner = type(self).__name__
        if self.input_dim is not None:
            if len(input_shape) != 2:
                raise ValueError(f"{owner} with `input_dim` expects token ids (batch, sequence). "
                                 f"Received: input_shape={input_shape}")
            self.token_embedding.build(input_shape)
        elif len(input_shape) != 3 or input_shape[-1] != self.output_dim:
            raise ValueError(f"{owner} without `input_dim` expects vectors (batch, sequence, {self.output_dim}) "
                             f"(the last axis equal to output_dim={self.output_dim}). "
                             f"Received: input_shape={input_shape}")
        length = input_shape[1]
        if length is not None and length > self.sequence_length:
            raise ValueError(f"{owner} takes sequences of at most sequence_length={self.sequence_length} steps. "
                             f"Received: input_shape={input_shape}")
        if self.mode == "learned":
            self.position_embeddings = self.add_weight(
                shape=(self.sequence_length, self.output_dim), initializer="random_uniform",
                name="position_embeddings")
        self.built = True

    def call(self, inputs):
        if self.token_embedding is not None:
            vectors = self.token_embedding(inputs)
        else:
            vectors = inputs
        length = ops.shape(vectors)[1]
        positions = self._positions(length)
        return vectors + ops.cast(positions, vectors.dtype)[None, :, :]

    def _positions(self, length):
        """The `(length, output_dim)` position vectors."""
        if self.mode == "learned":
            return self.position_embeddings[:length]
        position = ops.cast(ops.arange(length), "float32")[:, None]
        index = ops.arange(self.output_dim)
        # Dimensions 2i and 2i+1 share the frequency 1 / 10000^(2i / output_dim): sine on even, cosine on odd.
        pair_start = ops.cast(index - index % 2, "float32")
        angle = position / ops.power(10000.0, pair_start / float(self.output_dim))[None, :]
        return ops.where((index % 2 == 0)[None, :], ops.sin(angle), ops.cos(angle))

    def compute_mask(self, inputs, mask=None):
        if self.token_embedding is not None:
            return self.token_embedding.compute_mask(inputs)
        return mask

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.input_dim is not None:
            return input_shape + (self.output_dim,)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "sequence_length": self.sequence_length,
            "output_dim": self.output_dim,
            "mode": self.mode,
            "input_dim": self.input_dim,
            "mask_zero": self.mask_zero,
        })
        return config
