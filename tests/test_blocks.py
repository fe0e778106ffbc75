"""The ready-made blocks: shapes in a functional model, save and reload, parameter counts, backbone weights."""

from __future__ import annotations

import socket
import time

import h5py
import keras
import numpy as np
import pytest

import modelctl.model.blocks.backbone as backbone_module
from modelctl.errors import ModelctlError, SpecError
from modelctl.model.blocks import PositionalEmbedding, ResidualConvBlock, TransformerEncoder
from modelctl.model.blocks.backbone import ARCHITECTURES, BackboneError, backbone

layers = keras.layers


def counts(model) -> tuple[int, int]:
    trainable = sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
    return model.count_params(), trainable


def numpy(value):
    return keras.ops.convert_to_numpy(value)


def fixed_batch(shape, dtype="float32", high=None):
    rng = np.random.default_rng(0)
    if dtype == "int32":
        return rng.integers(0, high, size=(2, *shape)).astype("int32")
    return rng.normal(size=(2, *shape)).astype("float32")


CASES = {
    "transformer_post_norm": (lambda: TransformerEncoder(2, 4, 16), (6, 8), "float32", (None, 6, 8)),
    "transformer_pre_norm": (lambda: TransformerEncoder(2, 4, 16, dropout=0.0, activation="gelu", norm_first=True),
                             (6, 8), "float32", (None, 6, 8)),
    "positional_tokens": (lambda: PositionalEmbedding(6, 8, input_dim=20), (6,), "int32", (None, 6, 8)),
    "positional_tokens_sinusoidal": (lambda: PositionalEmbedding(10, 8, mode="sinusoidal", input_dim=20), (6,),
                                     "int32", (None, 6, 8)),
    "positional_vectors": (lambda: PositionalEmbedding(6, 8), (6, 8), "float32", (None, 6, 8)),
    "positional_vectors_sinusoidal": (lambda: PositionalEmbedding(6, 8, mode="sinusoidal"), (6, 8), "float32",
                                      (None, 6, 8)),
    "residual_identity": (lambda: ResidualConvBlock(4), (8, 8, 4), "float32", (None, 8, 8, 4)),
    "residual_projection": (lambda: ResidualConvBlock(8, strides=2), (8, 8, 4), "float32", (None, 4, 4, 8)),
    "residual_no_batch_norm": (lambda: ResidualConvBlock(6, kernel_size=[3, 1], batch_norm=False), (8, 8, 4),
                               "float32", (None, 8, 8, 6)),
    "backbone": (lambda: backbone("mobilenet_v2", weights=None, pooling="avg", input_shape=(32, 32, 3),
                                  name="features"), (32, 32, 3), "float32", (None, 1280)),
}


@pytest.mark.parametrize("case", [pytest.param(case, marks=pytest.mark.slow) if case == "backbone" else case
                                  for case in CASES])
def test_block_builds_saves_and_reloads(case, tmp_path):
    make, shape, dtype, expected = CASES[case]
    inputs = keras.Input(shape, dtype=dtype)
    outputs = make()(inputs)
    assert tuple(outputs.shape) == expected
    model = keras.Model(inputs, outputs)
    batch = fixed_batch(shape, dtype, high=20)
    before = numpy(model(batch))
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(numpy(reloaded(batch)), before, rtol=1e-6, atol=1e-6)
    assert counts(reloaded) == counts(model)
    assert type(reloaded.layers[-1]) is type(model.layers[-1])


def test_transformer_has_the_parameters_of_the_same_layers_by_hand():
    inputs = keras.Input((6, 8))
    attended = layers.MultiHeadAttention(2, 4)(inputs, inputs)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([inputs, attended]))
    transformed = layers.Dense(8)(layers.Dense(16, activation="relu")(x))
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, transformed]))
    hand = keras.Model(inputs, x)
    block = keras.Model(inputs, TransformerEncoder(2, 4, 16)(inputs))
    assert counts(block) == counts(hand) == (600, 600)


