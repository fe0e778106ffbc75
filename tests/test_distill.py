"""Knowledge distillation (`training.distillation`): the teacher checked at validate time at its line, a real
distilled run whose loss mixes the label loss and the distillation loss, and the student exported and verified."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import iris_data
from modelctl.cli.app import app
from modelctl.spec.validate import validate_file

TEACHER = f"""modelctl: 1
name: iris-teacher
seed: 5
{iris_data()}
model:
  layers:
    - dense: {{units: 32, activation: relu}}
    - dense: {{units: 32, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 1
  steps_per_epoch: 3
  optimizer: {{type: adam, learning_rate: 0.01}}
  metrics: [accuracy]
"""


def student(teacher: str, alpha: float | None = 0.3, extra: str = "") -> str:
    distillation = "" if alpha is None else \
        f"  distillation: {{teacher: {teacher}, temperature: 2.0, alpha: {alpha}}}\n"
    return f"""modelctl: 1
name: iris-student
seed: 5
{iris_data()}
model:
  layers:
    - dense: {{units: 4, activation: relu}}
    - dropout: 0.1
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 1
  steps_per_epoch: 3
  optimizer: {{type: adam, learning_rate: 0.01}}
  metrics: [accuracy]
{distillation}{extra}"""


def fake_run(folder: Path, *, classes=("setosa", "versicolor", "virginica"), features=None, label="species",
             kind="categorical") -> Path:
    """The files of a run folder that validate reads (a model file is only looked for)."""
    folder.mkdir(parents=True)
    spec = yaml.safe_load(TEACHER)
    if features is not None:
        spec["data"]["features"] = features
    (folder / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    (folder / "run.json").write_text(json.dumps({"name": "teacher", "status": "completed"}), encoding="utf-8")
    (folder / "preprocessing.json").write_text(json.dumps({"features": {}, "labels": {label: {
        "type": kind, "classes": list(classes)}}}))
    (folder / "model.keras").write_bytes(b"")
    return folder


def messages(path: Path) -> list[str]:
    return [f"{item.location}: {item.path}: {item.message}" for item in validate_file(path).errors]


def test_a_missing_teacher_is_an_error_at_its_line(write_spec):
    path = write_spec(student("runs/nothing"))
    [line] = messages(path)
    assert line.startswith(f"{path}:22:27: $.training.distillation.teacher: 'runs/nothing' does not exist")
    assert line.endswith("train the teacher first, or give the path of its run folder")


def test_a_teacher_of_other_classes_is_an_error_at_its_line(write_spec, tmp_path):
    fake_run(tmp_path / "teacher", classes=["a", "b"])
    path = write_spec(student("teacher"))
    assert messages(path) == [f"{path}:22:27: $.training.distillation.teacher: the teacher predicts 2 classes of "
                              "'species' but the student's output has 3"]


def test_a_teacher_reading_other_features_or_labels_is_refused(write_spec, tmp_path):
    fake_run(tmp_path / "pixels", features={"x": {"type": "numeric", "columns": ["petal_width"]}})
    fake_run(tmp_path / "other", label="kind")
    fake_run(tmp_path / "regression", kind="regression")
    assert messages(write_spec(student("pixels"), "a.yaml")) == [
        f"{tmp_path / 'a.yaml'}:22:27: $.training.distillation.teacher: the teacher reads feature 'x' as "
        '{"type": "numeric", "columns": ["petal_width"]}, this spec as {"type": "numeric", "columns": '
        '["sepal_length", "sepal_width", "petal_length", "petal_width"]}; both models must take the same raw input']
    assert messages(write_spec(student("other"), "b.yaml")) == [
        f"{tmp_path / 'b.yaml'}:22:27: $.training.distillation.teacher: the teacher predicts kind, not 'species'"]
    assert messages(write_spec(student("regression"), "c.yaml")) == [
        f"{tmp_path / 'c.yaml'}:22:27: $.training.distillation.teacher: the teacher's label 'species' is "
        "regression, not categorical"]


def test_a_teacher_whose_files_hold_the_wrong_shapes_is_an_error_at_its_line(write_spec, tmp_path):
    folder = fake_run(tmp_path / "teacher")
    (folder / "preprocessing.json").write_text('{"features": {}, "labels": ["species"]}')
    path = write_spec(student("teacher"))
    assert messages(path) == [f"{path}:22:27: $.training.distillation.teacher: 'teacher': "
                              f"{folder / 'preprocessing.json'}: $.labels: ['species'] is not of type 'object'"]


def test_a_student_with_a_numeric_label_is_refused(write_spec, tmp_path):
    fake_run(tmp_path / "teacher")
    text = student("teacher").replace("species: {column: species, type: categorical}",
                                      "petal: {column: petal_width, type: regression}")
    text = text.replace("x: {type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width]",
                        "x: {type: numeric, columns: [sepal_length, sepal_width, petal_length]")
    text = text.replace("dense: {units: 3, activation: softmax}", "dense: {units: 1}")
    text = text.replace("metrics: [accuracy]", "metrics: [mae]")
    path = write_spec(text)
    assert messages(path) == [f"{path}:22:17: $.training.distillation: distillation needs exactly one categorical "
                              "label; data.labels has petal (regression)"]


def test_a_runs_folder_means_its_newest_completed_run_and_other_folders_are_refused(write_spec, tmp_path):
    fake_run(tmp_path / "runs" / "iris-teacher" / "20260101T000000Z")
    (tmp_path / "runs" / "iris-teacher" / "20270101T000000Z").mkdir()  # no model yet: not a candidate
    assert messages(write_spec(student("runs/iris-teacher"))) == []
    (tmp_path / "empty").mkdir()
    path = write_spec(student("empty"))
    assert messages(path) == [f"{path}:22:27: $.training.distillation.teacher: 'empty' is not a run folder (it has "
                              "no run.json), a spec's runs folder with a completed run, or a SavedModel folder (it "
                              "has no saved_model.pb)"]
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "saved_model.pb").write_bytes(b"")
    path = write_spec(student("bare"))
    assert messages(path) == [f"{path}:22:27: $.training.distillation.teacher: 'bare': this SavedModel has no "
                              "assets/modelctl_metadata.json, which says what it takes and gives; give a SavedModel "
                              "written by `modelctl export`, or the teacher's run folder"]


def test_temperature_and_alpha_are_bounded_by_the_schema(write_spec, tmp_path):
    fake_run(tmp_path / "teacher")
    text = student("teacher").replace("temperature: 2.0, alpha: 0.3", "temperature: 0, alpha: 1.5")
    path = write_spec(text)
    found = messages(path)
    assert len(found) == 2
    assert found[0].startswith(f"{path}:22:49: $.training.distillation.temperature: ")
    assert found[1].startswith(f"{path}:22:59: $.training.distillation.alpha: ")


STUDENT_RUN = ["training.epochs=2", "training.steps_per_epoch=null", "training.steps_per_execution=1"]
"""Two whole epochs (7 steps each), one step per call: an epoch a resumed run can start again alike."""


def interrupt_second_epoch():
    """A Keras callback that sends SIGTERM as the second step of the second epoch begins, as a supervisor would."""
    import signal

    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch, self.steps = epoch, 0

        def on_train_batch_begin(self, batch, logs=None):
            self.steps += 1
            if self.epoch == 1 and self.steps == 2:
                signal.raise_signal(signal.SIGTERM)

    return Interrupt()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A teacher run and its SavedModel; students trained without distillation, with alpha 1 from the run,
    and with alpha 0 from the SavedModel, whole and interrupted then resumed."""
    from typer.testing import CliRunner

    from conftest import quiet_console
    from modelctl.spec.run import load_run_spec
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import TrainingInterrupted, train

    root = tmp_path_factory.mktemp("distill")
    runner = CliRunner()
    (root / "teacher.yaml").write_text(TEACHER, encoding="utf-8")
    done = runner.invoke(app, ["train", str(root / "teacher.yaml"), "--quiet", "--output", str(root / "runs")])
    assert done.exit_code == 0, done.output
    [teacher_run] = (root / "runs" / "iris-teacher").iterdir()
    done = runner.invoke(app, ["export", str(teacher_run), "--format", "saved_model"])
    assert done.exit_code == 0, done.output
    saved_model = teacher_run / "export" / "saved_model"
    runs = {"teacher": teacher_run}
    for name, teacher, alpha in (("plain", None, None), ("labels", "runs/iris-teacher", 1.0),
                                 ("distilled", str(saved_model), 0.0)):
        spec = root / f"{name}.yaml"
        spec.write_text(student(teacher, alpha), encoding="utf-8")
        output = root / name
        sets = [item for value in STUDENT_RUN for item in ("--set", value)]
        done = runner.invoke(app, ["train", str(spec), *sets, "--quiet", "--output", str(output)])
        assert done.exit_code == 0, done.output
        [runs[name]] = [path.parent for path in output.glob("*/*/run.json")]
    document = load_spec(root / "distilled.yaml", STUDENT_RUN)
    with pytest.raises(TrainingInterrupted):
        train(document, root / "cut", quiet_console(), quiet=True, extra_callbacks=[interrupt_second_epoch()])
    [cut] = (root / "cut" / "iris-student").iterdir()
    train(load_run_spec(cut), root / "cut", quiet_console(), quiet=True, resume=cut)
    runs["resumed"] = cut
    return root, runs


def history(run: Path) -> dict:
    lines = (run / "history.csv").read_text(encoding="utf-8").splitlines()
    return {key: float(value) for key, value in zip(lines[0].split(","), lines[-1].split(","))}


@pytest.mark.slow
def test_alpha_weighs_the_label_loss_against_the_teacher(trained):
    _, runs = trained
    plain, labels, distilled = (history(runs[name]) for name in ("plain", "labels", "distilled"))
    assert "distillation_loss" not in plain
    # alpha 1: the label loss alone, as without distillation; the distillation loss is logged beside it.
    assert labels["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert labels["val_loss"] == pytest.approx(plain["val_loss"], rel=1e-5)
    assert labels["distillation_loss"] > 0 and labels["val_distillation_loss"] > 0
    # alpha 0: the distillation loss alone; the validation loss stays the label loss.
    assert distilled["loss"] == pytest.approx(distilled["distillation_loss"], rel=1e-4)
    assert abs(distilled["loss"] - plain["loss"]) > 1e-3


@pytest.mark.slow
def test_the_run_keeps_the_student_and_records_its_teacher(trained):
    from modelctl.data.fingerprints import content_digest
    from modelctl.model.saving import load_model

    _, runs = trained
    for name, kind, folder in (("labels", "run", runs["teacher"]),
                               ("distilled", "saved_model", runs["teacher"] / "export" / "saved_model")):
        record = json.loads((runs[name] / "run.json").read_text(encoding="utf-8"))["distillation"]
        assert (record["teacher"], record["kind"]) == (str(folder.resolve()), kind)
        model_files = folder / "model.keras" if kind == "run" else folder
        assert record["fingerprint"] == content_digest(model_files) and record["temperature"] == 2.0
    student_params = load_model(runs["distilled"]).count_params()
    assert student_params == load_model(runs["plain"]).count_params() < load_model(runs["teacher"]).count_params()
    assert load_model(runs["distilled"] / "checkpoints" / "last.keras").count_params() == student_params


@pytest.mark.slow
def test_the_student_exports_and_verifies(trained, runner):
    _, runs = trained
    done = runner.invoke(app, ["export", str(runs["labels"]), "--format", "tflite"])
    assert done.exit_code == 0, done.output
    assert (runs["labels"] / "export" / "model.tflite").is_file()


@pytest.mark.slow
def test_an_interrupted_distilled_run_resumes_to_the_same_weights(trained):
    import numpy as np

    from modelctl.model.saving import load_model

    _, runs = trained
    resumed, whole = runs["resumed"], runs["distilled"]
    assert [line.split(",")[0] for line in (resumed / "history.csv").read_text().splitlines()[1:]] == ["1", "2"]
    assert history(resumed)["distillation_loss"] == pytest.approx(history(whole)["distillation_loss"], rel=1e-5)
    for got, want in zip(load_model(resumed).get_weights(), load_model(whole).get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)


@pytest.mark.slow
def test_a_distilled_run_resumes_only_with_the_teacher_it_started_with(trained, tmp_path):
    import shutil

    from conftest import quiet_console
    from modelctl.runs import RunError
    from modelctl.spec.run import load_run_spec
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import TrainingInterrupted, train

    _, runs = trained
    teacher = tmp_path / "teacher"
    shutil.copytree(runs["teacher"] / "export" / "saved_model", teacher)
    spec = tmp_path / "student.yaml"
    spec.write_text(student(str(teacher), 0.0), encoding="utf-8")
    with pytest.raises(TrainingInterrupted):
        train(load_spec(spec, STUDENT_RUN), tmp_path / "cut", quiet_console(), quiet=True,
              extra_callbacks=[interrupt_second_epoch()])
    [cut] = (tmp_path / "cut" / "iris-student").iterdir()
    (teacher / "assets" / "notes.txt").write_text("a file more", encoding="utf-8")
    with pytest.raises(RunError) as caught:
        train(load_run_spec(cut), tmp_path / "cut", quiet_console(), quiet=True, resume=cut)
    assert str(caught.value).startswith(f"{cut}: the teacher {teacher} has changed since this run started")
    (teacher / "assets" / "notes.txt").unlink()
    train(load_run_spec(cut), tmp_path / "cut", quiet_console(), quiet=True, resume=cut)
    assert json.loads((cut / "run.json").read_text(encoding="utf-8"))["status"] == "completed"


@pytest.mark.slow
def test_a_teacher_of_other_classes_in_the_data_stops_training_at_its_line(trained, runner, tmp_path):
    import shutil

    _, runs = trained
    copy = tmp_path / "teacher"
    shutil.copytree(runs["teacher"], copy, ignore=shutil.ignore_patterns("export", "checkpoints"))
    fitted = json.loads((copy / "preprocessing.json").read_text(encoding="utf-8"))
    fitted["labels"]["species"]["classes"].reverse()
    (copy / "preprocessing.json").write_text(json.dumps(fitted), encoding="utf-8")
    spec = tmp_path / "student.yaml"
    spec.write_text(student("teacher"), encoding="utf-8")
    done = runner.invoke(app, ["train", str(spec), "--dry-run"])
    assert done.exit_code == 1
    assert f"{spec}:22:27: $.training.distillation.teacher: the teacher's classes of 'species' are ['virginica', " \
           "'versicolor', 'setosa'] but this spec's data gives ['setosa', 'versicolor', 'virginica']; the classes, " \
           "and their order, must be the same" in " ".join(done.output.split())
