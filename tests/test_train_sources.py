"""Training from every source format on scikit-learn's tables, and a model that takes raw rows back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import quiet_console

from modelctl.features.numeric_steps import apply_numeric
from modelctl.data.pipeline import prepare
from modelctl.model.preprocessing import predict_raw
from modelctl.spec.validate import load_spec
from modelctl.model.saving import load_model
from modelctl.runs import read_json
from modelctl.training.trainer import train

TRAINING = """
training:
  epochs: 2
  optimizer: {type: adam, learning_rate: 0.01}
  metrics: [accuracy]
"""



def _train(write_spec, text: str, tmp_path: Path, name: str = "spec.yaml"):
    document = load_spec(write_spec(text, name))
    return train(document, tmp_path / "runs", quiet_console(), quiet=True)


def _write_tfrecord(path: Path, iris) -> None:
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    with tf.io.TFRecordWriter(str(path)) as writer:
        for row, target in zip(iris.data, iris.target):
            writer.write(tf.train.Example(features=tf.train.Features(feature={
                "measurements": tf.train.Feature(float_list=tf.train.FloatList(value=row)),
                "species": tf.train.Feature(bytes_list=tf.train.BytesList(value=[iris.target_names[target].encode()])),
            })).SerializeToString())


SOURCES = {
    "csv": ("{format: csv, path: '%(root)s/iris.csv'}",
            "x: {type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width], "
            "preprocessing: [standardize]}",
            "species: {column: species, type: categorical}", "dense: {units: 3, activation: softmax}"),
    "tsv": ("{format: tsv, path: '%(root)s/wine.tsv'}",
            "x: {type: numeric, columns: 'a*', preprocessing: [min_max]}",
            "cultivar: {column: cultivar, type: categorical, num_classes: 3}",
            "dense: {units: 3, activation: softmax}"),
    "csv_glob": ("{format: csv, path: '%(root)s/cancer/part-*.csv'}",
                 "x: {type: numeric, columns: 'c*', preprocessing: [log, standardize]}",
                 "target: {column: target, type: binary}", "dense: {units: 1, activation: sigmoid}"),
    "parquet": ("{format: parquet, path: '%(root)s/diabetes.parquet'}",
                "x: {type: numeric, columns: [age, bmi, bp, s1, s5], preprocessing: [standardize]}\n"
                "    group: {type: categorical}",
                "progression: {column: progression, type: regression}", "dense: 1"),
    "npy": ("{format: npy, arrays: {pixels: '%(root)s/digits/pixels.npy', digit: '%(root)s/digits/digit.npy'}}",
            "pixels: {type: numeric, shape: [8, 8, 1], preprocessing: [{rescale: 0.0625}]}",
            "digit: {column: digit, type: categorical, num_classes: 10}", "dense: {units: 10, activation: softmax}"),
    "npz": ("{format: npz, path: '%(root)s/digits.npz'}",
            "images: {type: numeric, shape: [64], preprocessing: [{rescale: 0.0625}]}",
            "digit: {column: digit, type: categorical, num_classes: 10}", "dense: {units: 10, activation: softmax}"),
    "image_folder": ("{format: image_folder, path: '%(root)s/images'}",
                     "image: {type: image, size: [8, 8], channels: 1, preprocessing: [{rescale: 0.00392}], "
                     "augmentation: [{random_translation: {height_factor: 0.1, width_factor: 0.1}}]}",
                     "label: {column: label, type: categorical}", "dense: {units: 3, activation: softmax}"),
    "text_folder": ("{format: text_folder, path: '%(root)s/reviews'}",
                    "text: {type: text, max_tokens: 50, output_mode: multi_hot}",
                    "label: {column: label, type: binary, positive: pos}", "dense: {units: 1, activation: sigmoid}"),
    "tfrecord": ("{format: tfrecord, path: '%(root)s/iris.tfrecord', schema: {measurements: {dtype: float32, "
                 "shape: [4]}, species: {dtype: string}}}",
                 "measurements: {type: numeric, preprocessing: [standardize]}",
                 "species: {column: species, type: categorical}", "dense: {units: 3, activation: softmax}"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SOURCES))
def test_trains_from_every_source_format(name, files, write_spec, tmp_path):
    if name == "tfrecord" and not (files.root / "iris.tfrecord").exists():
        _write_tfrecord(files.root / "iris.tfrecord", files.iris)
    source, features, label, last = SOURCES[name]
    flatten = "    - flatten\n" if name in ("npy", "image_folder") else ""
    layers = flatten + ("    - dense: 8\n" if name != "image_folder" else "    - dense: 8\n")
    text = (f"modelctl: 1\nname: {name}\nseed: 3\ndata:\n  source: {source % {'root': files.root}}\n"
            f"  features:\n    {features}\n  labels:\n    {label}\n  split: {{train: 0.7, validation: 0.15, "
            f"test: 0.15}}\n  batch_size: 16\nmodel:\n  layers:\n{layers}    - {last}\n")
    text = text.replace("    - dense: 8\n    - dense:", "    - dense: 8\n    - dense:")
    training = TRAINING if "regression" not in label else TRAINING.replace("[accuracy]", "[mae]")
    if "regression" in label and "concatenate" not in text:
        text = text.replace("  layers:\n", "  layers:\n    - concatenate: {}\n      inputs: [x, group]\n")
    result = _train(write_spec, text + training, tmp_path)
    assert len(result.history) == 2
    assert all(np.isfinite(row["loss"]) for row in result.history)
    assert result.counts["train"] > 0 and result.counts["test"] > 0
    assert (result.run_dir / "model.keras").is_file()
    assert read_json(result.run_dir / "run.json")["status"] == "completed"


CSV_SPEC = """
modelctl: 1
name: mixed
seed: 5
data:
  source: {format: csv, path: mixed.csv}
  features:
    numbers: {type: numeric, columns: [a, b], preprocessing: [standardize], missing: {strategy: median}}
    colour: {type: categorical}
  labels:
    label: {column: label, type: categorical}
  split: {train: 0.8, validation: 0.1, test: 0.1, stratify: true}
  batch_size: 8
