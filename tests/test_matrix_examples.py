"""Every family through every command, for the examples: as tests/test_matrix.py does for specs/, with the
plug-in example run in a child process that has the plug-in installed, and `modelctl ensemble` of two runs of the
iris example through every command after it. A teacher of distillation (`matrix_steps.TEACHERS`) is trained within
its student's family, which takes the student through every command; the teacher is a CNN like digits/spec.yaml,
and is not taken through them again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from matrix_steps import TEACHERS, Matrix, with_plugin

TAUGHT_BY = [ROOT / teacher for teacher in TEACHERS.values()]
EXAMPLES = [path for path in sorted((ROOT / "examples").rglob("*.yaml")) if path not in TAUGHT_BY]
PLUGIN_SPEC = ROOT / "examples" / "plugin" / "spec.yaml"
ENSEMBLE_SPEC = ROOT / "examples" / "iris" / "spec.yaml"
MATRIX = Matrix(ROOT)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def timings():
    yield
    MATRIX.write_timings("examples")


@pytest.mark.parametrize("path", [path for path in EXAMPLES if path != PLUGIN_SPEC], ids=MATRIX.name)
def test_every_command(path: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    MATRIX.run(path, tmp_path)


def test_every_command_with_the_plugin_installed(tmp_path):
    MATRIX.run(PLUGIN_SPEC, tmp_path, with_plugin(tmp_path, ROOT))


def test_an_ensemble_of_two_runs_through_every_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    MATRIX.ensemble(ENSEMBLE_SPEC, tmp_path)


def test_every_run_loads_in_a_new_process_with_modelctl_load_model(tmp_path):
    MATRIX.reload(tmp_path, with_plugin(tmp_path, ROOT))
