"""`modelctl ensemble`: the combining layer on known outputs, --method and --weights, the checks that refuse
members that do not fit together, and an ensemble of two short iris runs through eval, export and a reload in a
new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, iris_data

from modelctl.errors import UsageError

SPEC = f"""
modelctl: 1
name: iris-member
seed: 3
{iris_data("{train: 0.6, validation: 0.2, test: 0.2, stratify: true}")}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 1
  steps_per_epoch: 3
  optimizer: {{type: adam, learning_rate: 0.05}}
  metrics: [accuracy]
"""

FIRST = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype="float32")
SECOND = np.array([[0.2, 0.5, 0.3], [0.2, 0.2, 0.6]], dtype="float32")
THIRD = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1]], dtype="float32")


def combine(outputs, **arguments):
    from modelctl.model.ensemble import Combine

    return np.asarray(Combine(**arguments)([np.asarray(output) for output in outputs]))


def test_mean_averages_the_members_outputs():
    np.testing.assert_allclose(combine([FIRST, SECOND, THIRD], method="mean"), (FIRST + SECOND + THIRD) / 3,
                               rtol=1e-6)


def test_weighted_sums_the_members_outputs_by_weight():
    np.testing.assert_allclose(combine([FIRST, SECOND, THIRD], method="weighted", member_weights=[0.5, 0.3, 0.2]),
                               0.5 * FIRST + 0.3 * SECOND + 0.2 * THIRD, rtol=1e-6)


def test_vote_gives_the_share_of_members_choosing_each_class():
    # Row 1: classes 0, 1, 0 win; row 2: classes 2, 2, 0 win.
    np.testing.assert_allclose(combine([FIRST, SECOND, THIRD], method="vote", vote="argmax"),
                               [[2 / 3, 1 / 3, 0], [1 / 3, 0, 2 / 3]], rtol=1e-6)


def test_a_member_scoring_two_classes_alike_votes_once_for_the_first():
    tied = np.array([[0.4, 0.4, 0.2]], dtype="float32")
    np.testing.assert_allclose(combine([tied, tied[:, ::-1].copy()], method="vote"), [[0.5, 0.5, 0]], rtol=1e-6)


def test_threshold_vote_counts_each_class_scored_at_least_a_half():
    scores = [np.array([[0.9], [0.2]]), np.array([[0.5], [0.7]]), np.array([[0.1], [0.4]])]
    np.testing.assert_allclose(combine(scores, method="vote", vote="threshold"), [[2 / 3], [1 / 3]], rtol=1e-6)


@pytest.mark.parametrize("arguments, message", [
    ({"method": "median"}, "Invalid value for argument `method`. Expected one of ('mean', 'weighted', 'vote'). "
                           "Received: method='median'"),
    ({"method": "mean", "member_weights": [1.0]}, "`member_weights` go with method='weighted' only. Received: "
                                                  "method='mean', member_weights=[1.0]"),
    ({"method": "vote", "vote": "rank"}, "Invalid value for argument `vote`. Expected one of ('argmax', "
                                         "'threshold'). Received: vote='rank'"),
])
def test_combine_refuses_bad_arguments(arguments, message):
    from modelctl.model.ensemble import Combine

    with pytest.raises(ValueError) as error:
        Combine(**arguments)
    assert str(error.value) == message


def test_weights_are_normalized_and_say_so():
    from modelctl.ensemble.weights import resolve

    assert resolve("weighted", "2,1,1", members=3) == ("weighted", [0.5, 0.25, 0.25],
                                                       "weights normalized to sum to 1: 0.5, 0.25, 0.25")
    assert resolve("weighted", "0.5,0.3,0.2", members=3)[2] == ""
    assert resolve("mean", None, members=2) == ("mean", None, "")


@pytest.mark.parametrize("method, weights, message", [
    ("median", None, "--method: 'median' is not a known method. Expected one of 'mean', 'weighted' or 'vote'. "
                     "Did you mean 'mean'?"),
    ("mean", "1,2", "--weights go with --method weighted; received --method mean"),
    ("weighted", None, "--method weighted needs --weights: 2 numbers, one per run in the order given, such as "
                       "--weights 1,1"),
    ("weighted", "1,2,3", "--weights: 3 weights for 2 runs; give one per run, in the order given"),
    ("weighted", "1,-2", "--weights: every weight must be a finite number >= 0; received -2"),
    ("weighted", "1,x", "--weights: 'x' is not a number; give numbers separated by commas, such as --weights "
                        "0.5,0.3,0.2"),
    ("weighted", "0,0", "--weights: at least one weight must be above 0"),
])
def test_bad_method_or_weights_are_usage_errors(method, weights, message):
    from modelctl.ensemble.weights import resolve

    with pytest.raises(UsageError) as error:
        resolve(method, weights, members=2)
    assert str(error.value) == message


def _member(inputs: dict, outputs: int, labels: dict, name: str = "run"):
    """A `Member` around a small untrained model with raw `inputs` (name -> width) and `outputs` units."""
    from pathlib import Path

    import keras

    from modelctl.ensemble.members import Member

    tensors = {key: keras.Input(shape=(width,), name=key) for key, width in inputs.items()}
    joined = list(tensors.values())[0] if len(tensors) == 1 else keras.layers.Concatenate()(list(tensors.values()))
    model = keras.Model(tensors, keras.layers.Dense(outputs)(joined))
    from modelctl.runs import Fitted

    return Member(Path(name), None, {}, Fitted.from_json({"features": {}, "labels": labels}, source=name), model)


def test_members_with_other_inputs_or_outputs_are_refused_naming_what_differs():
    from modelctl.ensemble import EnsembleError
    from modelctl.ensemble.members import check_models

    labels = {"species": {"type": "categorical", "classes": ["a", "b", "c"]}}
    first = _member({"x": 4}, 3, labels, "runs/a")
    with pytest.raises(EnsembleError) as error:
        check_models([first, _member({"x": 5}, 3, labels, "runs/b"), _member({"x": 4}, 2, labels, "runs/c"),
                      _member({"x": 4}, 3, {"species": {"type": "categorical", "classes": ["a", "b", "d"]}},
                              "runs/d")])
    assert str(error.value).splitlines() == [
        "member 2 (runs/b) takes other inputs than member 1: 'x' (float32, shape (None, 5)); member 1 takes 'x' "
        "(float32, shape (None, 4))",
        "member 3 (runs/c) gives other outputs than member 1: shape (None, 2); member 1 gives shape (None, 3)",
        "member 4 (runs/d): label 'species' is categorical with classes ['a', 'b', 'd']; member 1's is categorical "
        "with classes ['a', 'b', 'c']",
    ]


def test_vote_is_refused_for_regression():
    from modelctl.ensemble import EnsembleError
    from modelctl.ensemble.create import _votes

    member = _member({"x": 4}, 1, {"width": {"type": "regression"}})
    with pytest.raises(EnsembleError) as error:
        _votes(member, ["width"])
    assert str(error.value) == ("--method vote: label 'width' is regression, and members vote for classes; use "
                                "--method mean or weighted")


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Three short runs: two on the same split (different layers), one with another seed (another split)."""
    from rich.console import Console

    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    folder = tmp_path_factory.mktemp("ensemble")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    quiet = Console(file=open(os.devnull, "w"))
    runs = []
    for overrides in ([], ["model.layers[0].dense.units=16"], ["seed=4"]):
        runs.append(train(load_spec(spec, overrides), folder / "runs", quiet, quiet=True,
                          run_dir=folder / "runs" / f"member-{len(runs) + 1}").run_dir)
    return folder, runs


