"""MLflow tracking against real stores: an SQLite file and a local `mlflow server`, read back with MlflowClient
and compared with the run folder's spec.yaml, metrics.json and history.csv."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import iris_data, quiet_console

from modelctl.spec.typed import typed

SPEC = f"""
modelctl: 1
name: iris-tracked
seed: 3
{iris_data("{train: 0.6, validation: 0.2, test: 0.2, stratify: true}")}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: 3
  optimizer: {{type: adam, learning_rate: 0.02}}
  metrics: [accuracy]
  tensorboard: true
export:
  formats: [saved_model]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client_of(uri: str):
    import mlflow

    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def artifact_paths(client, run_id: str, path: str | None = None) -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def history_columns(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    with (run_dir / "history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {key: [(int(row["epoch"]), float(row[key])) for row in rows] for key in rows[0] if key != "epoch"}


def assert_logged_like_folder(client, run_dir: Path) -> str:
    """The MLflow run of `run_dir` holds its spec as parameters, its history and final metrics, and its files;
    returns its id."""
    from modelctl.tracking.contents import resolved_spec, spec_params

    state = json.loads((run_dir / "mlflow.json").read_text())
    assert state["status"] == "logged"
    run = client.get_run(state["run_id"])
    spec = yaml.safe_load((run_dir / "spec.yaml").read_text())
    assert run.data.params == spec_params(resolved_spec(spec))
    assert set(spec_params(spec)) < set(run.data.params)
    assert run.data.params["training.mixed_precision"] == "auto"  # a default the spec leaves out
    assert run.data.params["training.epochs"] == "3"
    assert run.data.params["model.layers.0.dense.units"] == "8"
    assert run.data.params["data.features.x.columns"] == \
        "[sepal_length, sepal_width, petal_length, petal_width]"
    record = json.loads((run_dir / "run.json").read_text())
    tags = run.data.tags
    assert tags["modelctl.spec_hash"] == record["spec_hash"]
    assert tags["modelctl.spec_name"] == "iris-tracked"
    assert tags["tensorflow.version"] == record["versions"]["tensorflow"]
    assert tags["strategy.distribution"] == record["strategy"]["distribution"]
    assert tags["hardware.cpu"] == record["hardware"]["cpu"]["model"]
    for key, points in history_columns(run_dir).items():
        logged = sorted((metric.step, metric.value) for metric in client.get_metric_history(run.info.run_id, key))
        assert [step for step, _ in logged] == [step for step, _ in points], key
        assert [value for _, value in logged] == pytest.approx([value for _, value in points]), key
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for split, values in metrics.items():
        for name, value in values.items():
            assert run.data.metrics[f"{split}/{name}"] == pytest.approx(value)
    assert {"spec.yaml", "run.json", "history.csv", "metrics.json", "plots/learning_curves.png"} <= \
        artifact_paths(client, run.info.run_id)
    assert run.info.status == "FINISHED"
    return run.info.run_id


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlflow")
    return folder, f"sqlite:///{folder / 'mlflow.db'}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A local `mlflow server` (mlflow-skinny's, which also needs aiohttp) on a free port, started as the module
    begins so that it boots while the first run trains; its URI, and the process."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--artifacts-destination",
         str(folder / "artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=folder,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})
    yield f"http://127.0.0.1:{port}", process
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def tracked_run(store, tmp_path_factory, runner_module, server):
    """One tiny run trained by `modelctl train --track mlflow --export --register` into an SQLite store."""
    from modelctl.cli.app import app

    folder, uri = store
    spec = tmp_path_factory.mktemp("spec") / "spec.yaml"
    spec.write_text(SPEC + f"tracking:\n  mlflow: {{uri: '{uri}', experiment: churn}}\n")
    result = runner_module.invoke(app, ["train", str(spec), "--quiet", "--output", str(folder / "runs"), "--export",
                                        "--register", "iris-classifier"])
    assert result.exit_code == 0, result.output
    return next((folder / "runs" / "iris-tracked").iterdir()), result.output


@pytest.fixture(scope="module")
def runner_module():
    from typer.testing import CliRunner

    return CliRunner()


@pytest.mark.slow
def test_a_tracked_run_holds_its_parameters_tags_metrics_and_files(store, tracked_run):
    run_dir, output = tracked_run
    client = client_of(store[1])
    run_id = assert_logged_like_folder(client, run_dir)
    assert client.get_run(run_id).info.experiment_id == client.get_experiment_by_name("churn").experiment_id
    assert "export/saved_model/saved_model.pb" in artifact_paths(client, run_id)
    assert client.get_run(run_id).info.artifact_uri.startswith((store[0] / "mlruns").resolve().as_uri())
    assert f"registered iris-classifier version 1 (MLflow run {run_id})" in output


@pytest.mark.slow
def test_register_tags_the_version_with_spec_hash_and_verification(store, tracked_run):
    run_dir, _ = tracked_run
    client = client_of(store[1])
    version = client.get_model_version("iris-classifier", "1")
    record = json.loads((run_dir / "run.json").read_text())
    assert version.tags["modelctl.spec_hash"] == record["spec_hash"]
    verified = json.loads(version.tags["verified.saved_model"])
    assert verified["examples"] > 0 and max(verified["max_abs_diff"].values()) <= verified["tolerance"]
    assert version.run_id == json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    assert version.source.endswith("/export")


@pytest.mark.slow
def test_eval_adds_its_report_and_metrics_to_the_same_run(store, tracked_run, runner_module):
    from modelctl.cli.app import app

    run_dir, _ = tracked_run
    result = runner_module.invoke(app, ["eval", str(run_dir), "--format", "json"])
    assert result.exit_code == 0, result.output
    accuracy = json.loads(result.output)["metrics"]["species"]["accuracy"]
    client = client_of(store[1])
    run_id = json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    assert {"eval/test/report.md", "eval/test/eval.json"} <= artifact_paths(client, run_id)
    assert client.get_run(run_id).data.metrics["eval/test/species/accuracy"] == pytest.approx(accuracy)


@pytest.mark.slow
def test_explain_adds_its_files_to_the_same_run(store, tracked_run, runner_module):
    from modelctl.cli.app import app

    run_dir, _ = tracked_run
    result = runner_module.invoke(app, ["explain", str(run_dir), "--method", "permutation", "--repeats", "1",
                                        "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["importance"]["repeats"] == 1
    run_id = json.loads((run_dir / "mlflow.json").read_text())["run_id"]
    assert {"explain/test/explain.json", "explain/test/report.md", "explain/test/importance.png"} <= \
        artifact_paths(client_of(store[1]), run_id)


@pytest.mark.slow
def test_tensorboard_hparams_hold_the_spec_and_the_final_metrics(tracked_run):
    """What TensorBoard's HParams dashboard reads: a session of the run's hyperparameters, and its metrics as
    scalars beside it."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import plugin_data_pb2

    run_dir, _ = tracked_run
    session, scalars = None, {}
    for path in sorted((run_dir / "tensorboard" / "hparams").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    if data.HasField("session_start_info"):
                        session = data.session_start_info
                elif value.metadata.plugin_data.plugin_name == "scalars":
                    scalars[value.tag] = (event.step, float(tf.make_ndarray(value.tensor)))
    assert session is not None and session.group_name == run_dir.name
    assert session.hparams["training.epochs"].number_value == 3
    assert session.hparams["training.optimizer.type"].string_value == "adam"
    assert session.hparams["training.tensorboard"].bool_value is True
    assert session.hparams["model.layers.0.dense.units"].number_value == 8
    assert session.hparams["training.mixed_precision"].string_value == "auto"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert scalars == {f"{split}/{name}": (3, pytest.approx(value)) for split, values in metrics.items()
                       for name, value in values.items()}


@pytest.mark.slow
def test_unreachable_server_warns_and_track_uploads_the_run_later(store, tmp_path, runner):
    from modelctl.cli.app import app

    folder, uri = store
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("epochs: 3", "epochs: 2"))
    dead = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(app, ["train", str(spec), "--quiet", "--output", str(tmp_path / "runs"), "--track",
                                 "mlflow", "--set", "training.epochs=3"], env={"MLFLOW_TRACKING_URI": dead})
    assert result.exit_code == 0, result.output
    run_dir = next((tmp_path / "runs" / "iris-tracked").iterdir())
    assert f"warning: MLflow at {dead}: the tracking server does not answer" in result.output
    assert f"modelctl track {run_dir}" in result.output
    assert {"model.keras", "metrics.json", "history.csv"} <= {path.name for path in run_dir.iterdir()}
    assert json.loads((run_dir / "mlflow.json").read_text())["status"] == "pending"
    from modelctl.tracking import TrackingError, register_model

    with pytest.raises(TrackingError, match="has no MLflow run to register from \\(its MLflow upload is pending\\)"):
        register_model(run_dir, "iris-classifier", [], console=quiet_console(), strict=True)
    console = quiet_console()
    assert register_model(run_dir, "iris-classifier", [], console=console) is None
    assert "warning: --register iris-classifier: " in console.file.getvalue()
    with pytest.raises(TrackingError, match="has no MLflow run to register from \\(it was not tracked\\)"):
        register_model(tmp_path, "iris-classifier", [], console=quiet_console())

    result = runner.invoke(app, ["track", str(run_dir), "--uri", uri, "--experiment", "later"])
    assert result.exit_code == 0, result.output
    client = client_of(uri)
    run_id = assert_logged_like_folder(client, run_dir)
    assert client.get_run(run_id).info.experiment_id == client.get_experiment_by_name("later").experiment_id
    assert f"logged as MLflow run {run_id}" in result.output


@pytest.mark.slow
def test_track_strict_makes_an_unreachable_server_an_error(tmp_path, runner):
    from modelctl.cli.app import app

    spec = tmp_path / "spec.yaml"
    dead = f"http://127.0.0.1:{free_port()}"
    spec.write_text(SPEC + f"tracking:\n  mlflow: {{uri: '{dead}'}}\n")
    result = runner.invoke(app, ["train", str(spec), "--quiet", "--output", str(tmp_path / "runs"),
                                 "--track-strict"])
    assert result.exit_code == 1
    assert f"error: MLflow at {dead}: the tracking server does not answer" in result.output
    assert "(strict tracking)" in result.output
    assert "Traceback" not in result.output


def test_register_needs_export_and_run_dir_a_folder_without_a_run(tmp_path, runner):
    from modelctl.cli.app import app

    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    result = runner.invoke(app, ["train", str(spec), "--register", "iris"])
    assert result.exit_code == 2 and "error: --register registers the exported model: add --export" in result.output
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    result = runner.invoke(app, ["train", str(spec), "--run-dir", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert f"error: {tmp_path / 'run'}: already holds a run (its run.json)" in result.output


def test_without_mlflow_installed_the_error_names_the_extra(monkeypatch):
    from modelctl.tracking import TrackingError, mlflow_settings
    from modelctl.tracking.client import client

    monkeypatch.setitem(sys.modules, "mlflow", None)  # what `import mlflow` meets when it is not installed
    settings = mlflow_settings(typed({"name": "x"}), track="mlflow")
    with pytest.raises(TrackingError, match=r"pip install 'modelctl\[mlflow\]'"):
        client(settings.uri)


def test_a_uri_mlflow_cannot_open_is_an_error_naming_it():
    from modelctl.tracking import TrackingError
    from modelctl.tracking.client import client

    with pytest.raises(TrackingError, match=r"^foo://bar: not a tracking URI MLflow can open \(.*unsupported URI"):
        client("foo://bar")


def test_settings_come_from_the_option_the_spec_the_environment_then_the_default(monkeypatch, tmp_path):
    from modelctl.tracking import mlflow_settings

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    assert mlflow_settings(typed({"name": "a"})) is None
    # A relative SQLite file is made absolute, so that later commands run elsewhere find the same store.
    assert mlflow_settings(typed({"name": "a"}), track="mlflow").as_dict() == \
        {"uri": f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}", "experiment": "a", "strict": False}
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    spec = {"name": "a", "tracking": {"mlflow": {"experiment": "churn"}}}
    assert mlflow_settings(typed(spec)).as_dict() == \
        {"uri": "http://tracking:5000", "experiment": "churn", "strict": False}
    spec["tracking"]["mlflow"]["uri"] = "sqlite:////data/x.db"
    assert mlflow_settings(typed(spec), strict=True).as_dict() == {"uri": "sqlite:////data/x.db", "experiment": "churn",
                                                            "strict": True}


def test_params_are_set_paths_that_set_accepts():
    from modelctl.spec.overrides import parse_path
    from modelctl.tracking.contents import spec_params

    spec = {"name": "a", "model": {"layers": [{"dense": {"units": 4, "activation": None}}, {"dropout": 0.5}]},
            "training": {"metrics": ["accuracy", "auc"], "early_stopping": True}, "data": {"split": {}}}
    params = spec_params(spec)
    assert params == {"name": "a", "model.layers.0.dense.units": "4", "model.layers.0.dense.activation": "null",
                      "model.layers.1.dropout": "0.5", "training.metrics": "[accuracy, auc]",
                      "training.early_stopping": "true", "data.split": "{}"}
    for key, value in params.items():
        path = parse_path(key)
        found = spec
        for part in path:
            found = found[part]
        assert yaml.safe_load(value) == found


@pytest.mark.slow
def test_a_run_uploaded_to_a_local_tracking_server(tracked_run, server, runner):
    """`modelctl track RUN --uri http://...`: the same run, through the REST API of a real server."""
    import requests

    from modelctl.cli.app import app

    uri, process = server
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        try:
            if requests.get(f"{uri}/health", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the MLflow server did not start in 120 s"
        time.sleep(0.5)
    run_dir, _ = tracked_run
    result = runner.invoke(app, ["track", str(run_dir), "--uri", uri])
    assert result.exit_code == 0, result.output
    client = client_of(uri)
    run_id = assert_logged_like_folder(client, run_dir)
    assert json.loads((run_dir / "mlflow.json").read_text())["uri"] == uri
    assert client.get_run(run_id).info.artifact_uri.startswith("mlflow-artifacts:")
    assert "export/saved_model/saved_model.pb" in artifact_paths(client, run_id)


@pytest.mark.slow
def test_a_tracked_search_is_one_run_with_a_child_run_for_each_trial(store, tmp_path, monkeypatch, write_spec):
    """`modelctl search --track mlflow`: the study's MLflow run holds the best value, search.json and best.yaml;
    each trial is an ordinary tracked run, its child."""
    from test_search import search_spec

    from modelctl.search.runner import run_search

    folder, uri = store
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    spec = write_spec(search_spec(trials=2))
    record = run_search(str(spec), ["training.steps_per_epoch=2"], output=tmp_path / "runs", console=quiet_console(),
                        track="mlflow")
    client = client_of(uri)
    experiment = client.get_experiment_by_name("iris-search")
    study = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    [parent] = client.search_runs([experiment.experiment_id], "tags.`modelctl.run_dir` = '%s'" % study.resolve())
    assert parent.info.status == "FINISHED"
    assert parent.data.metrics["best_value"] == pytest.approx(record["best"]["value"])
    assert {"search.json", "best.yaml"} <= artifact_paths(client, parent.info.run_id)
    children = client.search_runs([experiment.experiment_id],
                                  "tags.`mlflow.parentRunId` = '%s'" % parent.info.run_id)
    assert sorted(run.data.tags["modelctl.run_dir"] for run in children) == \
        sorted(str(Path(row["run_dir"]).resolve()) for row in record["trials"])
    trials = {str(Path(row["run_dir"]).resolve()): row for row in record["trials"]}
    for child in children:
        row = trials[child.data.tags["modelctl.run_dir"]]
        assert child.info.status == "FINISHED"
        assert child.data.params["model.layers.0.dense.units"] == str(row["parameters"]["model.layers[0].dense.units"])
        assert child.data.metrics["validation/loss"] == pytest.approx(row["value"])
        assert {"spec.yaml", "run.json", "history.csv"} <= artifact_paths(client, child.info.run_id)


@pytest.mark.slow
def test_a_cross_validation_uploads_as_one_run_with_a_child_run_per_fold(write_spec, tmp_path, runner):
    """`modelctl track` of a cross-validation's folder reads its summary (the one schema `train --folds` and
    `search --folds` write): the folder's MLflow run holds the mean of each metric, each fold is a child run."""
    from modelctl.cli.app import app
    from modelctl.runs import RunFolder, read_cross_validation

    spec = write_spec(SPEC.replace("epochs: 3", "epochs: 1").replace("  tensorboard: true\n", ""))
    result = runner.invoke(app, ["train", str(spec), "--folds", "2", "--quiet", "--output", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    [folder] = list((tmp_path / "runs" / "iris-tracked").iterdir())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    uploaded = runner.invoke(app, ["track", str(folder), "--uri", uri, "--experiment", "folds"])
    assert uploaded.exit_code == 0, uploaded.output
    client = client_of(uri)
    parent = client.get_run(json.loads((folder / "mlflow.json").read_text())["run_id"])
    summary = read_cross_validation(RunFolder(folder)).summary
    assert parent.data.metrics["test/accuracy"] == pytest.approx(summary["test"]["accuracy"]["mean"])
    [experiment] = [item for item in client.search_experiments() if item.name == "folds"]
    children = client.search_runs([experiment.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert sorted(child.data.tags["modelctl.fold"] for child in children) == ["1/2", "2/2"]
    for child in children:
        number = int(child.data.tags["modelctl.fold"][0])
        fold = json.loads((folder / f"fold-{number}" / "metrics.json").read_text())
        assert child.data.metrics["test/accuracy"] == pytest.approx(fold["test"]["accuracy"])
