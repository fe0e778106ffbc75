"""`modelctl summary` and `modelctl validate --deep` through the command line."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from modelctl.cli.app import app

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("keras")


def test_summary_json_totals(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "small-cnn.yaml"), "--format", "json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.output)
    assert [row["type"] for row in description["layers"]] == [
        "conv2d", "max_pooling2d", "conv2d", "global_average_pooling2d", "dropout", "dense"]
    assert description["layers"][-1] == {"name": "digit", "type": "dense", "output_shape": "(None, 10)",
                                         "parameters": 330, "trainable_parameters": 330}
    totals = description["totals"]
    assert totals["parameters"] == 160 + 4640 + 330
    assert totals["weight_bytes"] == totals["parameters"] * 4
    # conv 8x8x16x(3x3x1) + conv 4x4x32x(3x3x16) multiply-adds, dense 32x10, plus bias, pooling and softmax ops
    assert 2 * (8 * 8 * 16 * 9 + 4 * 4 * 32 * 9 * 16 + 32 * 10) <= totals["flops_per_example"] < 200_000


def test_summary_table(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "tabular-mlp.yaml")])
    assert result.exit_code == 0, result.output
    assert "species" in result.output
    assert "parameters: 739 (739 trainable, 0 frozen)" in result.output


def test_summary_of_an_invalid_spec_lists_its_errors(runner, write_spec):
    path = write_spec("modelctl: 1\nname: x\nmodel:\n  layers:\n    - dense: {units: 0}\n")
    result = runner.invoke(app, ["summary", str(path)])
    assert result.exit_code == 1
    assert "$.model.layers[0].dense.units: 0 is too small: the minimum is 1" in result.output


@pytest.mark.skipif(importlib.util.find_spec("pydot") is not None and shutil.which("dot") is not None,
                    reason="pydot and graphviz are installed")
def test_plot_without_graphviz_says_how_to_get_it(runner, tmp_path):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "tabular-mlp.yaml"), "--plot",
                                 str(tmp_path / "model.png")])
    assert result.exit_code == 1
    assert "--plot needs" in result.output and "graphviz" in result.output
    assert not (tmp_path / "model.png").exists()


def test_validate_deep(runner):
    result = runner.invoke(app, ["validate", "--deep", str(ROOT / "specs")])
    assert result.exit_code == 0, result.output


def test_recurrent_flops_are_counted(runner):
    result = runner.invoke(app, ["summary", str(ROOT / "specs" / "lstm-text.yaml"), "--format", "json"])
    flops = json.loads(result.output)["totals"]["flops_per_example"]
    lstm = 2 * 64 * 4 * (64 * 64 + 64 * 64) + 2 * 64 * 4 * (64 * 32 + 32 * 32)
    assert lstm <= flops < lstm * 1.1
