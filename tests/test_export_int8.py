"""Int8 TFLite of a small CNN trained on scikit-learn's digits: smaller, and about as accurate; the benchmark report."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def digits():
    """A CNN trained briefly on 8x8 digits (raw pixel values 0-16), with its held-out split."""
    from sklearn.datasets import load_digits

    from modelctl.util.tf import tensorflow

    tensorflow()
    import keras

    keras.utils.set_random_seed(0)
    images, labels = load_digits(return_X_y=True)
    images = images.reshape(-1, 8, 8, 1).astype("float32")
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], labels[order]
    train, held_out = slice(0, 1400), slice(1400, None)
    layers = keras.layers
    image = keras.Input((8, 8, 1), name="image")
    h = layers.Rescaling(1 / 16)(image)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
    h = layers.Flatten()(layers.MaxPooling2D()(h))
    h = layers.Dense(128, activation="relu")(h)
    model = keras.Model({"image": image}, {"digit": layers.Dense(10, activation="softmax", name="digit")(h)})
    model.compile("adam", {"digit": "sparse_categorical_crossentropy"})
    model.fit({"image": images[train]}, {"digit": labels[train]}, epochs=4, batch_size=64, verbose=0)
    return model, images[train], images[held_out], labels[held_out]


@pytest.fixture(scope="module")
def exported(digits, tmp_path_factory):
    from modelctl.export import ExportContext, export_formats

    model, train_images, held_out_images, held_out_labels = digits

    def accuracy(outputs):
        predicted = np.argmax(outputs["digit"], axis=-1)
        return "accuracy", float(np.mean(predicted == held_out_labels[:len(predicted)]))

    context = ExportContext(holdout={"image": held_out_images}, representative={"image": train_images},
                            metadata={"spec_name": "digits", "class_names": {"digit": [str(d) for d in range(10)]}},
                            score=accuracy)
    folder = tmp_path_factory.mktemp("digits")
    results = export_formats(model, [], folder, options={"tflite": {"representative_examples": 200}}, context=context,
                             examples=len(held_out_images), benchmark=True)
    return {(result.format, result.quantization): result for result in results}, folder


def test_benchmark_writes_every_format_and_quantization(exported):
    results, folder = exported
    assert sorted(results) == [("onnx", "none"), ("saved_model", "none"), ("tflite", "dynamic"),
                               ("tflite", "float16"), ("tflite", "int8"), ("tflite", "none")]
    assert sorted(path.name for path in folder.iterdir()) == [
        "model.dynamic.tflite", "model.float16.tflite", "model.int8.tflite", "model.onnx", "model.tflite",
        "saved_model"]
    assert results[("tflite", "none")].tolerance == 1e-4 and results[("tflite", "int8")].tolerance is None


def test_int8_is_small_and_loses_at_most_one_accuracy_point(exported):
    results, _ = exported
    float32, int8 = results[("tflite", "none")], results[("tflite", "int8")]
    assert int8.size_bytes <= 0.3 * float32.size_bytes, (int8.size_bytes, float32.size_bytes)
    name, artifact_accuracy, keras_accuracy = int8.metric
    assert name == "accuracy" and keras_accuracy > 0.9
    assert int8.metric_drop <= 0.01, int8.metric
    assert int8.examples == 397 and int8.class_agreement["digit"] > 0.97


def test_int8_keeps_float32_inputs_and_outputs(exported):
    from ai_edge_litert.interpreter import Interpreter

    from modelctl.export import read_metadata

    results, _ = exported
    path = results[("tflite", "int8")].path
    interpreter = Interpreter(model_path=str(path))
    assert [item["dtype"] for item in interpreter.get_input_details()] == [np.float32]
    assert [item["dtype"] for item in interpreter.get_output_details()] == [np.float32]
    assert read_metadata(path)["quantization"] == "int8"


def test_write_benchmark_and_table(exported, tmp_path):
    from rich.console import Console

    from modelctl.export import render_table, write_benchmark

    results, _ = exported
    ordered = list(results.values())
    markdown, json_path = write_benchmark(ordered, tmp_path)
    report = json.loads(json_path.read_text())
    assert len(report["results"]) == 6 and report["environment"]["tensorflow"]
    int8 = next(item for item in report["results"] if item["quantization"] == "int8")
    assert set(int8) >= {"size_bytes", "max_abs_diff", "class_agreement", "metric", "latency_ms"}
    assert int8["metric"]["name"] == "accuracy"
    text = markdown.read_text()
    assert "| format | quantization | file | size | max difference | class agreement | metric | latency |" in text
    assert text.count("model.int8.tflite") == 1
    console = Console(record=True, width=250)
    render_table(ordered, console)
    shown = console.export_text()
    for heading in ("format", "quantization", "size", "max difference", "class agreement", "metric", "latency"):
        assert heading in shown
    assert "accuracy" in shown and " ms" in shown
