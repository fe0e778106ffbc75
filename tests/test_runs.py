"""Run folders (`modelctl.runs`): the one "newest completed run" rule every command follows, the records' schemas,
a cross-validation's folder as a run every command understands, and the run folder's file names spelled once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, iris_data
from modelctl.errors import UsageError
from modelctl.runs import CrossValidation, Fitted, RunError, RunFolder, find_run, locate, newest
from modelctl.runs.record import RunRecord

SPEC = f"""
modelctl: 1
name: iris
seed: 5
{iris_data()}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 2
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
"""

FITTED = {"features": {"x": {"type": "numeric", "columns": ["a", "b"], "width": 2}},
          "labels": {"species": {"type": "categorical", "column": "species", "classes": ["a", "b", "c"]}}}


def fake_run(folder: Path, status: str = "completed", *, epochs: int | None = 3, model: bool = True,
             **record) -> RunFolder:
    """The files of a run folder that choosing a run reads (the model file is only looked for)."""
    folder.mkdir(parents=True)
    run = RunFolder(folder)
    run.write_record({"name": "iris", "status": status, "epochs_completed": epochs, **record})
    run.write_fitted(FITTED)
    if model:
        run.model_file.write_bytes(b"")
    return run


# The one rule --------------------------------------------------------------------------------------------------


def test_the_newest_completed_run_is_chosen_and_a_newer_interrupted_one_is_named_with_how_to_resume(tmp_path,
                                                                                                     capsys):
    parent = tmp_path / "runs" / "iris"
    older = fake_run(parent / "20260101T000000Z")
    newer = fake_run(parent / "20260102T000000Z", "interrupted", epochs=6, model=False)
    assert find_run(parent) == older
    [line] = capsys.readouterr().err.splitlines()
    assert line == (f"note: {newer} is newer but was interrupted after epoch 6 (continue it with: modelctl train "
                    f"--resume {newer}); using {older}, the newest completed run")
    assert locate(parent) == (older, older.model_file)
    assert find_run(parent, completed_only=False) == newer  # --resume and `track` take the newest in any state


def test_a_still_running_or_diverged_newer_run_is_passed_over_saying_why(tmp_path, capsys):
    parent = tmp_path / "iris"
    older = fake_run(parent / "20260101T000000Z")
    fake_run(parent / "20260102T000000Z", "diverged", model=False)
    running = fake_run(parent / "20260103T000000Z", "running", epochs=None, model=False)
    assert newest(parent) == older
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"note: {running} is newer but has not completed: it is still training, or was stopped "
                           "without a word")
    assert line.endswith(f"using {older}, the newest completed run (and 1 more newer runs that have not completed)")


def test_no_completed_run_and_a_named_unfinished_run_are_errors_that_say_what_to_do(tmp_path):
    parent = tmp_path / "iris"
    cut = fake_run(parent / "20260102T000000Z", "interrupted", epochs=2, model=False)
    with pytest.raises(RunError) as error:
        find_run(parent)
    assert str(error.value) == (f"{parent}: holds no completed run; the newest, {cut}, was interrupted after epoch 2 "
                                f"(continue it with: modelctl train --resume {cut})")
    with pytest.raises(RunError, match=re.escape(f"{cut}: the run was interrupted after epoch 2")):
        find_run(cut)
    assert find_run(cut, completed_only=False) == cut
    with pytest.raises(UsageError, match="no such run folder"):
        find_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a run folder"):
        find_run(tmp_path / "empty")


def test_a_completed_status_without_its_model_is_not_a_completed_run(tmp_path):
    parent = tmp_path / "iris"
    older = fake_run(parent / "20260101T000000Z")
    fake_run(parent / "20260102T000000Z", model=False)
    assert find_run(parent) == older


def test_load_model_and_a_teacher_take_the_run_every_command_takes(tmp_path, capsys):
    from modelctl.model.saving import model_file
    from modelctl.spec.teacher import read_teacher

    parent = tmp_path / "runs" / "teacher"
    older = fake_run(parent / "20260101T000000Z")
    (older.path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    fake_run(parent / "20260102T000000Z", "interrupted", epochs=1, model=False)
    assert model_file(parent) == older.model_file
    teacher = read_teacher("runs/teacher", base_dir=tmp_path)
    assert teacher.folder == older.path and teacher.labels["species"].classes == ["a", "b", "c"]
    assert capsys.readouterr().err.count("is newer but was interrupted after epoch 1") == 2


# Records -------------------------------------------------------------------------------------------------------


def test_records_are_schema_checked_naming_every_problem(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.json").write_text(json.dumps({"name": "iris", "status": "paused", "fold": {"index": -1}}))
    with pytest.raises(RunError) as error:
        RunFolder(folder).record
    assert str(error.value).splitlines() == [
        f"{folder / 'run.json'}: $.fold: 'folds' is a required property",
        f"{folder / 'run.json'}: $.fold.index: -1 is less than the minimum of 0",
        f"{folder / 'run.json'}: $.status: 'paused' is not one of ['running', 'completed', 'interrupted', "
        "'diverged']"]
    (folder / "preprocessing.json").write_text(json.dumps({"features": {"x": {}}, "labels": {"y": {
        "type": "binary", "classes": [0, 1]}}}))
    with pytest.raises(RunError) as error:
        RunFolder(folder).fitted
    assert str(error.value).splitlines() == [
        f"{folder / 'preprocessing.json'}: $.features.x: 'type' is a required property",
        f"{folder / 'preprocessing.json'}: $.labels.y.classes[0]: 0 is not of type 'string'",
        f"{folder / 'preprocessing.json'}: $.labels.y.classes[1]: 1 is not of type 'string'"]


def test_the_fitted_record_is_typed_and_written_back_unchanged(tmp_path):
    fitted = Fitted.from_json(FITTED, source="test")
    assert fitted.label_names == ["species"] and fitted.first_label.classes == ["a", "b", "c"]
    assert fitted.labels["species"].type == "categorical" and fitted.labels["species"].column == "species"
    assert fitted.features["x"].type == "numeric" and fitted.features["x"].columns == ["a", "b"]
    assert fitted.to_json() == FITTED
    run = fake_run(tmp_path / "run")
    assert json.loads(run.fitted_file.read_text()) == FITTED and run.fitted == fitted
    assert run.record == RunRecord({"name": "iris", "status": "completed", "epochs_completed": 3})


def test_cross_validation_summary_is_the_mean_and_sample_deviation_of_the_folds(tmp_path):
    import numpy as np

    folds = [{"validation": {"loss": 0.5, "accuracy": 0.8}, "test": {"loss": 0.6}},
             {"validation": {"loss": 0.3, "accuracy": 0.9}, "test": {"loss": 0.4}},
             {"validation": {"loss": 0.4, "accuracy": 1.0}, "test": {"loss": 0.7}}]
    result = CrossValidation.of(folds)
    accuracy = result.summary["validation"]["accuracy"]
    assert accuracy["mean"] == pytest.approx(np.mean([0.8, 0.9, 1.0]))
    assert accuracy["std"] == pytest.approx(np.std([0.8, 0.9, 1.0], ddof=1))
    assert accuracy["values"] == [0.8, 0.9, 1.0]
    assert result.best_fold() == 2
    run = fake_run(tmp_path / "cv", folds=3, model=False)
    from modelctl.runs import read_cross_validation, write_cross_validation

    write_cross_validation(run, result)
    assert read_cross_validation(run) == result
    written = json.loads((run.path / "cross_validation.json").read_text())
    assert [entry["run"] for entry in written["per_fold"]] == ["fold-1", "fold-2", "fold-3"]


def test_the_run_folder_file_names_are_spelled_in_modelctl_runs_alone():
    names = re.compile(r"run\.json|(?<![.\w])preprocessing\.json|model\.keras|metrics\.json|history\.csv|"
                       r"cross_validation\.json")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted((ROOT / "modelctl").rglob("*.py")) if "runs" not in path.relative_to(ROOT).parts
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if names.search(line)]
    assert found == []


# Real runs -----------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_after_an_interrupted_run_every_command_takes_the_completed_run_before_it(write_spec, tmp_path, runner):
    """Issue 29, item 9: `eval`, `export` and `serve` of the spec's runs folder picked the interrupted run and
    failed (no model file) while `modelctl.load_model` took the run before it."""
    import modelctl
    from modelctl.cli.app import app
    from modelctl.serve import open_model
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import TrainingInterrupted, train
    from test_train import _InterruptAt
    from conftest import quiet_console

    document = load_spec(write_spec(SPEC))
    done = train(document, tmp_path / "runs", quiet_console(), quiet=True)
    with pytest.raises(TrainingInterrupted):
        train(document, tmp_path / "runs", quiet_console(), quiet=True, extra_callbacks=[_InterruptAt(1, execution=1)])
    cut = max((tmp_path / "runs" / "iris").iterdir())
    assert cut != done.run_dir and RunFolder(cut).record.status == "interrupted"
    parent = tmp_path / "runs" / "iris"
    result = runner.invoke(app, ["eval", str(parent), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"] == str(done.run_dir)
    epochs = RunFolder(cut).record.epochs_completed
    assert epochs and f"note: {cut} is newer but was interrupted after epoch {epochs}" in result.stderr
    assert f"modelctl train --resume {cut}" in result.stderr and result.stderr.count("is newer but") == 1
    predicted = runner.invoke(app, ["predict", str(parent), str(ROOT / "examples" / "iris" / "iris.csv")])
    assert predicted.exit_code == 0, predicted.output
    assert open_model(parent, backend="keras").path == done.run_dir / "model.keras"
    assert [weights.tolist() for weights in modelctl.load_model(parent).get_weights()] == \
        [weights.tolist() for weights in modelctl.load_model(done.run_dir).get_weights()]


@pytest.mark.slow
def test_a_cross_validation_is_a_run_folder_every_command_understands(write_spec, tmp_path, runner):
    """Issue 29, item 8: after `train --folds`, `eval runs/<name>` failed with a misleading data-path error and
    `compare` with `metrics.json: no such file`."""
    import numpy as np

    from modelctl.cli.app import app

    spec = write_spec(SPEC)
    result = runner.invoke(app, ["train", str(spec), "--folds", "3", "--set", "training.epochs=1", "--quiet",
                                 "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    parent = tmp_path / "runs" / "iris"
    [folder] = list(parent.iterdir())
    run = RunFolder(folder)
    assert run.record.status == "completed" and run.record.kind == "cross_validation"
    evaluated = runner.invoke(app, ["eval", str(parent), "--format", "json"])
    assert evaluated.exit_code == 0, evaluated.output
    payload = json.loads(evaluated.stdout)
    assert payload["run"] == str(folder) and payload["folds"] == [str(run.fold(n)) for n in (1, 2, 3)]
    per_fold = [json.loads((run.fold(n).path / "eval" / "test" / "eval.json").read_text())["metrics"]["species"]
                ["accuracy"] for n in (1, 2, 3)]
    spread = payload["spread"]["species"]["accuracy"]
    assert spread["values"] == per_fold
    assert spread["mean"] == pytest.approx(np.mean(per_fold))
    assert spread["std"] == pytest.approx(np.std(per_fold, ddof=1))
    # scikit-learn's accuracy of each fold's model on the test split, against Keras's at the end of training.
    keras_test = json.loads((folder / "cross_validation.json").read_text())["metrics"]["test"]["accuracy"]
    assert spread["mean"] == pytest.approx(keras_test["mean"], abs=1e-6)
    table = runner.invoke(app, ["eval", str(folder)])
    assert table.exit_code == 0 and "mean" in table.stdout and "fold 3" in table.stdout
    compared = runner.invoke(app, ["compare", str(folder), str(run.fold(1))])
    assert compared.exit_code == 0, compared.output
    assert re.search(r"test\.accuracy\s+\d\.\d{4} ± \d\.\d{4}\s+\d\.\d{4}", compared.stdout)
    for command in (["export", str(parent)], ["predict", str(parent), str(ROOT / "examples" / "iris" / "iris.csv")],
                    ["serve", str(parent)]):
        refused = runner.invoke(app, command)
        assert refused.exit_code == 1, (command, refused.output)
        assert "a cross-validation of 3 folds has no model of its own, one per fold" in refused.output
        assert f"{run.fold(1)} to {run.fold(3)}" in refused.output and "lowest validation loss" in refused.output
    resumed = runner.invoke(app, ["train", "--resume", str(folder)])
    assert resumed.exit_code == 2 and "resume one of its folds" in resumed.output


def test_an_unfinished_cross_validation_is_passed_over_naming_its_folds(tmp_path, capsys):
    parent = tmp_path / "iris"
    older = fake_run(parent / "20260101T000000Z")
    cut = fake_run(parent / "20260102T000000Z", "interrupted", epochs=None, model=False, folds=5, folds_completed=2)
    assert find_run(parent) == older
    assert capsys.readouterr().err.startswith(f"note: {cut} is newer but was interrupted after 2 of 5 folds")
