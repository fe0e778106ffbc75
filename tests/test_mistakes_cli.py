"""Issue 29's rough edges and fitted facts, as a user meets them on the command line: arguments checked before
TensorFlow starts (eval's run and gates, a spec without data), statuses on stderr beside YAML on stdout, a fitted
class count that does not fit the output, a run folder deleted while training, a binary label's stray value in
evaluation data, and TensorFlow's native log lines kept off every command's output."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, quiet_console
from modelctl.cli.app import app

IRIS = ROOT / "examples" / "iris" / "spec.yaml"


def _modelctl(*arguments: str, cwd: Path, check_tensorflow: bool = False) -> subprocess.CompletedProcess:
    """`modelctl ARGUMENTS` in a fresh process; with `check_tensorflow`, its last stdout line says whether
    TensorFlow was imported."""
    code = ("import sys\nfrom modelctl.cli.app import app\nsys.argv = ['modelctl', *sys.argv[1:]]\n"
            "try:\n    app()\nexcept SystemExit as done:\n    code = done.code\n")
    if check_tensorflow:
        code += "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    code += "sys.exit(code)\n"
    return subprocess.run([sys.executable, "-c", code, *arguments], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def _run_folder(folder: Path) -> Path:
    """A run folder as `modelctl train` leaves it, with an empty model file: enough for the checks made before
    TensorFlow is imported."""
    run = folder / "runs" / "iris" / "20260101T000000Z"
    run.mkdir(parents=True)
    text = IRIS.read_text().replace("path: iris.csv", f"path: {ROOT / 'examples' / 'iris' / 'iris.csv'}")
    (run / "spec.yaml").write_text(text)
    (run / "run.json").write_text(json.dumps({"name": "iris", "status": "completed"}))
    (run / "model.keras").write_bytes(b"")
    (run / "preprocessing.json").write_text(json.dumps({"features": {}, "labels": {
        "species": {"type": "categorical", "column": "species", "classes": ["setosa", "versicolor", "virginica"]}}}))
    return run


def test_eval_checks_its_gates_before_tensorflow_starts(tmp_path):
    run = _run_folder(tmp_path)
    done = _modelctl("eval", str(run), "--fail-under", "acuracy=0.9", cwd=tmp_path, check_tensorflow=True)
    assert done.returncode == 2, done.stderr
    assert "--fail-under 'acuracy=0.9': this evaluation reports no metric 'acuracy'. Metrics: 'accuracy', " \
           "'precision', 'precision.macro', 'precision.weighted'," in done.stderr
    assert done.stderr.rstrip().endswith("Did you mean 'accuracy'?")
    assert done.stdout.strip().splitlines()[-1] == "tensorflow imported: False"
    done = _modelctl("eval", str(run), "--fail-under", "accuracy=high", cwd=tmp_path)
    assert done.returncode == 2
    assert "--fail-under 'accuracy=high': expected metric=number, such as accuracy=0.95; 'high' is not a number" \
        in done.stderr
    done = _modelctl("eval", str(tmp_path / "runs" / "nosuch"), cwd=tmp_path, check_tensorflow=True)
    assert done.returncode == 2 and "no such run folder" in done.stderr
    assert done.stdout.strip().splitlines()[-1] == "tensorflow imported: False"


def test_gate_names_are_the_rows_of_the_metrics_table():
    from modelctl.evaluation.evaluate import gate_names

    assert gate_names({"y": "binary"}, ["f1", "roc_auc"]) == ["f1", "f1.positive", "f1.macro", "f1.weighted",
                                                               "roc_auc"]
    assert gate_names({"a": "categorical", "b": "regression"})[-6:] == ["a.top_k_accuracy", "b.mse", "b.rmse",
                                                                         "b.mae", "b.r2", "b.mape"]


def test_a_spec_without_data_is_refused_before_tensorflow_starts(tmp_path):
    spec = tmp_path / "model.yaml"
    spec.write_text("modelctl: 1\nname: bare\nseed: 1\nmodel:\n  inputs: {x: {shape: [4]}}\n  layers:\n"
                    "    - dense: {units: 1}\n")
    done = _modelctl("train", str(spec), cwd=tmp_path, check_tensorflow=True)
    assert done.returncode == 1, done.stderr
    assert "the spec has no `data` section; add one to train" in done.stderr
    assert done.stdout.strip().splitlines()[-1] == "tensorflow imported: False"


def test_print_resolved_writes_yaml_alone_to_stdout(runner):
    import yaml

    result = runner.invoke(app, ["validate", "--print-resolved", str(IRIS)])
    assert result.exit_code == 0
    assert yaml.safe_load(result.stdout)["name"] == "iris"
    assert "spec valid" not in result.stdout and result.stderr.strip() == "1 spec valid"


def _many_classes(folder: Path) -> Path:
    with (folder / "glass.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["a", "b", "glass"])
        writer.writerows([[index % 7, index % 5, index % 214] for index in range(214 * 5)])
    spec = folder / "glass.yaml"
    spec.write_text("""modelctl: 1
