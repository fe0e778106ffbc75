"""Every family through every command, for the specs in specs/: each goes through validate, validate --deep,
summary, train, eval, explain, export --format all, track (an upload to an MLflow store), predict on every
artifact and `modelctl serve` on the run (specs without data stop after summary), and every artifact's
predictions and the server's answers agree with the run's (see matrix_steps.py). Last, a fresh process loads
every run's model with `modelctl.load_model` and predicts again. tests/test_matrix_examples.py does the same for
the examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from matrix_steps import Matrix, with_plugin

SPECS = sorted((ROOT / "specs").glob("*.yaml"))
MATRIX = Matrix(ROOT)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def timings():
    yield
    MATRIX.write_timings("specs")


@pytest.mark.parametrize("path", SPECS, ids=MATRIX.name)
def test_every_command(path: Path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    MATRIX.run(path, tmp_path)


def test_one_family_trains_on_ray(tmp_path):
    """specs/tabular-mlp.yaml through every command, trained by `modelctl train --ray --workers 2` (a local Ray for
    the command, as the README shows it), in a network namespace with only a loopback interface: the run folder
    Ray's workers leave is read by eval, explain, export, track, predict and serve as any other."""
    from loopback import loopback_namespace

    environment = {**with_plugin(tmp_path, ROOT), "CUDA_VISIBLE_DEVICES": ""}
    with loopback_namespace() as namespace:
        MATRIX.run(ROOT / "specs" / "tabular-mlp.yaml", tmp_path, environment, namespace=namespace,
                   train_options=["--ray", "--workers", "2"], suffix=" (ray)")


def test_every_run_loads_in_a_new_process_with_modelctl_load_model(tmp_path):
    MATRIX.reload(tmp_path, with_plugin(tmp_path, ROOT))
