"""The DVC pipeline of docs/tracking.md: it parses, and its commands write every path its stages declare."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT


def recipe() -> dict:
    text = (ROOT / "docs" / "tracking.md").read_text(encoding="utf-8")
    [block] = [block for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S) if block.startswith("# dvc.yaml")]
    return yaml.safe_load(block)


def paths(entries: list) -> list[str]:
    """The paths of a stage's `deps`, `outs`, `metrics` or `plots` (a path, or a mapping of one path to its
    options)."""
    return [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries or []]


def test_the_recipe_is_a_dvc_pipeline_of_train_eval_export():
    stages = recipe()["stages"]
    assert list(stages) == ["train", "eval", "export"]
    for name, stage in stages.items():
        assert set(stage) <= {"cmd", "deps", "outs", "metrics", "plots"}, name
        assert stage["cmd"].startswith(f"modelctl {name} "), name
    assert paths(stages["train"]["metrics"]) == ["runs/iris/dvc/metrics.json"]
    assert stages["train"]["plots"] == [{"runs/iris/dvc/history.csv": {"cache": False, "x": "epoch"}}]
    declared = [Path(path) for stage in stages.values() for key in ("outs", "metrics", "plots")
                for path in paths(stage.get(key))]
    # DVC refuses outputs that overlap (one inside another), in one stage or across stages.
    for first in declared:
        for second in declared:
            assert first == second or first not in second.parents, (first, second)


@pytest.mark.slow
def test_each_stage_writes_what_it_declares_and_a_change_of_data_is_seen(tmp_path, runner, monkeypatch):
    """The stages as `dvc repro` runs them; then the data changes: `eval` warns that the run's data changed since
    it trained, the train stage runs again into the same folder, and `compare` says the two runs saw different
    data."""
    from modelctl.cli.app import app

    shutil.copytree(ROOT / "examples" / "iris", tmp_path / "examples" / "iris")
    monkeypatch.chdir(tmp_path)
    tiny = {"train": ["--set", "training.epochs=2", "--set", "training.steps_per_epoch=2"]}
    for name, stage in recipe()["stages"].items():
        for path in paths(stage.get("deps")):
            assert Path(path).exists(), f"{name} depends on {path}, which nothing wrote"
        words = shlex.split(stage["cmd"])
        assert words[0] == "modelctl"
        result = runner.invoke(app, [*words[1:], *tiny.get(name, [])])
        assert result.exit_code == 0, f"{stage['cmd']}: {result.output}"
        for key in ("outs", "metrics", "plots"):
            for path in paths(stage.get(key)):
                assert Path(path).exists(), f"{name} declares {path} in {key} but did not write it"
    history = (tmp_path / "runs/iris/dvc/history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,") and len(history) == 3

    stages = recipe()["stages"]
    data = tmp_path / "examples/iris/iris.csv"
    data.write_text(data.read_text().replace("5.1,3.5,1.4,0.2", "5.3,3.5,1.4,0.2", 1))
    result = runner.invoke(app, shlex.split(stages["eval"]["cmd"])[1:])
    assert result.exit_code == 0, result.output
    assert "warning: the data of runs/iris/dvc changed since it was trained" in result.stderr
    assert "  data.source: iris.csv: content changed (" in result.stderr
    # `dvc repro` removes the train stage's outputs and runs it again; the old run is kept aside to compare.
    shutil.copytree("runs/iris/dvc", "runs/iris/before")
    for path in [*paths(stages["train"]["outs"]), *paths(stages["train"]["metrics"]), *paths(stages["train"]["plots"])]:
        shutil.rmtree(path) if Path(path).is_dir() else Path(path).unlink()
    result = runner.invoke(app, [*shlex.split(stages["train"]["cmd"])[1:], *tiny["train"]])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["compare", "runs/iris/before", "runs/iris/dvc"])
    assert result.exit_code == 0, result.output
    assert "run 2 saw different data than run 1:\n  data.source: iris.csv: content changed (" in result.output
    result = runner.invoke(app, ["compare", "runs/iris/dvc", "runs/iris/dvc"])
    assert "the runs saw the same data" in result.output