name: glass
seed: 1
data:
  source: {format: csv, path: glass.csv}
  features:
    x: {type: numeric, columns: [a, b]}
  labels:
    glass: {type: categorical, column: glass}
  split: {train: 0.6, validation: 0.2, test: 0.2, stratify: true}
model:
  layers:
    - dense: {units: 8, activation: relu}
    - dense: {units: 3, activation: softmax}
      name: glass
""")
    return spec


def test_a_fitted_class_count_that_does_not_fit_the_output_stops_before_training(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _many_classes(tmp_path)
    result = runner.invoke(app, ["train", str(spec), "--output", str(tmp_path / "runs"), "--no-cache"])
    assert result.exit_code == 1, result.output
    assert f"{spec}:14:22: $.model.layers[1].dense.units: output 'glass' has 3 units but label 'glass' has 214 " \
           "classes in the training split (column 'glass': '0', '1', '2'" in result.output
    assert "set `units: 214`" in result.output and not (tmp_path / "runs").exists()


def test_a_run_folder_deleted_while_training_is_a_training_error(write_spec, tmp_path):
    import shutil

    import keras

    from modelctl.errors import UsageError
    from modelctl.spec.validate import load_spec
    from modelctl.training.errors import TrainingError
    from modelctl.training.trainer import train

    class DeleteTheRun(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                shutil.rmtree(tmp_path / "runs")

    document = load_spec(IRIS, ["training.epochs=3", "training.early_stopping=false"])
    with pytest.raises(TrainingError) as raised:
        train(document, tmp_path / "runs", quiet_console(), quiet=True, extra_callbacks=[DeleteTheRun()])
    assert not isinstance(raised.value, UsageError) and raised.value.exit_code == 1
    assert "was removed during epoch 2, which could not be saved" in str(raised.value)


CHURN = """modelctl: 1
name: churn
seed: 1
data:
  source: {format: csv, path: churn.csv}
  features:
    age: {type: numeric, preprocessing: [standardize]}
  labels:
    churned: {type: binary, column: churn, positive: churn}
  split: {train: 0.6, validation: 0.2, test: 0.2}
model:
  layers:
    - dense: {units: 1, activation: sigmoid}
      name: churned
training:
  epochs: 1
"""


@pytest.mark.slow
def test_eval_data_with_a_value_outside_a_binary_label_s_classes_is_refused_at_its_row(runner, tmp_path,
                                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    with open("churn.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["age", "churn"])
        writer.writerows([[20 + index % 40, "churn" if index % 3 == 0 else "stay"] for index in range(120)])
    Path("spec.yaml").write_text(CHURN)
    trained = runner.invoke(app, ["train", "spec.yaml", "--quiet", "--output", "runs"])
    assert trained.exit_code == 0, trained.output
    [run] = Path("runs/churn").iterdir()
    assert json.loads((run / "preprocessing.json").read_text())["labels"]["churned"]["classes"] == ["stay", "churn"]
    with open("new.csv", "w", newline="") as file:
        csv.writer(file).writerows([["age", "churn"], [30, "stay"], [31, "churn"], [32, "maybe"]])
    result = runner.invoke(app, ["eval", str(run), "--data", "new.csv"])
    assert result.exit_code == 1
    assert "new.csv:row 4: column 'churn': label 'churned' has value 'maybe', which is not one of its classes: " \
           "'stay', 'churn'" in result.output


NATIVE_LINES = ("absl::InitializeLog", "cudart_stub", "port.cc")


@pytest.mark.slow
def test_tensorflow_s_native_log_lines_stay_off_export_explain_and_search(tmp_path):
    sets = ["--set", "training.epochs=1", "--set", "training.steps_per_epoch=2"]
    trained = _modelctl("train", str(IRIS), *sets, "--quiet", "--output", str(tmp_path / "runs"), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    [run] = (tmp_path / "runs" / "iris").iterdir()
    for arguments in (["export", str(run), "--format", "onnx"],
                      ["explain", str(run), "--method", "shap", "--examples", "1", "--repeats", "1"],
                      ["search", str(IRIS), "--trials", "1", *sets, "--output", str(tmp_path / "search")]):
        done = _modelctl(*arguments, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert not [line for line in (done.stdout + done.stderr).splitlines()
                    if any(mark in line for mark in NATIVE_LINES)], (arguments, done.stderr)
