"""The shipped specs: every one in specs/ and examples/ validates and opens with its comment, and every
example trains (two epochs here; the epochs and metrics in each example's comment come from full runs)."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, quiet_console
from modelctl.spec.validate import load_spec, validate_file

SPECS = sorted((ROOT / "specs").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
PLUGIN_SPEC = ROOT / "examples" / "plugin" / "spec.yaml"
PLAIN_EXAMPLES = [path for path in EXAMPLES if path != PLUGIN_SPEC]
"""The examples that need nothing installed beyond modelctl."""

TWO_EPOCHS = ["training.epochs=2"]


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()



def test_the_examples_are_all_there():
    assert [_id(path) for path in EXAMPLES] == [
        "examples/breast_cancer/spec.yaml", "examples/diabetes/spec.yaml", "examples/digits/spec.yaml",
        "examples/iris/spec.yaml", "examples/plugin/spec.yaml", "examples/text/spec.yaml",
        "examples/text/transformer.yaml"]


@pytest.mark.parametrize("path", SPECS + PLAIN_EXAMPLES, ids=_id)
def test_spec_is_valid_without_warnings(path):
    result = validate_file(path)
    assert [str(item) for item in result.diagnostics] == []


@pytest.mark.parametrize("path", SPECS + EXAMPLES, ids=_id)
def test_spec_opens_with_the_modeline_and_says_what_it_is_for(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    schema = Path(os.path.relpath(ROOT / "schemas" / "modelctl.schema.json", path.parent)).as_posix()
    assert lines[0] == f"# yaml-language-server: $schema={schema}"
    header = lines[1:lines.index("modelctl: 1")]
    assert all(line.startswith("#") for line in header)
    text = "\n".join(header)
    assert "# Change:" in text and ("# Data:" in text or "# Input:" in text)
    if path in EXAMPLES:
        assert "# Result:" in text


@pytest.mark.parametrize("path", PLAIN_EXAMPLES, ids=_id)
def test_example_trains(path, tmp_path):
    from modelctl.training.trainer import train

    result = train(load_spec(path, TWO_EPOCHS), tmp_path / "runs", quiet_console(), quiet=True)
    assert result.epochs == 2
    assert (result.run_dir / "model.keras").is_file()
    assert set(result.metrics) == {"train", "validation", "test"}
    assert all(math.isfinite(value) for value in result.metrics["test"].values())


def _with_plugin(tmp_path: Path) -> dict:
    """An environment in which the example plug-in is installed: its package and its distribution metadata
    on PYTHONPATH, which is all that entry-point discovery reads."""
    site = tmp_path / "site"
    info = site / "modelctl_example_plugin-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modelctl-example-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[modelctl.layers]\nscale = modelctl_example_plugin.entries:ENTRIES\n")
    paths = [str(site), str(ROOT / "examples" / "plugin"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths)), "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_plugin_example_validates_and_trains_once_the_plugin_is_installed(tmp_path):
    environment = _with_plugin(tmp_path)
    modelctl = [sys.executable, "-c", "from modelctl.cli.app import main; main()"]
    validated = subprocess.run([*modelctl, "validate", "--strict", str(PLUGIN_SPEC)], env=environment,
                               capture_output=True, text=True)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    trained = subprocess.run([*modelctl, "train", str(PLUGIN_SPEC), "--set", TWO_EPOCHS[0], "--quiet",
                              "--output", str(tmp_path / "runs")], env=environment, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    assert list((tmp_path / "runs" / "wine-scale").glob("*/model.keras"))


def test_reviews_are_what_the_generator_writes():
    script = ROOT / "examples" / "text" / "make_reviews.py"
    spec = importlib.util.spec_from_file_location("make_reviews", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = ROOT / "examples" / "text" / "reviews.csv"
    with path.open(newline="", encoding="utf-8") as file:
        rows = [tuple(row) for row in csv.reader(file)]
    assert rows[0] == ("review", "sentiment")
    assert rows[1:] == module.rows()
    assert path.stat().st_size < 300_000