model:
  layers:
    - concatenate: {}
      inputs: [numbers, colour]
    - dense: {units: 8, activation: relu}
    - dense: {units: 2, activation: softmax}
training:
  epochs: 3
  metrics: [accuracy]
"""


def _mixed_csv(path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = ["a,b,colour,label"]
    for index in range(120):
        a, b = rng.normal(50, 10), rng.normal(-3, 2)
        colour = ["red", "green", "blue"][index % 3]
        label = "yes" if a + 5 * b > 35 or colour == "red" else "no"
        lines.append(f"{'' if index % 17 == 0 else f'{a:.3f}'},{b:.3f},{colour},{label}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_a_saved_model_gives_the_same_predictions_on_raw_rows(write_spec, tmp_path):
    _mixed_csv(tmp_path / "mixed.csv")
    result = _train(write_spec, CSV_SPEC, tmp_path)
    fitted = read_json(result.run_dir / "preprocessing.json")
    assert sorted(fitted["features"]["colour"]["vocabulary"]) == ["blue", "green", "red"]
    assert fitted["labels"]["label"]["classes"] == ["no", "yes"]
    steps = fitted["features"]["numbers"]["steps"]
    assert [step["op"] for step in steps] == ["fill", "standardize"]
    raw = {"numbers": np.array([[np.nan, -3.0], [60.0, 1.0], [40.0, -6.0]], dtype=np.float32),
           "colour": np.array([["red"], ["green"], ["purple"]], dtype=object)}
    reloaded = load_model(result.run_dir / "model.keras")
    document = load_spec(result.run_dir / "spec.yaml", base_dir=tmp_path)
    again = prepare(document, fitted=fitted)
    in_memory = load_model(result.run_dir / "checkpoints" / "last.keras")
    np.testing.assert_allclose(predict_raw(reloaded, raw), predict_raw(in_memory, raw), atol=1e-6)
    test = again.arrays("test")
    np.testing.assert_allclose(predict_raw(reloaded, test.features), predict_raw(in_memory, test.features),
                               atol=1e-6)
    manual = apply_numeric(steps, raw["numbers"])
    assert np.isfinite(manual).all()


def test_preprocessing_layer_matches_the_numpy_reference():
    from modelctl.features.numeric_steps import apply_numeric
    from modelctl.features.layers import NumericPreprocessing

    steps = [{"op": "fill", "values": [1.0, 2.0]}, {"op": "log"}, {"op": "clip", "min": 0.0, "max": None},
             {"op": "standardize", "mean": [0.5, 1.0], "std": [2.0, 0.5]},
             {"op": "min_max", "min": [-1.0, 0.0], "max": [1.0, 4.0]}, {"op": "rescale", "factor": 3.0}]
    values = np.array([[np.nan, 3.0], [0.5, np.nan], [-0.5, 10.0]], dtype=np.float32)
    layer = NumericPreprocessing(steps)
    np.testing.assert_allclose(np.asarray(layer(values)), apply_numeric(steps, values), rtol=1e-6)


@pytest.mark.slow
def test_predict_reads_image_files_and_folders(files, write_spec, tmp_path):
    from modelctl.predict import predict

    source, features, label, last = SOURCES["image_folder"]
    text = (f"modelctl: 1\nname: pictures\nseed: 3\ndata:\n  source: {source % {'root': files.root}}\n"
            f"  features:\n    {features}\n  labels:\n    {label}\n  split: {{train: 0.5, validation: 0.25, "
            f"test: 0.25}}\n  batch_size: 4\nmodel:\n  layers:\n    - flatten\n    - {last}\n" + TRAINING)
    result = _train(write_spec, text, tmp_path)
    folder = files.root / "images" / "2"
    rows = predict(result.run_dir, [str(folder)])
    assert [row["input"] for row in rows] == sorted(str(path) for path in folder.glob("*.png"))
    assert all(row["label"] in ("0", "1", "2") for row in rows)
    single = predict(result.run_dir, [rows[0]["input"]])
    assert single[0]["label"] == rows[0]["label"]
    assert single[0]["label_0"] == pytest.approx(rows[0]["label_0"], abs=1e-6)