def test_transformer_keeps_masked_steps_out_of_attention():
    layer = TransformerEncoder(2, 4, 16, dropout=0.0)
    mask = np.array([[True, True, True, False, False]])
    batch = fixed_batch((5, 8))[:1]
    changed = batch.copy()
    changed[:, 3:] = 100.0
    kept = numpy(layer(batch, mask=mask))[:, :3]
    np.testing.assert_allclose(numpy(layer(changed, mask=mask))[:, :3], kept, atol=1e-5)
    assert not np.allclose(numpy(layer(changed))[:, :3], kept, atol=1e-3)


def test_transformer_passes_the_mask_on():
    tokens = keras.Input((5,), dtype="int32")
    encoded = TransformerEncoder(2, 4, 16, dropout=0.0)(layers.Embedding(10, 8, mask_zero=True)(tokens))
    sequence = keras.Model(tokens, encoded)
    pooled = keras.Model(tokens, layers.GlobalAveragePooling1D()(encoded))
    batch = np.array([[3, 4, 0, 0, 0]], dtype="int32")
    # The pooling averages only the steps the mask keeps, so the mask reached it through the encoder.
    np.testing.assert_allclose(numpy(pooled(batch)), numpy(sequence(batch))[:, :2].mean(axis=1), atol=1e-6)


def test_residual_block_has_the_parameters_of_the_same_layers_by_hand():
    inputs = keras.Input((8, 8, 4))
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inputs)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    x = layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same", use_bias=False)(x))
    shortcut = layers.BatchNormalization()(layers.Conv2D(8, 1, strides=2, padding="same", use_bias=False)(inputs))
    hand = keras.Model(inputs, layers.Activation("relu")(layers.Add()([x, shortcut])))
    block = keras.Model(inputs, ResidualConvBlock(8, strides=2)(inputs))
    assert counts(block) == counts(hand)
    assert block.count_params() == 288 + 32 + 576 + 32 + 32 + 32


def test_residual_block_keeps_the_input_as_shortcut_when_the_shape_is_unchanged():
    block = ResidualConvBlock(4)
    block(keras.Input((8, 8, 4)))
    assert block.projection is None
    assert block.count_params() == 2 * (3 * 3 * 4 * 4) + 2 * 16


def test_positional_embedding_parameters():
    tokens = PositionalEmbedding(6, 8, input_dim=20)
    tokens(keras.Input((6,), dtype="int32"))
    assert tokens.count_params() == 20 * 8 + 6 * 8
    sinusoidal = PositionalEmbedding(6, 8, mode="sinusoidal")
    sinusoidal(keras.Input((6, 8)))
    assert sinusoidal.count_params() == 0