def _outputs(run_dir, features):
    from modelctl.model.preprocessing import predict_raw
    from modelctl.model.saving import load_model

    return predict_raw(load_model(run_dir), features)


@pytest.mark.slow
def test_ensemble_eval_export_and_reload(members, runner):
    from modelctl.cli.app import app
    from modelctl.data.pipeline import prepare
    from modelctl.runs import read_json
    from modelctl.spec.run import load_run_spec

    folder, (first, second, _) = members
    output = folder / "runs" / "iris-ensemble"
    result = runner.invoke(app, ["ensemble", str(first), str(second), "--method", "weighted", "--weights", "3,1",
                                 "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "weights normalized to sum to 1: 0.75, 0.25" in result.output
    assert f"Ensemble {output} (weighted, weights 0.75, 0.25)" in result.output
    record = read_json(output / "run.json")
    assert record["ensemble"]["method"] == "weighted"
    assert [(member["run"], member["layer"], member["weight"]) for member in record["ensemble"]["members"]] == \
        [(str(first), "member_1", 0.75), (str(second), "member_2", 0.25)]
    assert load_run_spec(output).data["name"] == "iris-ensemble"
    assert set(read_json(output / "metrics.json")) == {"train", "validation", "test"}

    test = prepare(load_run_spec(output), fitted=read_json(output / "preprocessing.json")).arrays("test")
    expected = 0.75 * _outputs(first, test.features) + 0.25 * _outputs(second, test.features)
    np.testing.assert_allclose(_outputs(output, test.features), expected, atol=1e-6)

    result = runner.invoke(app, ["eval", str(output), "--format", "json"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads(result.output)
    truth = test.targets["species"].reshape(-1)
    assert evaluation["metrics"]["species"]["accuracy"] == pytest.approx(np.mean(expected.argmax(1) == truth))
    for member, run in zip(evaluation["members"], (first, second)):
        predicted = _outputs(run, test.features).argmax(1)
        assert member["run"] == str(run)
        assert member["metrics"]["species"]["accuracy"] == pytest.approx(np.mean(predicted == truth))
    assert json.loads((output / "eval" / "test" / "eval.json").read_text())["members"] == evaluation["members"]
    text = runner.invoke(app, ["eval", str(output)]).output
    assert "Ensemble and members on test (30 examples)" in text and "member 2" in text
    assert "## Ensemble members" in (output / "eval" / "test" / "report.md").read_text()

    result = runner.invoke(app, ["export", str(output), "--format", "all"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (output / "export").iterdir()) == \
        ["model.onnx", "model.tflite", "saved_model", "serving"]

    rows = folder / "rows.csv"
    rows.write_text("\n".join((ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()[:6]) + "\n")
    script = ("import sys, numpy as np, tensorflow as tf, modelctl\n"
              "from modelctl.predict import read_inputs\n"
              "import yaml, json\n"
              "run = sys.argv[1]\n"
              "spec = yaml.safe_load(open(run + '/spec.yaml'))\n"
              "fitted = json.load(open(run + '/preprocessing.json'))\n"
              "values = read_inputs(spec['data']['features'], fitted, [sys.argv[2]]).values\n"
              "model = modelctl.load_model(run)\n"
              "print(json.dumps(np.asarray(model({k: tf.constant(v) for k, v in values.items()})).tolist()))\n")
    done = subprocess.run([sys.executable, "-c", script, str(output), str(rows)], capture_output=True, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    reloaded = np.array(json.loads(done.stdout.strip().splitlines()[-1]))
    from modelctl.predict import read_inputs

    values = read_inputs(load_run_spec(output).data["data"]["features"], read_json(output / "preprocessing.json"),
                         [str(rows)]).values
    np.testing.assert_allclose(reloaded, 0.75 * _outputs(first, values) + 0.25 * _outputs(second, values), atol=1e-6)


@pytest.mark.slow
def test_vote_through_the_command_and_its_export(members, runner):
    from modelctl.cli.app import app
    from modelctl.data.pipeline import prepare
    from modelctl.runs import read_json
    from modelctl.spec.run import load_run_spec

    folder, (first, second, _) = members
    output = folder / "vote"
    result = runner.invoke(app, ["ensemble", str(first), str(second), "--method", "vote", "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert read_json(output / "run.json")["ensemble"]["votes"] == {"species": "argmax"}
    test = prepare(load_run_spec(output), fitted=read_json(output / "preprocessing.json")).arrays("test")
    choices = [_outputs(run, test.features).argmax(1) for run in (first, second)]
    expected = sum(np.eye(3)[choice] for choice in choices) / 2
    np.testing.assert_allclose(_outputs(output, test.features), expected)
    result = runner.invoke(app, ["export", str(output), "--format", "tflite", "--format", "onnx"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in (output / "export").iterdir()) == ["model.onnx", "model.tflite"]


@pytest.mark.slow
def test_members_trained_on_another_split_are_refused(members, runner):
    from modelctl.cli.app import app

    folder, (first, _, other) = members
    output = folder / "refused"
    result = runner.invoke(app, ["ensemble", str(first), str(other), "-o", str(output)])
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        f"error: member 2 ({other}) did not train on the data of member 1 ({first}):",
        "  split seed: 3 -> 4 (data.split.seed, else the spec's seed)",
    ]
    assert "no member saw the rows the ensemble is tested on" in result.output
    assert not output.exists()


@pytest.mark.slow
def test_bad_member_lists_are_usage_errors(members, runner):
    from modelctl.cli.app import app

    folder, (first, second, _) = members
    cases = [
        ([str(first)], "error: an ensemble needs at least 2 runs; received 1"),
        ([str(first), str(first)], f"error: {first}: given twice (members 1 and 2); each run joins once"),
        ([str(first), str(folder / "missing")], f"error: {folder / 'missing'}: no such run folder"),
        ([str(first), str(second), "--output", str(first)], f"error: {first}: already holds a run (its run.json); "
                                                            "--output names a new folder for the ensemble"),
        ([str(first), str(second), "--name", "an ensemble"], "error: 'an ensemble' is not a spec name for the "
                                                             "ensemble: letters, digits, '_', '.' and '-', starting "
                                                             "with a letter or digit; give one with --name"),
    ]
    for arguments, message in cases:
        result = runner.invoke(app, ["ensemble", *arguments])
        assert (result.exit_code, result.output.strip()) == (2, message), arguments


@pytest.mark.slow
def test_an_output_folder_that_cannot_be_made_is_an_error_and_nothing_is_left(members, runner):
    from modelctl.cli.app import app

    folder, (first, second, _) = members
    (folder / "a-file").write_text("not a folder")
    output = folder / "a-file" / "ensemble"
    result = runner.invoke(app, ["ensemble", str(first), str(second), "--output", str(output)])
    assert (result.exit_code, result.exception is None or isinstance(result.exception, SystemExit)) == (2, True)
    assert result.output.strip().startswith(f"error: {output}: the run folder cannot be created:"), result.output
    assert sorted(path.name for path in folder.iterdir() if path.name.startswith("a-file")) == ["a-file"]


@pytest.mark.slow
def test_the_same_file_spelled_otherwise_and_a_seed_ensemble_are_one_data(tmp_path, runner):
    """Issue 29, item 10: two specs naming one file as `../data/iris.csv` and `../../data/iris.csv` were refused
    and missed the prepared-data cache; runs with one `data.split.seed` and different `seed`s (the same split) were
    refused with `seed: 1 -> 2`."""
    import shutil

    from rich.console import Console

    from modelctl.cli.app import app
    from modelctl.data.cache import DataCache
    from modelctl.data.pipeline import prepare
    from modelctl.runs import RunFolder
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    (tmp_path / "data").mkdir()
    shutil.copy(ROOT / "examples" / "iris" / "iris.csv", tmp_path / "data" / "iris.csv")
    written = SPEC.replace(str(ROOT / "examples" / "iris" / "iris.csv"), "PATH")
    specs = [tmp_path / "a" / "spec.yaml", tmp_path / "b" / "c" / "spec.yaml"]
    for spec, path in zip(specs, ("../data/iris.csv", "../../data/iris.csv")):
        spec.parent.mkdir(parents=True)
        spec.write_text(written.replace("PATH", path))
    cache = DataCache(tmp_path / "cache")
    assert prepare(load_spec(specs[0]), cache=cache).cache_note.startswith("data cache: wrote ")
    assert prepare(load_spec(specs[1]), cache=cache).cache_note.startswith("data cache: read ")
    quiet = Console(file=open(os.devnull, "w"))
    runs = {}
    for name, spec, overrides in (("a", specs[0], []), ("b", specs[1], ["model.layers[0].dense.units=16"]),
                                  ("seed-1", specs[0], ["data.split.seed=0", "seed=1"]),
                                  ("seed-2", specs[0], ["data.split.seed=0", "seed=2"])):
        runs[name] = train(load_spec(spec, overrides), tmp_path / "runs", quiet, quiet=True, cache=cache,
                           run_dir=tmp_path / "runs" / name).run_dir
    spelled = runner.invoke(app, ["ensemble", str(runs["a"]), str(runs["b"]), "-o", str(tmp_path / "spelled")])
    assert spelled.exit_code == 0, spelled.output
    seeds = runner.invoke(app, ["ensemble", str(runs["seed-1"]), str(runs["seed-2"]), "-o", str(tmp_path / "seeds")])
    assert seeds.exit_code == 0, seeds.output
    records = [RunFolder(runs[name]).record.data["split"] for name in ("seed-1", "seed-2")]
    assert records[0] == records[1] and records[0]["seed"] == 0 and set(records[0]["rows"]) == {
        "train", "validation", "test"}
    from modelctl.model.saving import load_model

    kernels = [load_model(runs[name]).get_weights()[0] for name in ("seed-1", "seed-2")]
    assert not np.allclose(kernels[0], kernels[1])  # two initialisations of one model
    other = runner.invoke(app, ["ensemble", str(runs["a"]), str(runs["seed-1"]), "-o", str(tmp_path / "other")])
    assert other.exit_code == 1
    assert "  split seed: 3 -> 0 (data.split.seed, else the spec's seed)" in other.output.splitlines()
