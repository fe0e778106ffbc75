"""The shipped specs compile to the same models as hand-written Keras, parameter for parameter."""

from __future__ import annotations

from pathlib import Path

import keras
import pytest

from modelctl.errors import SpecError
from modelctl.model.build import build_model
from modelctl.model.shapes import check_shapes
from modelctl.spec.validate import load_spec, validate_file

ROOT = Path(__file__).resolve().parent.parent
layers = keras.layers


def built(name: str):
    return build_model(load_spec(ROOT / "specs" / f"{name}.yaml"))


def counts(model) -> tuple[int, int]:
    trainable = sum(int(keras.ops.size(weight)) for weight in model.trainable_weights)
    return model.count_params(), trainable


def test_mlp():
    inputs = keras.Input((4,))
    x = layers.Dense(32, activation="relu")(inputs)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(16, activation="relu")(x)
    hand = keras.Model(inputs, layers.Dense(3, activation="softmax")(x))
    assert counts(built("tabular-mlp")) == counts(hand) == (739, 739)


def test_residual_cnn():
    inputs = keras.Input((8, 8, 1))
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    for _ in range(2):
        shortcut = x
        x = layers.Conv2D(32, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Conv2D(32, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(layers.Add()([shortcut, x]))
    x = layers.GlobalAveragePooling2D()(x)
    hand = keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
    model = built("resnet-cnn")
    assert counts(model) == counts(hand)
    assert sum(1 for layer in model.layers if type(layer).__name__ == "Add") == 2


def test_lstm_text():
    inputs = keras.Input((64,), dtype="int32")
    x = layers.Embedding(10000, 64, mask_zero=True)(inputs)
    x = layers.LSTM(64, return_sequences=True)(x)
    x = layers.LSTM(32)(x)
    hand = keras.Model(inputs, layers.Dense(4, activation="softmax")(layers.Dropout(0.3)(x)))
    assert counts(built("lstm-text")) == counts(hand)


def test_bidirectional_gru():
    inputs = keras.Input((50, 6))
    x = layers.LayerNormalization()(inputs)
    x = layers.Bidirectional(layers.GRU(32, return_sequences=True))(x)
    x = layers.Bidirectional(layers.GRU(16))(x)
    x = layers.Dense(32, activation="relu")(x)
    hand = keras.Model(inputs, layers.Dense(5, activation="softmax")(x))
    assert counts(built("bigru-sequence")) == counts(hand)


class _PositionEmbedding(layers.Layer):
    """Learned position embeddings added to token embeddings, written out by hand."""

    def __init__(self, length, dim):
        super().__init__()
        self.positions = layers.Embedding(length, dim)
        self.length = length

    def call(self, x):
        return x + self.positions(keras.ops.arange(self.length))


def test_transformer_encoder_classifier():
    inputs = keras.Input((128,), dtype="int32")
    x = _PositionEmbedding(128, 64)(layers.Embedding(20000, 64)(inputs))
    for _ in range(2):
        attention = layers.MultiHeadAttention(num_heads=4, key_dim=16)(x, x)
        x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(attention))
        forward = layers.Dense(64)(layers.Dense(128, activation="relu")(x))
        x = layers.LayerNormalization(epsilon=1e-6)(x + layers.Dropout(0.1)(forward))
    x = layers.GlobalAveragePooling1D()(x)
    hand = keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.Dropout(0.1)(x)))
    assert counts(built("transformer-text")) == counts(hand)


def test_mobilenet_v2_trained_whole():
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3),
                                              pooling="avg")
    inputs = keras.Input((96, 96, 3))
    x = backbone(layers.Rescaling(1.0, offset=-1.0)(inputs))
    hand = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Dropout(0.2)(x)))
    model = built("mobilenet-transfer")
    assert counts(model) == counts(hand)
    assert counts(model)[1] > 2_000_000  # trained whole: the spec's weights are random (`weights: null`)


def test_two_inputs_two_outputs():
    chemistry = keras.Input((7,), name="chemistry")
    appearance = keras.Input((5,), name="appearance")
    joined = layers.Concatenate()([layers.Dense(16, activation="relu")(chemistry),
                                   layers.Dense(16, activation="relu")(appearance)])
    shared = layers.Dense(32, activation="relu")(joined)
    hand = keras.Model([chemistry, appearance], [layers.Dense(3, activation="softmax")(shared), layers.Dense(1)(shared)])
    model = built("two-input")
    assert counts(model) == counts(hand)
    assert [tensor.name for tensor in model.inputs] == ["chemistry", "appearance"]
    assert len(model.outputs) == 2


SHAPE_MISMATCH = """\
modelctl: 1
name: mismatch
seed: 1
data:
  source: {format: csv, path: data.csv}
  features:
    pixels: {type: numeric, columns: "p*", shape: [8, 8, 1]}
  labels:
    digit: {column: digit, type: categorical, num_classes: 10}
model:
  layers:
    - conv2d: {filters: 16, kernel_size: 3, padding: same}
    - conv2d: {filters: 32, kernel_size: 3, padding: same}
    - dense: {units: 10, activation: softmax}
      name: digit
"""


def test_shape_mismatch_is_reported_at_the_layer(write_spec):
    path = write_spec(SHAPE_MISMATCH)
    (path.parent / "data.csv").write_text(",".join(f"p{i}" for i in range(64)) + ",digit\n")
    assert validate_file(path).diagnostics == []
    result = validate_file(path, deep=check_shapes)
    assert [str(item) for item in result.diagnostics] == [
        f"{path}:14:7: $.model.layers[2]: dense expects a rank-2 input but gets (None, 8, 8, 32) from "
        "'conv2d_2'; add flatten or global_average_pooling2d before it"]


def test_rank_error_names_both_shapes(write_spec):
    path = write_spec("modelctl: 1\nname: r\nseed: 1\nmodel:\n  inputs:\n    x: {shape: [16]}\n  layers:\n"
                      "    - dense: 8\n    - lstm: {units: 4}\n")
    with pytest.raises(SpecError) as caught:
        build_model(load_spec(path))
    assert str(caught.value) == (
        f"{path}:9:7: $.model.layers[1]: lstm expects a rank-3 input but gets (None, 8) from 'dense_1'; "
        "add reshape or embedding before it to make a sequence")
