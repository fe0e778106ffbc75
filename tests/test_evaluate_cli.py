"""`modelctl eval`, `predict` and `compare` on a trained run: numbers, files, gates and bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import ROOT, iris_data

from modelctl.spec.validate import load_spec

SPEC = f"""
modelctl: 1
name: iris-eval
seed: 4
{iris_data("{train: 0.6, validation: 0.2, test: 0.2, stratify: true}")}
model:
  layers:
    - dense: {{units: 16, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 8
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from rich.console import Console

    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    folder = tmp_path_factory.mktemp("eval")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    return train(load_spec(spec), folder / "runs", Console(file=open(os.devnull, "w")), quiet=True).run_dir


@pytest.mark.slow
def test_eval_agrees_with_scikit_learn_and_writes_its_report(run_dir, runner):
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    from modelctl.cli.app import app
    from modelctl.data.pipeline import prepare
    from modelctl.model.preprocessing import predict_raw
    from modelctl.model.saving import load_model
    from modelctl.runs import read_json
    from modelctl.spec.run import load_run_spec

    result = runner.invoke(app, ["eval", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)["metrics"]["species"]
    prepared = prepare(load_run_spec(run_dir), fitted=read_json(run_dir / "preprocessing.json"))
    test = prepared.arrays("test")
    scores = predict_raw(load_model(run_dir / "model.keras"), test.features)
    truth = test.targets["species"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, scores.argmax(1)))
    assert metrics["f1"]["macro"] == pytest.approx(f1_score(truth, scores.argmax(1), average="macro"))
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, scores, labels=[0, 1, 2]), rel=1e-5)
    folder = run_dir / "eval" / "test"
    saved = json.loads((folder / "eval.json").read_text())
    assert saved["metrics"]["species"] == metrics and saved["examples"] == len(truth)
    plots = sorted(path.name for path in (folder / "plots" / "species").iterdir())
    assert plots == ["calibration.png", "confusion_matrix.png", "learning_curves.png", "pr.png", "roc.png"]
    assert all((folder / "plots" / "species" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for name in plots)
    report = (folder / "report.md").read_text()
    assert "plots/species/confusion_matrix.png" in report and "accuracy" in report


@pytest.mark.slow
def test_eval_of_a_streamed_split_equals_eval_of_the_held_split(run_dir, monkeypatch):
    import modelctl.data.pipeline as pipeline
    from modelctl.evaluation.evaluate import evaluate_run

    held = evaluate_run(run_dir, split="validation", write=False)
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 0)
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)
    streamed = evaluate_run(run_dir, split="validation", write=False)
    assert streamed.examples == held.examples == 30
    assert streamed.metrics["species"]["log_loss"] == pytest.approx(held.metrics["species"]["log_loss"], rel=1e-6)
    assert streamed.metrics["species"]["accuracy"] == held.metrics["species"]["accuracy"]

@pytest.mark.slow
def test_fail_under_gates_exit_codes(run_dir, runner):
    from modelctl.cli.app import app

    passed = runner.invoke(app, ["eval", str(run_dir), "--fail-under", "accuracy=0.3", "--fail-under",
                                 "log_loss=5"])
    assert passed.exit_code == 0, passed.output
    missed = runner.invoke(app, ["eval", str(run_dir), "--fail-under", "accuracy=1.01"])
    assert missed.exit_code == 1 and "quality gate missed: accuracy is" in missed.output
    bad = runner.invoke(app, ["eval", str(run_dir), "--fail-under", "acuracy=0.5"])
    assert bad.exit_code == 2 and "no metric 'acuracy'" in bad.output
    validation = runner.invoke(app, ["eval", str(run_dir), "--split", "validation", "-f", "json"])
    assert validation.exit_code == 0 and json.loads(validation.output)["split"] == "validation"


