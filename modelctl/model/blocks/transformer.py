"""The transformer encoder block: self-attention and a feed-forward network, each with a residual."""

from __future__ import annotations

import keras

from modelctl.model.blocks import _checks


@keras.saving.register_keras_serializable(package="modelctl")
class TransformerEncoder(keras.layers.Layer):
    """One transformer encoder block over a sequence of vectors.

    Post-norm (the original transformer, `norm_first=False`):

        x = LayerNorm(x + Dropout(SelfAttention(x)))
        y = LayerNorm(x + Dropout(Dense(dim)(Dense(ff_dim, activation)(x))))

    Pre-norm (`norm_first=True`, steadier when many blocks are stacked):

        x = x + Dropout(SelfAttention(LayerNorm(x)))
        y = x + Dropout(Dense(dim)(Dense(ff_dim, activation)(LayerNorm(x))))

    Input and output are `(batch, sequence, dim)`. A mask on the input (from an
    embedding with `mask_zero`) keeps attention off the padded steps and is passed on.

    Args:
        num_heads: number of attention heads, an integer >= 1. Required.
        key_dim: size of each head's query and key vectors, an integer >= 1. Required.
        ff_dim: width of the hidden layer of the feed-forward network, an integer >= 1. Required.
        dropout: fraction dropped from the attention weights and from each branch's output before the
            residual sum, a number in [0, 1). Default 0.1.
        activation: activation of the feed-forward hidden layer, a Keras activation name. Default "relu".
        norm_first: whether layer normalization comes before each branch (pre-norm, True) or after each
            residual sum (post-norm, False). Default False.
        epsilon: small constant of the layer normalizations, a number > 0. Default 1e-6.
        **kwargs: base layer arguments (`name`, `trainable`, `dtype`).
    """

    def __init__(self, num_heads, key_dim, ff_dim, *, dropout=0.1, activation="relu", norm_first=False,
                 epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        owner = type(self).__name__
        self.num_heads = _checks.positive_int(owner, "num_heads", num_heads)
        self.key_dim = _checks.positive_int(owner, "key_dim", key_dim)
        self.ff_dim = _checks.positive_int(owner, "ff_dim", ff_dim)
        self.dropout = _checks.fraction(owner, "dropout", dropout)
        self.activation = activation
        _checks.activation(owner, "activation", activation)
        if not isinstance(norm_first, bool):
            raise ValueError(f"Invalid value for argument `norm_first` of {owner}. Expected true or false. "
                             f"Received: norm_first={norm_first!r}")
        self.norm_first = norm_first
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise ValueError(f"Invalid value for argument `epsilon` of {owner}. Expected a number > 0. "
                             f"Received: epsilon={epsilon!r}")
        self.epsilon = float(epsilon)
        self.supports_masking = True

        self.attention = keras.layers.MultiHeadAttention(num_heads, key_dim, dropout=self.dropout,
                                                         dtype=self.dtype_policy, name="attention")
        self.attention_dropout = keras.layers.Dropout(self.dropout, name="attention_dropout")
        self.attention_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, dtype=self.dtype_policy,
                                                              name="attention_norm")
        self.feed_forward_hidden = keras.layers.Dense(ff_dim, activation=activation, dtype=self.dtype_policy,
                                                      name="feed_forward_hidden")
        self.feed_forward_output = None  # its width is the input's, known in build()
        self.feed_forward_dropout = keras.layers.Dropout(self.dropout, name="feed_forward_dropout")
        self.feed_forward_norm = keras.layers.LayerNormalization(epsilon=self.epsilon, dtype=self.dtype_policy,
                                                                 name="feed_forward_norm")

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"{type(self).__name__} expects a sequence of vectors (batch, sequence, dim). "
                             f"Received: input_shape={input_shape}")
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"{type(self).__name__} needs a known vector size (the last axis). "
                             f"Received: input_shape={input_shape}")
        self.feed_forward_output = keras.layers.Dense(dim, dtype=self.dtype_policy, name="feed_forward_output")
        self.attention.build(input_shape, input_shape)
        self.attention_norm.build(input_shape)
        self.feed_forward_hidden.build(input_shape)
        self.feed_forward_output.build(input_shape[:-1] + (self.ff_dim,))
        self.feed_forward_norm.build(input_shape)
        self.built = True

    def call(self, inputs, mask=None, training=None):
        x = inputs
        attend = self.attention_norm(x) if self.norm_first else x
        attended = self.attention(attend, attend, query_mask=mask, value_mask=mask, training=training)
        x = x + self.attention_dropout(attended, training=training)
        if not self.norm_first:
            x = self.attention_norm(x)

        transform = self.feed_forward_norm(x) if self.norm_first else x
        transformed = self.feed_forward_output(self.feed_forward_hidden(transform))
        x = x + self.feed_forward_dropout(transformed, training=training)
        if not self.norm_first:
            x = self.feed_forward_norm(x)
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm_first": self.norm_first,
            "epsilon": self.epsilon,
        })
        return config
