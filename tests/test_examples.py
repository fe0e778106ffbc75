"""The shipped specs: every one in specs/ and examples/ validates and opens with its comment (tests/test_matrix.py
takes each through every command)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
from pathlib import Path

import pytest

from conftest import ROOT
from modelctl.spec.validate import validate_file

SPECS = sorted((ROOT / "specs").glob("*.yaml"))
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))
PLUGIN_SPEC = ROOT / "examples" / "plugin" / "spec.yaml"
PLAIN_EXAMPLES = [path for path in EXAMPLES if path != PLUGIN_SPEC]
"""The examples that need nothing installed beyond modelctl."""



def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()



def test_the_examples_are_all_there():
    assert [_id(path) for path in EXAMPLES] == [
        "examples/breast_cancer/spec.yaml", "examples/diabetes/spec.yaml", "examples/digits/spec.yaml",
        "examples/digits/student.yaml", "examples/digits/teacher.yaml", "examples/iris/spec.yaml", "examples/plugin/spec.yaml", "examples/text/spec.yaml",
        "examples/text/transformer.yaml"]


TEACHERS = {ROOT / "examples" / "digits" / "student.yaml": (ROOT / "examples" / "digits" / "teacher.yaml",
                                                             {"digit": [str(digit) for digit in range(10)]})}
"""A spec that distills a teacher -> the teacher's spec and its classes by label, for a teacher run's files."""


def teacher_files(folder: Path, spec: Path, classes: dict) -> Path:
    """The files of a teacher's run folder that validate reads (its model file is only looked for)."""
    folder.mkdir()
    (folder / "spec.yaml").write_text(spec.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "run.json").write_text(json.dumps({"name": "teacher", "status": "completed"}), encoding="utf-8")
    (folder / "preprocessing.json").write_text(json.dumps(
        {"features": {}, "labels": {label: {"type": "categorical", "classes": names} for label, names in classes.items()}}))
    (folder / "model.keras").write_bytes(b"")
    return folder


@pytest.mark.parametrize("path", SPECS + PLAIN_EXAMPLES, ids=_id)
def test_spec_is_valid_without_warnings(path, tmp_path):
    overrides = []
    if path in TEACHERS:
        overrides = [f"training.distillation.teacher={teacher_files(tmp_path / 'teacher', *TEACHERS[path])}"]
    result = validate_file(path, overrides)
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
