"""Spec fixtures as data: every file in specs/valid is valid, and every file in specs/invalid
gives exactly the diagnostics written in the `.expected` file beside it (one per line).

To add a case, write `tests/specs/invalid/NAME.yaml` and `NAME.expected`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelctl.spec.validate import validate_file

CASES = Path(__file__).resolve().parent / "specs"


def _files(kind: str) -> list[Path]:
    return sorted((CASES / kind).glob("*.yaml"))


@pytest.mark.parametrize("path", _files("valid"), ids=lambda path: path.stem)
def test_valid(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    result = validate_file(path.name)
    assert [str(item) for item in result.diagnostics] == []


@pytest.mark.parametrize("path", _files("invalid"), ids=lambda path: path.stem)
def test_invalid(path, monkeypatch):
    monkeypatch.chdir(path.parent)
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").splitlines()
    result = validate_file(path.name)
    assert [str(item) for item in result.diagnostics] == expected


def test_every_invalid_case_has_its_expectation():
    invalid = CASES / "invalid"
    cases = {path.stem for path in invalid.glob("*.yaml")}
    expectations = {path.stem for path in invalid.glob("*.expected")}
    assert len(cases) >= 10 and len(_files("valid")) >= 1
    assert sorted(cases - expectations) == [], "cases without a .expected file"
    assert sorted(expectations - cases) == [], ".expected files without a case"
    assert all(path.read_text(encoding="utf-8").strip() for path in invalid.glob("*.expected")), \
        "an empty .expected file would make its case pass only when the spec is valid"
