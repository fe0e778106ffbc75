"""Source formats from plug-ins: found through the `modelctl.sources` entry-point group, written in specs, read
by the data pipeline and by `modelctl predict`, with nothing but the plug-in's two files.

The plug-in is `tests/plugins/jsonl_source/` (the worked example of docs/plugins.md): a module with a `Source`
subclass and its entry, and the `pyproject.toml` that declares the entry point. Nothing is installed: the tests
write the distribution's metadata and the module into a temporary folder put on the path of a new process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_export_plugin import install, modelctl

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = Path(__file__).resolve().parent / "plugins" / "jsonl_source"
PLUGIN_FILES = ["modelctl_jsonl_source.py", "pyproject.toml"]

SPEC = """
modelctl: 1
name: shop
seed: 2
data:
  source: {format: jsonl, path: shop.jsonl}
  features:
    numbers: {type: numeric, columns: [price, weight], preprocessing: [standardize]}
    colour: {type: categorical}
  labels:
    bought: {column: bought, type: categorical}
  split: {train: 0.6, validation: 0.2, test: 0.2}
  batch_size: 8
model:
  layers:
    - concatenate: {}
      inputs: [numbers, colour]
    - dense: {units: 2, activation: softmax}
training:
  epochs: 1
"""


def _shop(path: Path, rows: int = 40, blank_after: int | None = None) -> list[dict]:
    records = [{"price": round(1 + index * 0.25, 2), "weight": index % 7, "colour": "rgb"[index % 3],
                "bought": "yes" if index % 2 else "no"} for index in range(rows)]
    lines = [json.dumps(record) for record in records]
    if blank_after is not None:
        lines.insert(blank_after, "")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return records


@pytest.fixture
def installed(tmp_path):
    """A folder with the plug-in installed in it, for code run in a new process (this one keeps the built-in
    formats the other tests expect)."""
    folder = tmp_path / "site"
    folder.mkdir()
    install(folder, PLUGIN)
    return folder


def _python(site: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(site)!r})\n{code}"],
                          capture_output=True, text=True, cwd=cwd)


def test_the_plugin_is_two_files_and_the_docs_show_them_whole():
    assert sorted(path.name for path in PLUGIN.iterdir() if path.name != "__pycache__") == PLUGIN_FILES
    docs = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    for name in PLUGIN_FILES:
        assert (PLUGIN / name).read_text(encoding="utf-8") in docs, f"docs/plugins.md does not show {name} as it is"


def test_a_spec_reads_the_plugin_format_and_errors_name_its_file_and_line(installed, tmp_path):
    _shop(tmp_path / "shop.jsonl", blank_after=5)
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "new.jsonl").write_text('{"price": 2.5, "weight": 3, "colour": "g"}\n\n'
                                        '{"price": 9.0, "weight": 1, "colour": "r"}\n', encoding="utf-8")
    valid = modelctl(installed, "validate", str(tmp_path / "spec.yaml"))
    assert valid.returncode == 0, valid.stdout + valid.stderr
    code = """
from modelctl.data.pipeline import prepare
from modelctl.registry.sources import source_names, table_suffixes
from modelctl.spec.schema import build_schema
from modelctl.spec.validate import load_spec

print(source_names()[-1], table_suffixes()[".jsonl"], build_schema()["$defs"]["source"]["properties"]["format"]["enum"][-1])
prepared = prepare(load_spec("spec.yaml"))
print(sum(prepared.counts.values()), prepared.arrays("train").features["colour"][:3].tolist())
from modelctl.predict import read_inputs
examples = read_inputs(prepared.data.features, prepared.fitted, ["new.jsonl"])
values, names = examples.values, examples.names
print(names, values["numbers"].shape, values["colour"].tolist())
"""
    read = _python(installed, code, tmp_path)
    assert read.returncode == 0, read.stdout + read.stderr
    lines = read.stdout.splitlines()
    assert lines[0] == "jsonl jsonl jsonl"
    assert lines[1].startswith("40 [")
    # predictions name rows as errors do: the second example is on line 3, after the blank line
    assert lines[2] == "['new.jsonl row 1', 'new.jsonl row 3'] (2, 2) [['g'], ['r']]"
    # example 8 is on line 9: the blank line keeps its number
    text = (tmp_path / "shop.jsonl").read_text(encoding="utf-8").replace('"price": 2.75', '"price": null', 1)
    (tmp_path / "shop.jsonl").write_text(text, encoding="utf-8")
    refused = _python(installed, "from modelctl.data.pipeline import prepare\n"
                                 "from modelctl.spec.validate import load_spec\nprepare(load_spec('spec.yaml'))",
                      tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "modelctl.errors.DataError: shop.jsonl:row 9: column 'price': numeric feature 'numbers' "
        "has a missing value; set `missing: {strategy: mean}` (or median, constant, drop) to fill or drop missing "
        "values")
    (tmp_path / "shop.jsonl").write_text(text.replace('"colour": "b"', '"colour": 3', 1), encoding="utf-8")
    wrong = _python(installed, "from modelctl.data.sources import open_source\n"
                               "s = open_source({'format': 'jsonl', 'path': 'shop.jsonl'}, '.')\n"
                               "list(s.batches())", tmp_path)
    assert wrong.stderr.strip().splitlines()[-1] == (
        "modelctl.errors.DataError: shop.jsonl:row 3: column 'colour': 3 is not a string")


def test_without_the_plugin_the_format_is_unknown(tmp_path):
    _shop(tmp_path / "shop.jsonl")
    (tmp_path / "spec.yaml").write_text(SPEC, encoding="utf-8")
    refused = modelctl(None, "validate", str(tmp_path / "spec.yaml"))
    assert refused.returncode == 1
    assert "$.data.source.format: 'jsonl' is not a known source format" in refused.stdout + refused.stderr

