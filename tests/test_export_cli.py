"""`modelctl export` on a run, `train --export`, and `predict` giving the same answers from every artifact."""

from __future__ import annotations

import json

import numpy as np
import pytest

SPEC = """
modelctl: 1
name: shop
seed: 2
data:
  source: {format: csv, path: shop.csv}
  features:
    numbers: {type: numeric, columns: [price, weight], preprocessing: [standardize]}
    colour: {type: categorical}
  labels:
    bought: {column: bought, type: categorical}
  split: {train: 0.7, validation: 0.15, test: 0.15}
  batch_size: 16
model:
  layers:
    - concatenate: {}
      inputs: [numbers, colour]
    - dense: {units: 8, activation: relu}
    - dense: {units: 2, activation: softmax}
training:
  epochs: 3
  metrics: [accuracy]
export:
  formats: [saved_model, onnx]
"""


def _shop(path):
    rng = np.random.default_rng(1)
    lines = ["price,weight,colour,bought"]
    for index in range(160):
        price, weight = rng.uniform(1, 100), rng.uniform(0.1, 5)
        colour = ["red", "green", "blue", "black"][index % 4]
        lines.append(f"{price:.2f},{weight:.2f},{colour},{'yes' if price < 50 or colour == 'red' else 'no'}")
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from typer.testing import CliRunner

    from modelctl.cli.app import app

    folder = tmp_path_factory.mktemp("shop")
    _shop(folder / "shop.csv")
    (folder / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(app, ["train", str(folder / "spec.yaml"), "--quiet", "--export", "--output",
                                      str(folder / "runs")])
    assert result.exit_code == 0, result.output
    run_dir = next((folder / "runs" / "shop").iterdir())
    return folder, run_dir


@pytest.mark.slow
def test_train_export_writes_the_spec_formats(trained):
    _, run_dir = trained
    assert sorted(path.name for path in (run_dir / "export").iterdir()) == ["model.onnx", "saved_model", "serving"]
    # TensorFlow Serving's layout of the SavedModel: serving/<name>/<version>/, the version the run's timestamp.
    [version] = (run_dir / "export" / "serving" / "shop").iterdir()
    assert version.name == "".join(character for character in run_dir.name if character.isdigit())
    assert sorted(path.name for path in version.iterdir()) == sorted(
        path.name for path in (run_dir / "export" / "saved_model").iterdir())


@pytest.mark.slow
def test_predict_gives_the_same_classes_from_the_run_and_every_export(trained, runner):
    from modelctl.cli.app import app

    folder, run_dir = trained
    result = runner.invoke(app, ["export", str(run_dir), "--format", "all", "--force"])
    assert result.exit_code == 0, result.output
    int8 = runner.invoke(app, ["export", str(run_dir), "--format", "tflite", "--quantize", "int8"])
    assert int8.exit_code == 0, int8.output
    rows = (folder / "shop.csv").read_text().splitlines()
    inputs = folder / "new.csv"
    inputs.write_text("\n".join([rows[0].rsplit(",", 1)[0]] + [row.rsplit(",", 1)[0] for row in rows[1:41]]) + "\n")

    def classes(target):
        answer = runner.invoke(app, ["predict", str(target), str(inputs)])
        assert answer.exit_code == 0, answer.output
        lines = answer.output.splitlines()
        return [line.split(",")[1] for line in lines[1:]], np.array([[float(v) for v in line.split(",")[2:]]
                                                                     for line in lines[1:]])

    expected, probabilities = classes(run_dir)
    for artifact in ("saved_model", "model.tflite", "model.onnx"):
        got, values = classes(run_dir / "export" / artifact)
        assert got == expected, artifact
        np.testing.assert_allclose(values, probabilities, atol=1e-4)
    got, _ = classes(run_dir / "export" / "model.int8.tflite")
    assert np.mean(np.array(got) == np.array(expected)) >= 0.9


@pytest.mark.slow
def test_export_refuses_to_overwrite_and_names_bad_options(trained, runner):
    from modelctl.cli.app import app

    _, run_dir = trained
    again = runner.invoke(app, ["export", str(run_dir), "--format", "onnx"])
    assert again.exit_code == 2 and "pass --force to write it again" in again.output
    bad = runner.invoke(app, ["export", str(run_dir), "--format", "pdf"])
    assert bad.exit_code == 2 and "pdf" in bad.output


@pytest.mark.slow
def test_benchmark_writes_markdown_and_json(trained, runner):
    from modelctl.cli.app import app

    folder, run_dir = trained
    result = runner.invoke(app, ["export", str(run_dir), "--benchmark", "--output", str(folder / "bench")])
    assert result.exit_code == 0, result.output
    written = json.loads((run_dir / "benchmark.json").read_text())
    labels = {(row["format"], row["quantization"]) for row in written["results"]}
    assert labels == {("saved_model", "none"), ("onnx", "none"), ("tflite", "none"), ("tflite", "dynamic"),
                      ("tflite", "float16"), ("tflite", "int8")}
    assert "| tflite |" in (run_dir / "benchmark.md").read_text().replace("tflite  ", "tflite ")


@pytest.mark.slow
def test_a_layer_a_format_cannot_hold_is_located_in_the_spec(trained):
    from modelctl.export.errors import ExportFailed, UnsupportedLayerError
    from modelctl.export.from_run import _locate_layers
    from modelctl.spec.run import load_run_spec

    _, run_dir = trained
    document = load_run_spec(run_dir)
    failure = ExportFailed([("tflite", UnsupportedLayerError("tflite", {"dense_1": ["Digamma"]}))], [])
    lines = _locate_layers(document, failure)
    assert len(lines) == 1
    assert lines[0].startswith(f"{run_dir / 'spec.yaml'}:") and "$.model.layers[1]: layer 'dense_1' (dense)" in lines[0]


@pytest.mark.slow
def test_verification_uses_a_seeded_stratified_sample_of_the_test_split(trained):
    from modelctl.data.pipeline import prepare
    from modelctl.export.from_run import verification_sample
    from modelctl.runs import read_json
    from modelctl.spec.run import load_run_spec

    _, run_dir = trained
    prepared = prepare(load_run_spec(run_dir), fitted=read_json(run_dir / "preprocessing.json"))
    test = prepared.arrays("test")
    shares = np.bincount(test.targets["bought"], minlength=2) / len(test)
    sample = verification_sample(prepared, "test", 8, seed=2, label="bought")
    assert len(sample) == 8
    assert np.bincount(sample.targets["bought"], minlength=2).tolist() == np.round(shares * 8).astype(int).tolist()
    again = verification_sample(prepared, "test", 8, seed=2, label="bought")
    np.testing.assert_array_equal(again.features["numbers"], sample.features["numbers"])
    other = verification_sample(prepared, "test", 8, seed=3, label="bought")
    assert not np.array_equal(other.features["numbers"], sample.features["numbers"])
    everything = verification_sample(prepared, "test", 1000, seed=2, label="bought")
    np.testing.assert_array_equal(everything.features["numbers"], test.features["numbers"])


def test_a_stratified_sample_keeps_a_rare_class():
    from modelctl.export.from_run import _stratified

    classes = np.array([0] * 95 + [1] * 3 + [2] * 2)
    chosen = _stratified(classes, 10, np.random.default_rng(0))
    assert len(chosen) == len(set(chosen.tolist())) == 10
    assert np.bincount(classes[chosen]).tolist() == [8, 1, 1]
    assert np.bincount(classes[_stratified(classes, 2, np.random.default_rng(0))], minlength=3).sum() == 2



@pytest.mark.parametrize("option, value, message", [
    ("--format", "tflight", "Invalid value for '--format' / '-f': 'tflight' is not a known export format. Expected "
                            "one of 'onnx', 'saved_model', 'tflite' or 'all'. Did you mean 'tflite'?"),
    ("--quantize", "int4", "Invalid value for '--quantize': 'int4' is not a known quantization. Expected one of "
                           "'none', 'dynamic', 'float16' or 'int8'. Did you mean 'int8'?"),
])
def test_export_options_list_the_registered_names(runner, tmp_path, option, value, message):
    from modelctl.cli.app import app

    result = runner.invoke(app, ["export", str(tmp_path), option, value])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == f"Error: {message}"