@pytest.mark.slow
def test_predict_writes_class_names_and_probabilities(run_dir, runner, tmp_path):
    from modelctl.cli.app import app

    rows = (ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()
    (tmp_path / "new.csv").write_text("\n".join(rows[:1] + rows[1:4] + rows[-3:]) + "\n")
    result = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "new.csv"), "--output",
                                 str(tmp_path / "out.csv")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out.csv").read_text().splitlines()
    assert lines[0] == "input,species,species_setosa,species_versicolor,species_virginica"
    assert [line.split(",")[1] for line in lines[1:4]] == ["setosa"] * 3
    probabilities = np.array([[float(value) for value in line.split(",")[2:]] for line in lines[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_predict_and_eval_name_bad_input(run_dir, runner, tmp_path):
    from modelctl.cli.app import app

    (tmp_path / "partial.csv").write_text("sepal_length,sepal_width\n1,2\n")
    missing = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "partial.csv")])
    assert missing.exit_code == 1
    assert "partial.csv: feature 'x': 2 of its columns are missing: 'petal_length', 'petal_width'. Available " \
           "columns: 'sepal_length', 'sepal_width'." in " ".join(missing.output.split())
    assert "Traceback" not in missing.output
    (tmp_path / "words.csv").write_text("sepal_length,sepal_width,petal_length,petal_width\n1,2,3,4\n1,x,3,4\n")
    words = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "words.csv")])
    assert words.exit_code == 1 and "row 3" in words.output and "'x'" in words.output
    nowhere = runner.invoke(app, ["eval", str(tmp_path)])
    assert nowhere.exit_code == 2 and "not a run folder" in nowhere.output


@pytest.mark.slow
def test_compare_lists_metrics_and_spec_differences(run_dir, runner, tmp_path):
    import shutil

    import yaml

    from modelctl.cli.app import app

    other = tmp_path / "other"
    shutil.copytree(run_dir, other)
    spec = yaml.safe_load((other / "spec.yaml").read_text())
    spec["training"]["epochs"] = 3
    (other / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = runner.invoke(app, ["compare", str(run_dir), str(other), "-f", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert list(payload["spec_differences"]) == ["training.epochs"]
    assert payload["metrics"][str(run_dir)]["test.accuracy"] == payload["metrics"][str(other)]["test.accuracy"]


def test_data_command_shows_splits_statistics_and_balance(runner, tmp_path):
    from modelctl.cli.app import app

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(app, ["data", str(spec), "--format", "json"])
    assert result.exit_code == 0, result.output
    described = json.loads(result.output)
    assert described["rows"] == {"train": 90, "validation": 30, "test": 30}
    assert described["labels"]["species"]["balance"]["train"] == {"setosa": 30, "versicolor": 30, "virginica": 30}
    feature = described["features"]["x"]
    assert feature["width"] == 4 and feature["steps"] == ["standardize"] and feature["missing"] == 0
    example = described["examples"][0]["x"]
    assert len(example["raw"]) == 4 and len(example["preprocessed"]) == 4
    text = runner.invoke(app, ["data", str(spec)])
    assert text.exit_code == 0 and "train 90 rows" in text.output


def test_data_statistics_streamed_in_chunks_equal_those_of_the_whole_split(tmp_path, monkeypatch):
    import modelctl.data.pipeline as pipeline
    from modelctl.cli.data import describe_data

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    held = describe_data(str(spec), [])
    train = pipeline.prepare(load_spec(spec)).arrays("train").features["x"].astype(np.float64)
    assert held["features"]["x"]["mean"] == pytest.approx(train.mean(), abs=1e-6)
    assert held["features"]["x"]["std"] == pytest.approx(train.std(), abs=1e-6)
    assert held["features"]["x"]["max"] == pytest.approx(train.max(), abs=1e-6)
    monkeypatch.setattr(pipeline, "CACHE_BYTES", 0)
    monkeypatch.setattr(pipeline, "EVALUATION_BYTES", 0)
    monkeypatch.setattr(pipeline, "CHUNK_ROWS", 7)
    streamed = describe_data(str(spec), [])
    for key in ("mean", "std", "min", "max", "missing"):
        assert streamed["features"]["x"][key] == pytest.approx(held["features"]["x"][key], abs=1e-6)
    assert streamed["labels"] == held["labels"] and streamed["rows"] == held["rows"]
