"""The lint install: `validate`, `schema` and `init` run without the `train` extra (no NumPy, TensorFlow,
pandas, pyarrow), the other commands say which extra to install, and the pre-commit hook's entry point
validates the shipped specs. `.ci/run` also installs the core alone in a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from modelctl.spec.validate import validate_file

TRAIN_EXTRA = ["numpy", "tensorflow", "keras", "pandas", "pyarrow", "onnx", "tf2onnx", "onnxruntime", "matplotlib",
               "sklearn", "ai_edge_litert"]

WITHOUT_EXTRA = f"""
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):
    # Stands for an environment where the `train` extra is not installed.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TRAIN_EXTRA!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Missing())
sys.argv = ["modelctl", *sys.argv[1:]]
from modelctl.cli.app import main
main()
"""

MESSAGE = ("error: modelctl {} needs tensorflow, which is not installed: modelctl was installed without its `train` "
           "extra (the lint install, for validate, schema and init). Install it with: pip install \"modelctl[train]\"")


def modelctl(*arguments: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`modelctl ARGUMENTS` in a new process in which the packages of the `train` extra cannot be imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", WITHOUT_EXTRA, *arguments], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def shipped_specs() -> list[str]:
    """The shipped specs that validate on a fresh clone: not the plug-in example's (its layer comes from a plug-in
    package), nor the digits student, whose teacher is a run made by training `examples/digits/teacher.yaml`."""
    plugin = ROOT / "examples" / "plugin"
    student = ROOT / "examples" / "digits" / "student.yaml"
    return sorted(str(path.relative_to(ROOT)) for folder in ("specs", "examples") for path in (ROOT / folder).rglob(
        "*.yaml") if plugin not in path.parents and path != student)


def test_validate_schema_and_init_need_no_train_extra(tmp_path):
    result = modelctl("validate", "--strict", *shipped_specs())
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.endswith(f"{len(shipped_specs())} specs valid\n")
    schema = modelctl("schema")
    assert schema.stdout == (ROOT / "schemas" / "modelctl.schema.json").read_text()
    drafted = modelctl("init", "--data", str(ROOT / "examples" / "iris" / "iris.csv"), "--label", "species",
                       cwd=tmp_path)
    assert drafted.returncode == 0, drafted.stderr
    assert modelctl("validate", "spec.yaml", cwd=tmp_path).stdout == "1 spec valid\n"


@pytest.mark.parametrize("arguments, name", [(["train", "specs/tabular-mlp.yaml"], "train"),
                                             (["summary", "specs/tabular-mlp.yaml"], "summary"),
                                             (["validate", "--deep", "specs/tabular-mlp.yaml"], "validate --deep"),
                                             (["eval", "runs/tabular-mlp"], "eval"),
                                             (["ensemble", "runs/a", "runs/b"], "ensemble"),
                                             (["explain", "runs/tabular-mlp"], "explain")])
def test_commands_that_need_tensorflow_name_the_extra(arguments, name):
    result = modelctl(*arguments)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", MESSAGE.format(name) + "\n")


def test_the_pre_commit_hook_validates_the_shipped_specs():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert (hook["id"], hook["language"], hook["require_serial"]) == ("modelctl-validate", "python", True)
    included, excluded = re.compile(hook["files"]), re.compile(hook["exclude"])
    files = [name for name in shipped_specs() if included.search(name) and not excluded.search(name)]
    assert "specs/tabular-mlp.yaml" in files and "examples/iris/spec.yaml" in files
    assert excluded.search(".github/workflows/specs.yml") and excluded.search(".pre-commit-config.yaml")
    command, *arguments = shlex.split(hook["entry"])
    assert command == "modelctl"
    result = modelctl(*arguments, *files)  # as pre-commit runs it: the entry, then the matching files
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, f"{len(files)} specs valid"), result.stdout


def test_a_parquet_source_is_checked_where_pyarrow_is_installed(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [1.0, 2.0], "y": ["a", "b"]}), tmp_path / "t.parquet")
    (tmp_path / "spec.yaml").write_text(
        "modelctl: 1\nname: p\nseed: 1\ndata:\n  source: {format: parquet, path: t.parquet}\n"
        "  features:\n    x: {type: numeric, columns: [x, z]}\n  labels:\n    y: {column: y, type: categorical}\n"
        "model:\n  layers:\n    - dense: {units: 2, activation: softmax}\n      name: y\n")
    assert modelctl("validate", "spec.yaml", cwd=tmp_path).stdout == "1 spec valid\n"  # the header is not read
    assert validate_file(tmp_path / "spec.yaml").errors[0].message.startswith("'z' is not a column of t.parquet")