def test_sinusoidal_encoding_values():
    layer = PositionalEmbedding(4, 6, mode="sinusoidal")
    encoded = numpy(layer(np.zeros((1, 4, 6), dtype="float32")))[0]
    position = np.arange(4)[:, None]
    pair = (np.arange(6) // 2 * 2)[None, :]
    angle = position / np.power(10000.0, pair / 6)
    expected = np.where(np.arange(6)[None, :] % 2 == 0, np.sin(angle), np.cos(angle))
    np.testing.assert_allclose(encoded, expected, atol=1e-6)


def test_positional_embedding_takes_sequences_up_to_its_length():
    tokens = keras.Input((None,), dtype="int32")
    model = keras.Model(tokens, PositionalEmbedding(10, 8, input_dim=20)(tokens))
    assert model.output_shape == (None, None, 8)
    assert tuple(model(np.ones((2, 4), dtype="int32")).shape) == (2, 4, 8)
    assert tuple(model(np.ones((2, 10), dtype="int32")).shape) == (2, 10, 8)


def test_positional_embedding_masks_padding_tokens():
    layer = PositionalEmbedding(4, 6, input_dim=10, mask_zero=True)
    mask = layer.compute_mask(np.array([[1, 2, 0, 0]]))
    assert numpy(mask).tolist() == [[True, True, False, False]]


@pytest.mark.parametrize("make, shape, message", [
    (lambda: PositionalEmbedding(6, 8), (6, 4), "the last axis equal to output_dim=8"),
    (lambda: PositionalEmbedding(4, 8), (6, 8), "at most sequence_length=4 steps"),
    (lambda: PositionalEmbedding(6, 8, input_dim=5), (6, 8), "expects token ids (batch, sequence)"),
    (lambda: TransformerEncoder(2, 4, 16), (6,), "expects a sequence of vectors"),
    (lambda: ResidualConvBlock(8), (8, 8), "expects images (batch, height, width, channels)"),
])
def test_blocks_reject_inputs_of_the_wrong_shape(make, shape, message):
    with pytest.raises(ValueError) as raised:
        make()(keras.Input(shape))
    assert message in str(raised.value)


@pytest.mark.parametrize("make, message", [
    (lambda: TransformerEncoder(0, 4, 16),
     "Invalid value for argument `num_heads` of TransformerEncoder. Expected an integer >= 1. Received: num_heads=0"),
    (lambda: TransformerEncoder(2, 4, 16, dropout=1.0),
     "Invalid value for argument `dropout` of TransformerEncoder. Expected a number in [0, 1). Received: dropout=1.0"),
    (lambda: PositionalEmbedding(6, 8, mode="rotary"),
     "Invalid value for argument `mode` of PositionalEmbedding. Expected one of ['learned', 'sinusoidal']. "
     "Received: mode='rotary'"),
    (lambda: PositionalEmbedding(6, 8, mask_zero=True),
     "Argument `mask_zero` of PositionalEmbedding needs `input_dim`: only token ids can be padding. "
     "Received: mask_zero=True, input_dim=None"),
    (lambda: ResidualConvBlock(8, activation="rleu"),
     "Invalid value for argument `activation` of ResidualConvBlock. Expected a Keras activation name such as "
     "'relu' or 'gelu'. Received: activation='rleu'"),
])
def test_blocks_reject_bad_arguments(make, message):
    with pytest.raises(ValueError) as raised:
        make()
    assert str(raised.value) == message


# Backbones


@pytest.mark.slow
def test_frozen_backbone_counts_match_keras_applications():
    ours = backbone("mobilenet_v2", weights=None, pooling="avg", input_shape=(96, 96, 3))
    theirs = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg", input_shape=(96, 96, 3))
    theirs.trainable = False
    assert counts(ours) == counts(theirs)
    assert counts(ours)[1] == 0
    assert ours.output_shape == (None, 1280)


def test_backbone_dtype_applies_to_its_layers_only():
    model = backbone("mobilenet_v2", weights=None, pooling="avg", input_shape=(32, 32, 3), dtype="mixed_float16")
    assert {layer.dtype_policy.name for layer in model.layers[1:]} == {"mixed_float16"}
    assert keras.config.dtype_policy().name == "float32"


@pytest.mark.slow
def test_trainable_backbone_trains_every_weight():
    ours = backbone("mobilenet_v2", weights=None, trainable=True, input_shape=(32, 32, 3))
    theirs = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert counts(ours) == counts(theirs)
    assert all(layer.trainable for layer in ours.layers)


@pytest.mark.slow
def test_fine_tune_last_unfreezes_the_last_layers_except_batch_normalization():
    model = backbone("mobilenet_v2", weights=None, pooling="avg", fine_tune_last=6, input_shape=(32, 32, 3))
    inner = [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]
    last = inner[-6:]
    assert any(isinstance(layer, layers.BatchNormalization) for layer in last)
    for layer in inner[:-6]:
        assert not layer.trainable, layer.name
    for layer in last:
        assert layer.trainable == (not isinstance(layer, layers.BatchNormalization)), layer.name
    expected = sum(int(np.prod(w.shape)) for layer in last for w in layer.trainable_weights)
    assert counts(model)[1] == expected > 0
    assert model.count_params() == keras.applications.MobileNetV2(
        include_top=False, weights=None, pooling="avg", input_shape=(32, 32, 3)).count_params()


@pytest.mark.slow
def test_fine_tuned_backbone_keeps_its_trainable_weights_after_reload(tmp_path):
    inputs = keras.Input((32, 32, 3))
    features = backbone("mobilenet_v2", weights=None, pooling="avg", fine_tune_last=6, input_shape=(32, 32, 3),
                        name="features")(inputs)
    model = keras.Model(inputs, layers.Dense(2)(features))
    model.save(tmp_path / "model.keras")
    assert counts(keras.saving.load_model(tmp_path / "model.keras")) == counts(model)


@pytest.mark.parametrize("kwargs, message", [
    ({"architecture": "resnet18"}, "Invalid value for argument `architecture` of backbone. Expected one of"),
    ({"architecture": "mobilenet_v2", "pooling": "mean"},
     "Invalid value for argument `pooling` of backbone. Expected one of [None, 'avg', 'max']. Received: "
     "pooling='mean'"),
    ({"architecture": "mobilenet_v2", "include_top": True, "pooling": "avg"},
     "Argument `pooling` of backbone pools the last feature map, which `include_top: true` replaces with the "
     "ImageNet classifier. Received: include_top=True, pooling='avg'; set pooling to null or include_top to false"),
    ({"architecture": "mobilenet_v2", "fine_tune_last": -1},
     "Invalid value for argument `fine_tune_last` of backbone. Expected an integer >= 0. Received: "
     "fine_tune_last=-1"),
    ({"architecture": "mobilenet_v2", "trainable": True, "fine_tune_last": 3},
     "Argument `fine_tune_last` of backbone unfreezes layers of a frozen backbone, but `trainable: true` already "
     "trains every layer. Received: trainable=True, fine_tune_last=3; set trainable to false or fine_tune_last to 0"),
    ({"architecture": "mobilenet_v2", "weights": None, "fine_tune_last": 10_000},
     "Invalid value for argument `fine_tune_last` of backbone. 'mobilenetv2_1.00_32' has 153 layers. Received: "
     "fine_tune_last=10000"),
    ({"architecture": "mobilenet_v2", "weights": None, "input_shape": (32, 3)},
     "backbone expects images (height, width, channels) without the batch dimension. Received: "
     "input_shape=(32, 3); add reshape before it to make images"),
    ({"architecture": "mobilenet_v2", "weights": "weights.keras"},
     "Invalid value for argument `weights` of backbone. Expected null, 'imagenet' or the path of a .h5 or "
     ".weights.h5 file. Received: weights='weights.keras'"),
])
def test_backbone_rejects_bad_arguments(kwargs, message):
    kwargs.setdefault("input_shape", (32, 32, 3))
    with pytest.raises(BackboneError) as raised:
        backbone(**kwargs)
    assert str(raised.value).startswith(message)


@pytest.mark.slow
def test_backbone_loads_a_local_weights_file(tmp_path):
    source = backbone("mobilenet_v2", weights=None, pooling="avg", input_shape=(32, 32, 3))
    path = tmp_path / "mobilenet_v2.weights.h5"
    source.save_weights(path)
    keras.utils.set_random_seed(1)
    loaded = backbone("mobilenet_v2", weights=str(path), pooling="avg", input_shape=(32, 32, 3))
    for ours, theirs in zip(loaded.weights, source.weights):
        np.testing.assert_array_equal(numpy(ours), numpy(theirs))
    batch = fixed_batch((32, 32, 3))
    np.testing.assert_allclose(numpy(loaded(batch)), numpy(source(batch)), atol=1e-6)
    assert counts(loaded)[1] == 0


@pytest.mark.slow
def test_backbone_loads_a_file_in_the_format_of_the_keras_imagenet_downloads(tmp_path):
    """The files Keras downloads are legacy HDF5 weights; a copy of one can be passed as `weights`."""
    from keras.src.legacy.saving import legacy_h5_format

    source = backbone("mobilenet_v2", weights=None, input_shape=(32, 32, 3))
    path = tmp_path / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
    with h5py.File(path, "w") as file:
        legacy_h5_format.save_weights_to_hdf5_group(file, source)
    keras.utils.set_random_seed(2)
    loaded = backbone("mobilenet_v2", weights=str(path), input_shape=(96, 96, 3))
    for ours, theirs in zip(loaded.weights, source.weights):
        np.testing.assert_array_equal(numpy(ours), numpy(theirs))


def test_backbone_reports_weights_that_do_not_fit(tmp_path):
    path = tmp_path / "not-weights.h5"
    path.write_text("not an HDF5 file")
    with pytest.raises(BackboneError) as raised:
        backbone("mobilenet_v2", weights=str(path), input_shape=(32, 32, 3))
    assert str(raised.value).startswith(f"backbone weights file {path} cannot be loaded into 'mobilenet_v2' "
                                        "(include_top=False): ")
    assert str(raised.value).endswith(". Expected weights saved from the same architecture and include_top")


def test_backbone_reports_a_missing_weights_file(tmp_path):
    missing = tmp_path / "nowhere.weights.h5"
    with pytest.raises(ModelctlError) as raised:
        backbone("mobilenet_v2", weights=str(missing), input_shape=(32, 32, 3))
    assert str(raised.value) == (
        f"backbone weights file {str(missing)!r} does not exist (looked for {missing}). Expected null, 'imagenet' "
        "or the path of an existing .h5 or .weights.h5 file")


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    """A Keras cache with no weights in it."""
    folder = tmp_path / "keras-cache"
    folder.mkdir()
    monkeypatch.setattr(backbone_module, "cache_dirs", lambda: [str(folder)])
    return folder


def test_imagenet_weights_offline_fail_at_once(empty_cache):
    host, port = backbone_module._download_endpoint()
    if backbone_module.unreachable(host, port, 3.0) is None:
        pytest.skip(f"{host}:{port} is reachable from here; the offline path is tested with a closed port below")
    started = time.monotonic()
    with pytest.raises(ModelctlError) as raised:
        backbone("mobilenet_v2", weights="imagenet", pooling="avg", input_shape=(96, 96, 3))
    assert time.monotonic() - started < 5
    message = str(raised.value)
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5 downloaded from the internet" in message
    assert "which is not reachable from this machine" in message
    assert "`weights: path/to/file.h5`" in message


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_imagenet_weights_with_the_server_unreachable(empty_cache, monkeypatch):
    port = closed_port()
    monkeypatch.setattr(backbone_module, "_download_endpoint", lambda: ("127.0.0.1", port))
    started = time.monotonic()
    with pytest.raises(BackboneError) as raised:
        backbone("resnet50", weights="imagenet", input_shape=(32, 32, 3))
    assert time.monotonic() - started < 5
    assert str(raised.value).startswith(
        "backbone 'resnet50' with `weights: imagenet` needs resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5 "
        "downloaded from the internet (storage.googleapis.com), which is not reachable from this machine "
        f"(127.0.0.1:{port}: ")
    assert str(raised.value).endswith(
        f"and it is not in the Keras cache {empty_cache}. Pass a local file instead: `weights: path/to/file.h5` "
        "(the same file copied from a machine with internet access, or weights saved from this architecture), "
        f"copy the file into {empty_cache}, or use `weights: null` for random initial weights")


def test_a_hanging_lookup_is_given_up_on_within_the_timeout(monkeypatch):
    """A name lookup that hangs (which the socket timeout does not cover) still ends the probe in time."""
    def hanging_lookup(*args, **kwargs):
        time.sleep(3)
        raise socket.gaierror("name lookup gave up")

    monkeypatch.setattr(backbone_module.socket, "create_connection", hanging_lookup)
    started = time.monotonic()
    assert backbone_module.unreachable("storage.googleapis.com", 443, 0.3) == "no answer within 0.3 s"
    assert time.monotonic() - started < 1


def test_cached_imagenet_weights_need_no_network(empty_cache, monkeypatch):
    (empty_cache / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"")
    monkeypatch.setattr(backbone_module, "unreachable", lambda *args: pytest.fail("probed the network"))
    backbone_module._check_imagenet_available("resnet50", ARCHITECTURES["resnet50"].weights_file(False, None))


FILE_NAME_CASES = [
    ("mobilenet_v2", False, (96, 96, 3)), ("mobilenet_v2", True, None), ("mobilenet_v3_small", False, (32, 32, 3)),
    ("resnet50", False, (32, 32, 3)), ("efficientnet_b0", False, (32, 32, 3)), ("efficientnet_b0", True, None),
    ("vgg16", False, (32, 32, 3)), ("densenet121", False, (32, 32, 3)), ("convnext_tiny", False, (32, 32, 3)),
]
"""One architecture of each naming scheme Keras uses for its weights files."""


@pytest.mark.slow
@pytest.mark.parametrize("architecture, include_top, input_shape", FILE_NAME_CASES)
def test_cache_file_names_are_the_ones_keras_asks_for(architecture, include_top, input_shape, monkeypatch):
    from keras.src.utils import file_utils

    class Asked(Exception):
        pass

    def get_file(fname, *args, **kwargs):
        raise Asked(fname)

    monkeypatch.setattr(backbone_module, "_check_imagenet_available", lambda *args: None)
    monkeypatch.setattr(file_utils, "get_file", get_file)
    with pytest.raises(Asked) as asked:
        backbone(architecture, weights="imagenet", include_top=include_top, input_shape=input_shape)
    assert ARCHITECTURES[architecture].weights_file(include_top, input_shape) == str(asked.value)


def test_registry_lists_every_architecture():
    from modelctl.registry.layers.blocks import BACKBONE_ARCHITECTURES

    assert BACKBONE_ARCHITECTURES == list(ARCHITECTURES)
    for architecture in ARCHITECTURES.values():
        assert callable(getattr(keras.applications, architecture.constructor))


# Through a spec


SPEC = """\
modelctl: 1
name: blocks
seed: 0
model:
  inputs:
    image: {{shape: [32, 32, 3]}}
  layers:
    - residual_block: {{filters: 3}}
    - backbone: {{architecture: mobilenet_v2, weights: {weights}, pooling: avg, fine_tune_last: 4}}
    - dense: {{units: 2, activation: softmax}}
"""


@pytest.mark.slow
def test_spec_with_blocks_builds(write_spec):
    from modelctl.model.build import build_model
    from modelctl.spec.validate import load_spec

    model = build_model(load_spec(write_spec(SPEC.format(weights="null"))))
    assert model.output_shape == (None, 2)
    names = [layer.name for layer in model.layers]
    assert names == ["image", "residual_block_1", "backbone_1", "dense_1"]
    assert model.get_layer("backbone_1").input_shape == (None, 32, 32, 3)


def test_spec_with_unavailable_imagenet_weights_is_reported_at_its_line(write_spec, empty_cache, monkeypatch):
    from modelctl.model.build import build_model
    from modelctl.spec.validate import load_spec

    monkeypatch.setattr(backbone_module, "_download_endpoint", lambda: ("127.0.0.1", closed_port()))
    path = write_spec(SPEC.format(weights="imagenet"))
    with pytest.raises(SpecError) as raised:
        build_model(load_spec(path))
    message = str(raised.value)
    assert message.startswith(f"{path}:9:")
    assert "backbone cannot be built: backbone 'mobilenet_v2' with `weights: imagenet` needs" in message
