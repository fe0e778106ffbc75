"""The import-linter contracts of pyproject.toml hold: packages import only the layers below them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the `modelctl` package and pyproject.toml found in `root` (not an installed copy)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True,
                          timeout=300)


def test_every_import_goes_down_the_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "modelctl", tmp_path / "modelctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    features = tmp_path / "modelctl" / "features" / "base.py"
    features.write_text(features.read_text() + "\n\ndef _upward():\n    from modelctl.data import pipeline\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Packages import only the layers below them BROKEN" in result.stdout
    assert "modelctl.features.base -> modelctl.data.pipeline" in result.stdout
