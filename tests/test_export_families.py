"""Every model family exports to SavedModel, TFLite and ONNX, and each artifact matches Keras in its runtime."""

from __future__ import annotations

import json

import numpy as np
import pytest

FORMATS = ["saved_model", "tflite", "onnx"]
COLORS = ["red", "green", "blue"]
REVIEWS = ["a good movie", "a bad movie", "very good plot!", "very bad acting", "Good, not bad", "unseen words"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def keras():
    from modelctl.util.tf import tensorflow

    tensorflow()
    import keras

    keras.utils.set_random_seed(7)
    return keras


def mlp(keras):
    x = keras.Input((8,), name="x")
    h = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model({"x": x}, {"label": keras.layers.Dense(3, activation="softmax", name="label")(h)})


def residual_cnn(keras):
    layers = keras.layers
    image = keras.Input((12, 12, 3), name="image")
    h = layers.Rescaling(1 / 255)(image)
    h = layers.Conv2D(8, 3, padding="same")(h)
    shortcut = h
    for _ in range(2):
        h = layers.Conv2D(8, 3, padding="same")(h)
        h = layers.BatchNormalization()(h)
        h = layers.ReLU()(h)
    h = layers.ReLU()(layers.Add()([h, shortcut]))
    h = layers.GlobalAveragePooling2D()(h)
    model = keras.Model({"image": image}, {"kind": layers.Dense(4, activation="softmax", name="kind")(h)})
    rng = np.random.default_rng(1)
    for layer in model.layers:  # non-trivial moving statistics, so BatchNormalization is really exercised
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, variance = layer.get_weights()
            layer.set_weights([gamma + 0.1, beta - 0.1, rng.normal(size=mean.shape) * 0.1,
                               rng.uniform(0.5, 2.0, size=variance.shape)])
    return model


def lstm(keras):
    sequence = keras.Input((10, 3), name="sequence")
    h = keras.layers.LSTM(8)(sequence)
    return keras.Model({"sequence": sequence}, {"value": keras.layers.Dense(1, name="value")(h)})


def bidirectional_gru(keras):
    sequence = keras.Input((10, 3), name="sequence")
    h = keras.layers.Bidirectional(keras.layers.GRU(8))(sequence)
    return keras.Model({"sequence": sequence}, {"label": keras.layers.Dense(2, activation="softmax", name="label")(h)})


def masked_recurrent(keras):
    """Zero-padded token ids behind an embedding mask, through stacked recurrent layers, as a text spec builds it."""
    ids = keras.Input((10,), dtype="int32", name="ids")
    h = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    h = keras.layers.LSTM(6, return_sequences=True)(h)
    h = keras.layers.Bidirectional(keras.layers.LSTM(4))(h)
    return keras.Model({"ids": ids}, {"label": keras.layers.Dense(2, activation="softmax", name="label")(h)})


def transformer(keras):
    layers = keras.layers
    tokens = keras.Input((6, 8), name="tokens")
    h = layers.Dense(16)(tokens)
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=8)(h, h)
    h = layers.LayerNormalization()(layers.Add()([h, attended]))
    forward = layers.Dense(16)(layers.Dense(32, activation="gelu")(h))
    h = layers.LayerNormalization()(layers.Add()([h, forward]))
    h = layers.GlobalAveragePooling1D()(h)
    return keras.Model({"tokens": tokens}, {"label": layers.Dense(3, activation="softmax", name="label")(h)})


def normalization_and_lookup(keras):
    layers = keras.layers
    numbers = keras.Input((4,), name="numbers")
    color = keras.Input((1,), dtype="string", name="color")
    normalization = layers.Normalization(name="numbers_scale")
    normalization.adapt(np.random.default_rng(2).normal(3.0, 2.0, size=(64, 4)).astype("float32"))
    encoded = layers.StringLookup(vocabulary=COLORS, output_mode="one_hot", name="color_lookup")(color)
    h = layers.Dense(8, activation="relu")(layers.Concatenate()([normalization(numbers), encoded]))
    return keras.Model({"numbers": numbers, "color": color},
                       {"buy": layers.Dense(1, activation="sigmoid", name="buy")(h)})


