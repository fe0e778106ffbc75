"""`modelctl search` in one process: every sampler and pruner, the report, best.yaml, resuming, refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from conftest import iris_data
from modelctl.cli.app import app
from modelctl.spec.overrides import parse_path

def search_spec(sampler: str = "tpe", pruner: str = "none", trials: int = 2, parameters: str | None = None) -> str:
    parameters = parameters or """
    training.optimizer.learning_rate: {type: loguniform, low: 1.0e-3, high: 1.0e-1}
    model.layers[0].dense.units: {type: int, low: 4, high: 12, step: 4}
    model.layers[0].dense.activation: {type: choice, values: [relu, tanh]}"""
    return f"""modelctl: 1
name: iris-search
seed: 3
{iris_data()}
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
      name: species
training:
  epochs: 2
  optimizer: {{type: adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
search:
  metric: val_loss
  trials: {trials}
  sampler: {sampler}
  pruner: {pruner}
  parameters:{parameters}
"""


def _console():
    from rich.console import Console

    return Console(file=io.StringIO(), highlight=False, soft_wrap=True)


def _search(spec, tmp_path, *, trials=None, resume=False, study=None, overrides=(), folds=None):
    from modelctl.search.runner import run_search

    console = _console()
    record = run_search(str(spec), [*overrides, "training.steps_per_epoch=2"], output=tmp_path / "runs",
                        trials=trials, resume=resume, study=study, folds=folds, console=console)
    return record, console.file.getvalue()


@pytest.mark.slow
def test_a_search_keeps_every_trial_as_a_run_and_writes_its_report(write_spec, tmp_path):
    spec = write_spec(search_spec(pruner="median"))
    record, output = _search(spec, tmp_path)
    folder = tmp_path / "runs" / "iris-search" / "search" / "iris-search"
    assert [row["number"] for row in sorted(record["trials"], key=lambda row: row["number"])] == [0, 1]
    assert {row["state"] for row in record["trials"]} == {"complete"}
    values = [row["value"] for row in record["trials"]]
    assert values == sorted(values)  # val_loss: best (lowest) first
    for row in record["trials"]:
        run = folder / f"trial-{row['number']:04d}"
        assert row["run_dir"] == str(run)
        assert json.loads((run / "run.json").read_text())["status"] == "completed"
        written = yaml.safe_load((run / "spec.yaml").read_text())
        assert "search" not in written
        assert written["model"]["layers"][0]["dense"]["units"] == row["parameters"]["model.layers[0].dense.units"]
        assert written["training"]["optimizer"]["learning_rate"] == \
            row["parameters"]["training.optimizer.learning_rate"]
        assert json.loads((run / "metrics.json").read_text())["validation"]["loss"] == pytest.approx(row["value"])
    assert json.loads((folder / "search.json").read_text())["best"]["number"] == record["trials"][0]["number"]
    assert sorted(path.name for path in (folder / "plots").iterdir()) == [
        "optimization_history.png", "parallel_coordinate.png", "param_importances.png"]
    assert "Search iris-search: val_loss (minimize), 2 completed; 2 asked for" in output
    assert f"best: trial {record['best']['number']}" in output

    # best.yaml is the spec with the best values, valid, and trains to the same metric with the same seed.
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    best = load_spec(folder / "best.yaml")
    assert "search" not in best.data
    assert best.data["model"]["layers"][0]["dense"]["units"] == \
        record["best"]["parameters"]["model.layers[0].dense.units"]
    again = train(best, tmp_path / "again", _console(), quiet=True)
    assert again.metrics["validation"]["loss"] == pytest.approx(record["best"]["value"], rel=1e-5)

    # --resume with more trials continues the same study; without --resume an existing study is refused.
    from modelctl.errors import ModelctlError

    with pytest.raises(ModelctlError, match="study 'iris-search' exists in .*; continue it with --resume"):
        _search(spec, tmp_path)
    record, _ = _search(spec, tmp_path, trials=3, resume=True)
    assert sorted(row["number"] for row in record["trials"]) == [0, 1, 2]
    assert (folder / "trial-0002" / "model.keras").is_file()


@pytest.mark.slow
def test_every_sampler_and_pruner_runs(write_spec, tmp_path):
    """grid with hyperband (never repeating a point; choices among mappings), random alone, cmaes with median."""
    discrete = """
    model.layers[0].dense.units: {type: choice, values: [4, 8]}
    training.optimizer: {type: choice, values: [{type: adam, learning_rate: 0.01}, {type: sgd, momentum: 0.9}]}"""
    numeric = """
    training.optimizer.learning_rate: {type: uniform, low: 1.0e-3, high: 1.0e-1}
    model.layers[0].dense.units: {type: int, low: 4, high: 12}"""
    for sampler, pruner, parameters, trials in (("grid", "hyperband", discrete, 2), ("random", "none", numeric, 1),
                                                ("cmaes", "median", numeric, 1)):
        spec = write_spec(search_spec(sampler=sampler, pruner=pruner, parameters=parameters, trials=trials))
        folds = 2 if sampler == "random" else None
        record, _ = _search(spec, tmp_path, study=sampler, folds=folds)
        assert len(record["trials"]) == trials
        assert {row["state"] for row in record["trials"]} == {"complete"}
        for row in record["trials"]:
            written = yaml.safe_load(Path(row["run_dir"], "fold-1" if folds else "", "spec.yaml").read_text())
            for name, value in row["parameters"].items():
                node = written
                for part in parse_path(name):
                    node = node[part]
                assert node == value
        if folds:  # the trial's metric is the mean of its folds' runs
            [row] = record["trials"]
            scores = [json.loads(Path(row["run_dir"], f"fold-{index}", "metrics.json").read_text())["validation"]
                      ["loss"] for index in (1, 2)]
            assert row["value"] == pytest.approx(sum(scores) / 2)
            written = json.loads(Path(row["run_dir"], "cross_validation.json").read_text())
            assert written["metrics"]["validation"]["loss"]["values"] == pytest.approx(scores)
            assert json.loads(Path(row["run_dir"], "run.json").read_text())["status"] == "completed"
        if sampler == "grid":
            chosen = [json.dumps(row["parameters"], sort_keys=True) for row in record["trials"]]
            assert len(set(chosen)) == 2


def test_a_spec_without_a_search_section_is_refused(write_spec, runner):
    spec = write_spec(search_spec().split("search:")[0])
    result = runner.invoke(app, ["search", str(spec)])
    assert result.exit_code == 2
    assert "the spec has no `search` section" in result.output


def test_sqlite_is_refused_for_several_workers(write_spec, runner, tmp_path):
    spec = write_spec(search_spec())
    result = runner.invoke(app, ["search", str(spec), "--workers", "2", "--storage", f"sqlite:///{tmp_path}/s.db"])
    assert result.exit_code == 2
    assert "SQLite locks the whole database for every write" in result.output
    assert not (tmp_path / "runs").exists()


def test_one_fold_is_refused(write_spec, runner):
    result = runner.invoke(app, ["search", str(write_spec(search_spec())), "--folds", "1"])
    assert result.exit_code == 2
    assert "--folds must be at least 2; received 1" in result.output


def test_an_unknown_storage_is_refused(write_spec, runner):
    result = runner.invoke(app, ["search", str(write_spec(search_spec())), "--storage", "redis://localhost"])
    assert result.exit_code == 2
    assert "expected a database URL, postgresql://" in result.output


def test_a_search_value_that_the_key_refuses_is_an_error_at_its_line(write_spec, runner):
    spec = write_spec(search_spec(parameters="""
    model.layers[0].dense.units: {type: int, low: 0, high: 12, step: 4}"""))
    result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 1
    line = search_spec().splitlines().index("  parameters:") + 2
    assert f"spec.yaml:{line}:51: $.search.parameters['model.layers[0].dense.units'].low: " \
           "model.layers[0].dense.units = 0 is not valid: $.model.layers[0].dense.units: 0 is too small: the " \
           "minimum is 1" in result.output


def test_validate_does_not_import_optuna_or_tensorflow(write_spec):
    import subprocess
    import sys

    spec = write_spec(search_spec())
    code = ("import sys; from modelctl.spec.validate import validate_file; "
            f"assert not validate_file({str(spec)!r}).errors; "
            "print(sorted(m for m in ('optuna', 'tensorflow') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_parameters_become_overrides_that_yaml_reads_back_exactly():
    from modelctl.search import space

    parameters = {"training.optimizer": {"type": "choice", "values": [{"type": "sgd", "momentum": 0.9}, "adam"]},
                  "training.optimizer.learning_rate": {"type": "loguniform", "low": 1e-4, "high": 1e-2}}
    assert space.choices(parameters["training.optimizer"]) == ['{"momentum": 0.9, "type": "sgd"}', '"adam"']
    values = space.decode({"training.optimizer": '{"momentum": 0.9, "type": "sgd"}',
                           "training.optimizer.learning_rate": 0.00012345678901234}, parameters)
    assert values["training.optimizer"] == {"type": "sgd", "momentum": 0.9}
    # The enclosing value first, so that the nested one lands inside it.
    assert space.overrides(values) == ['training.optimizer={"type": "sgd", "momentum": 0.9}',
                                       "training.optimizer.learning_rate=0.00012345678901234"]


def test_a_database_password_is_never_shown():
    from modelctl.search.study import shown_url

    assert shown_url("postgresql://modelctl:secret@db/search") == "postgresql://modelctl:***@db/search"
    assert shown_url("postgresql://modelctl@db/search") == "postgresql://modelctl@db/search"
    assert shown_url(None) == "journal.log"


def test_a_trial_whose_worker_was_killed_is_marked_failed_by_the_next_worker(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    from modelctl.search.liveness import release_lost_trials
    from modelctl.search.worker import counted

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(tmp_path / "journal.log"))))
    for pid in (gone.pid, os.getpid()):  # a dead worker's trial, and a live one's
        trial = study.ask()
        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": pid, "trial": trial.number})
    assert release_lost_trials(study, heartbeat=False) == [0]
    # The lost trial's parameters are enqueued again: the retry counts, the lost trial does not.
    assert [(trial.number, trial.state.name) for trial in study.trials] == \
        [(0, "FAIL"), (1, "RUNNING"), (2, "WAITING")]
    assert [trial.number for trial in counted(study.trials)] == [1, 2]
    # The retry starts with a copy of the lost trial's attributes, the dead worker's among them: until the process
    # that runs it claims it, it is not taken for lost.
    retry = study.ask()
    assert retry.number == 2 and retry.user_attrs["worker"]["pid"] == gone.pid
    assert release_lost_trials(study, heartbeat=False) == []
