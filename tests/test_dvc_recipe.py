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
def test_each_stage_writes_what_it_declares(tmp_path, runner, monkeypatch):
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