def text(keras):
    layers = keras.layers
    review = keras.Input((1,), dtype="string", name="review")
    vectorize = layers.TextVectorization(max_tokens=32, output_sequence_length=5, name="review_vectorize")
    vectorize.adapt(REVIEWS[:-1])
    h = layers.GlobalAveragePooling1D()(layers.Embedding(32, 4)(vectorize(review)))
    return keras.Model({"review": review}, {"sentiment": layers.Dense(2, activation="softmax", name="sentiment")(h)})


def two_in_two_out(keras):
    layers = keras.layers
    a = keras.Input((6,), name="a")
    b = keras.Input((3,), name="b")
    h = layers.Dense(8, activation="tanh")(layers.Concatenate()([a, b]))
    return keras.Model({"a": a, "b": b}, {"kind": layers.Dense(3, activation="softmax", name="kind")(h),
                                          "amount": layers.Dense(1, name="amount")(h)})


FAMILIES = {"mlp": mlp, "residual_cnn": residual_cnn, "lstm": lstm, "bidirectional_gru": bidirectional_gru,
            "masked_recurrent": masked_recurrent,
            "transformer": transformer, "normalization_and_lookup": normalization_and_lookup, "text": text,
            "two_in_two_out": two_in_two_out}


def examples(model, count: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = {}
    for tensor in model.inputs:
        shape = (count, *tensor.shape[1:])
        if tensor.dtype == "string":
            words = COLORS + ["purple"] if tensor.name == "color" else REVIEWS
            values[tensor.name] = rng.choice(words, size=shape).astype(object)
        elif tensor.name == "ids":  # token ids, each row padded with zeros after a random length
            ids = rng.integers(1, 20, size=shape)
            ids[np.arange(shape[1]) >= rng.integers(1, shape[1] + 1, size=(count, 1))] = 0
            values[tensor.name] = ids.astype("int32")
        elif tensor.name == "image":
            values[tensor.name] = rng.uniform(0, 255, size=shape).astype("float32")
        else:
            values[tensor.name] = rng.normal(size=shape).astype("float32")
    return values


@pytest.fixture(scope="module")
def exported(keras, tmp_path_factory):
    """Family -> (model, results by format, output folder), exported lazily once per module."""
    from modelctl.export import ExportContext, export_formats

    cache = {}

    def get(family: str):
        if family not in cache:
            model = FAMILIES[family](keras)
            context = ExportContext(holdout=examples(model, 32, 1), representative=examples(model, 32, 2),
                                    metadata={"spec_name": family, "spec_hash": "0123abcd",
                                              "class_names": {"label": ["a", "b", "c"]}})
            folder = tmp_path_factory.mktemp(family)
            results = export_formats(model, FORMATS, folder, options={}, context=context, examples=32)
            cache[family] = model, {result.format: result for result in results}, folder
        return cache[family]

    return get


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_format_matches_keras(exported, family):
    model, results, folder = exported(family)
    assert sorted(results) == sorted(FORMATS)
    for result in results.values():
        assert result.path.exists() and result.path.parent == folder
        assert result.examples == 32 and result.tolerance == 1e-4
        assert set(result.max_abs_diff) == {tensor_name for tensor_name in model.output}
        assert max(result.max_abs_diff.values()) <= 1e-4, (result.format, result.max_abs_diff)
        assert all(value == 1.0 for value in result.class_agreement.values()), (result.format, result.class_agreement)
        assert result.size_bytes > 0 and result.latency_ms > 0
    assert not [path.name for path in folder.iterdir() if path.name.startswith(".")]


def test_class_agreement_is_reported_for_class_outputs_only(exported):
    _, results, _ = exported("two_in_two_out")
    assert set(results["onnx"].class_agreement) == {"kind"}
    _, results, _ = exported("normalization_and_lookup")
    assert set(results["tflite"].class_agreement) == {"buy"}
    _, results, _ = exported("lstm")
    assert results["tflite"].class_agreement == {}


def test_saved_model_signature_takes_raw_named_features(exported):
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    _, results, _ = exported("normalization_and_lookup")
    signature = tf.saved_model.load(str(results["saved_model"].path)).signatures["serving_default"]
    _, inputs = signature.structured_input_signature
    assert {name: (spec.dtype.name, spec.shape.as_list()) for name, spec in inputs.items()} == {
        "numbers": ("float32", [None, 4]), "color": ("string", [None, 1])}
    assert list(signature.structured_outputs) == ["buy"]
    assert tf.saved_model.load(str(results["saved_model"].path)).modelctl_metadata.asset_path.numpy().endswith(
        b"assets/modelctl_metadata.json")
    outputs = signature(numbers=tf.zeros((2, 4)), color=tf.constant([["red"], ["never seen"]]))
    assert outputs["buy"].shape == (2, 1)


def test_string_lookup_stays_inside_tflite_and_onnx(exported):
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    _, results, folder = exported("normalization_and_lookup")
    assert all(result.skipped == [] for result in results.values())
    assert not list(folder.glob("*.preprocessing.json"))
    interpreter = Interpreter(model_path=str(results["tflite"].path))
    assert interpreter.get_signature_list()["serving_default"] == {"inputs": ["color", "numbers"], "outputs": ["buy"]}
    session = onnxruntime.InferenceSession(str(results["onnx"].path), providers=["CPUExecutionProvider"])
    assert {item.name: item.type for item in session.get_inputs()} == {"color": "tensor(string)",
                                                                       "numbers": "tensor(float)"}


def test_text_vectorization_is_left_outside_tflite_and_onnx(exported):
    _, results, folder = exported("text")
    assert results["saved_model"].skipped == []
    for export_format, name in (("tflite", "model.tflite"), ("onnx", "model.onnx")):
        [step] = results[export_format].skipped
        assert (step.feature, step.layer, step.shape, step.dtype) == ("review", "review_vectorize", (None, 5), "int64")
        assert step.reason == (f"{export_format} has no string ops to standardize and split text "
                               "(standardize='lower_and_strip_punctuation', split='whitespace')")
        described = json.loads((folder / f"{name}.preprocessing.json").read_text())
        [entry] = described["steps"]
        assert entry["class"] == "TextVectorization" and entry["layer"] == "review_vectorize"
        assert entry["vocabulary"][:2] == ["", "[UNK]"] and "good" in entry["vocabulary"]
        assert entry["output_mode"] == "int" and entry["output_sequence_length"] == 5
        assert entry["standardize"] == "lower_and_strip_punctuation"
        assert entry["encoded"] == {"shape": [None, 5], "dtype": "int64"}


def test_onnx_and_tflite_inputs_have_a_free_batch_dimension(exported):
    import onnxruntime
    from ai_edge_litert.interpreter import Interpreter

    _, results, _ = exported("two_in_two_out")
    session = onnxruntime.InferenceSession(str(results["onnx"].path), providers=["CPUExecutionProvider"])
    assert {item.name for item in session.get_inputs()} == {"a", "b"}
    assert {item.name for item in session.get_outputs()} == {"kind", "amount"}
    assert all(isinstance(item.shape[0], str) for item in session.get_inputs())
    batch = {"a": np.ones((5, 6), np.float32), "b": np.ones((5, 3), np.float32)}
    assert session.run(["kind"], batch)[0].shape == (5, 3)
    runner = Interpreter(model_path=str(results["tflite"].path)).get_signature_runner("serving_default")
    assert runner(**batch)["amount"].shape == (5, 1)


@pytest.mark.parametrize("export_format", FORMATS)
def test_metadata_reads_back(exported, export_format):
    import modelctl
    from modelctl.export import read_metadata

    _, results, _ = exported("text")
    metadata = read_metadata(results[export_format].path)
    assert metadata["spec_name"] == "text" and metadata["spec_hash"] == "0123abcd"
    assert metadata["class_names"] == {"label": ["a", "b", "c"]}
    assert metadata["modelctl_version"] == modelctl.__version__
    assert metadata["format"] == export_format and metadata["quantization"] == "none"
    assert metadata["inputs"] == {"review": {"shape": [None, 1], "dtype": "string"}}
    assert metadata["outputs"] == {"sentiment": {"shape": [None, 2], "dtype": "float32"}}
    if export_format == "saved_model":
        assert metadata["preprocessing_outside"] == []
    else:
        assert metadata["preprocessing_outside"] == [{"feature": "review", "layer": "review_vectorize"}]
        assert metadata["artifact_inputs"] == {"review": {"shape": [None, 5], "dtype": "int64"}}


def test_int8_leaves_string_lookup_outside(keras, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from modelctl.export import ExportContext, export_formats

    model = normalization_and_lookup(keras)
    context = ExportContext(holdout=examples(model, 32, 1), representative=examples(model, 64, 2))
    [result] = export_formats(model, ["tflite"], tmp_path, options={"tflite": {"quantize": "int8"}}, context=context,
                              examples=32)
    assert result.path == tmp_path / "model.int8.tflite" and result.tolerance is None
    [step] = result.skipped
    assert (step.feature, step.layer, step.reason) == ("color", "color_lookup",
                                                       "int8 quantization does not keep string lookups exact")
    described = json.loads((tmp_path / "model.int8.tflite.preprocessing.json").read_text())
    [entry] = described["steps"]
    assert entry["vocabulary"] == ["[UNK]", "red", "green", "blue"]
    assert (entry["class"], entry["num_oov_indices"], entry["output_mode"]) == ("StringLookup", 1, "one_hot")
    assert entry["encoded"] == {"shape": [None, 4], "dtype": "float32"}
    details = {item["name"]: item for item in Interpreter(model_path=str(result.path)).get_input_details()}
    assert details["serving_default_color:0"]["dtype"] == np.float32
    assert list(details["serving_default_color:0"]["shape"]) == [1, 4]
    assert result.class_agreement["buy"] >= 0.9


def test_model_assembled_like_modelctl_train(keras, tmp_path):
    """Raw-feature layers in front of a nested core model with one bare output, as `modelctl train` builds it."""
    from modelctl.export import ExportContext, export_formats, read_metadata
    from modelctl.model.preprocessing import assemble
    from modelctl.runs import Fitted

    layers = keras.layers
    features = {
        "size": {"type": "numeric", "width": 2, "steps": [{"op": "fill", "values": [0.0, 0.0]},
                                                         {"op": "standardize", "mean": [1.0, 2.0], "std": [2.0, 3.0]}]},
        "color": {"type": "categorical", "vocabulary": COLORS, "num_oov_indices": 1, "output_mode": "one_hot"},
        "review": {"type": "text", "standardize": "lower_and_strip_punctuation", "split": "whitespace", "ngrams": None,
                   "output_mode": "int", "sequence_length": 5, "vocabulary": ["good", "bad", "movie", "plot"]},
    }
    size, color = keras.Input((2,), name="size"), keras.Input((4,), name="color")
    review = keras.Input((5,), dtype="int64", name="review")
    words = layers.LSTM(4, name="words")(layers.Embedding(7, 3)(review))
    label = layers.Dense(3, activation="softmax", name="label")(layers.Concatenate()([size, color, words]))
    fitted = Fitted.from_json({"features": features, "labels": {}}, source="test")
    model = assemble(keras.Model([size, color, review], label, name="core"), fitted)
    rng = np.random.default_rng(4)
    holdout = {"size": rng.normal(size=(16, 2)).astype("float32"),
               "color": rng.choice(COLORS + ["pink"], size=(16, 1)).astype(object),
               "review": rng.choice(REVIEWS, size=(16,)).astype(object)}
    holdout["size"][0, 0] = np.nan
    results = export_formats(model, FORMATS, tmp_path, options={}, context=ExportContext(holdout=holdout), examples=16)
    for result in results:
        assert result.max_abs_diff["label"] <= 1e-4 and result.class_agreement == {"label": 1.0}
        assert list(read_metadata(result.path)["outputs"]) == ["label"]
        assert [step.layer for step in result.skipped] == ([] if result.format == "saved_model"
                                                           else ["review_vectorize"])

