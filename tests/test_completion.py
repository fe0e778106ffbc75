"""Shell completion: spec files, run folders and template names, as the shell asks for them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT
from modelctl.cli.complete import run_folders, spec_files, templates


@pytest.fixture
def project(tmp_path, monkeypatch):
    """specs/ with two specs and a note, runs/ with two runs of iris and one of mlp, and a hidden folder."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    for name in ("tabular.yaml", "text.yml", "notes.txt"):
        (tmp_path / "specs" / name).write_text("")
    for run in ("iris/20240501T100000Z", "iris/20240502T100000Z", "mlp/20240503T100000Z"):
        (tmp_path / "runs" / run / "checkpoints").mkdir(parents=True)
        (tmp_path / "runs" / run / "run.json").write_text("{}")
    (tmp_path / "runs" / "empty").mkdir()
    (tmp_path / ".cache").mkdir()
    return tmp_path


def test_spec_files(project):
    assert spec_files("") == ["runs/", "specs/"]
    assert spec_files("specs/") == ["specs/tabular.yaml", "specs/text.yml"]
    assert spec_files("specs/ta") == ["specs/tabular.yaml"]
    assert spec_files(".") == [".cache/"]
    assert spec_files("nowhere/x") == []
    assert spec_files(f"{project}/specs/te") == [f"{project}/specs/text.yml"]


def test_run_folders(project):
    assert run_folders("") == ["runs/"]
    assert run_folders("runs/") == ["runs/iris", "runs/iris/", "runs/mlp", "runs/mlp/"]
    assert run_folders("runs/iris/") == ["runs/iris/20240501T100000Z", "runs/iris/20240502T100000Z"]
    assert run_folders("runs/iris/20240502") == ["runs/iris/20240502T100000Z"]
    assert run_folders("specs/") == []


def test_templates():
    assert templates("tab") == ["tabular-classifier", "tabular-regression"]
    assert templates("x") == []


def complete(words: str, cwd) -> list[str]:
    """What bash completion offers for the command line `words` (the last word being typed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_MODELCTL_COMPLETE": "complete_bash", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    code = "import sys; sys.argv = ['modelctl']; from modelctl.cli.app import main; main()"
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=60)
    return result.stdout.split()


def test_the_shell_completes_specs_runs_and_templates(project):
    assert complete("modelctl train specs/t", project) == ["specs/tabular.yaml", "specs/text.yml"]
    assert complete("modelctl eval runs/m", project) == ["runs/mlp", "runs/mlp/"]
    assert complete("modelctl train --resume runs/iris/", project) == ["runs/iris/20240501T100000Z",
                                                                       "runs/iris/20240502T100000Z"]
    assert complete("modelctl init --template text", project) == ["text-lstm", "text-transformer"]
    assert complete("modelctl validate ", project) == ["runs/", "specs/"]


def test_help_lists_the_templates(runner):
    from modelctl.cli.app import app

    result = runner.invoke(app, ["init", "--help"], terminal_width=200)
    assert ("Template name: image-cnn, tabular-classifier, tabular-regression, text-lstm, text-transformer, "
            "transfer-mobilenet.") in " ".join(result.output.split())
    result = runner.invoke(app, ["--help"], terminal_width=200)
    assert "modelctl --install-completion sets up Tab completion" in " ".join(result.output.split())
