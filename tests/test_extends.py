"""`extends`: specs merged onto their bases, errors at the file and line a key came from, cycles and missing
bases at the `extends` line, `--print-resolved`, partial bases, and run folders that keep the merged spec."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import ROOT
from modelctl.cli.app import app
from modelctl.spec.extends import load_resolved
from modelctl.spec.schema import SCHEMA_FILE
from modelctl.spec.validate import load_spec, validate_file

IRIS = ROOT / "examples" / "iris" / "iris.csv"

BASE = f"""\
modelctl: 1
name: base
seed: 7
data:
  source: {{format: csv, path: {IRIS}}}
  features:
    x: {{type: numeric, columns: [sepal_length, sepal_width, petal_length, petal_width]}}
  labels:
    species: {{column: species, type: categorical}}
  batch_size: 16
model:
  layers:
    - dense: {{units: 8, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
      name: species
training:
  epochs: 3
  optimizer: {{type: adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
  metrics: [accuracy]
  early_stopping: {{monitor: val_loss, patience: 2}}
"""

TRAINING = """\
modelctl: 1
training:
  epochs: 1
  steps_per_epoch: 3
"""

WIDE = """\
modelctl: 1
extends: [base.yaml, training.yaml]
name: wide
model:
  layers:
    - dense: {units: 32, activation: relu}
    - dense: {units: 3, activation: softmax}
      name: species
training:
  early_stopping: null
  optimizer: {type: sgd}
"""


@pytest.fixture
def family(tmp_path, monkeypatch):
    """base.yaml (a whole spec), training.yaml (a partial base) and wide.yaml extending both, in the working
    folder."""
    monkeypatch.chdir(tmp_path)
    for name, text in (("base.yaml", BASE), ("training.yaml", TRAINING), ("wide.yaml", WIDE)):
        (tmp_path / name).write_text(text)
    return tmp_path


def test_mappings_merge_lists_replace_and_null_removes(family):
    document = load_resolved("wide.yaml")
    assert document.files == ["base.yaml", "training.yaml", "wide.yaml"]
    spec = document.data
    assert "extends" not in spec
    assert spec["name"] == "wide" and spec["seed"] == 7
    assert spec["training"] == {"epochs": 1, "optimizer": {"type": "sgd", "learning_rate": 0.01},
                                "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"],
                                "steps_per_epoch": 3}
    assert [layer["dense"]["units"] for layer in spec["model"]["layers"]] == [32, 3]
    assert spec["data"] == yaml.safe_load(BASE)["data"]


def test_each_value_keeps_the_file_and_line_it_was_written_at(family):
    document = load_resolved("wide.yaml")
    assert str(document.locate(("seed",))) == "base.yaml:3:7"
    assert str(document.locate(("training", "epochs"))) == "training.yaml:3:11"
    assert str(document.locate(("training", "optimizer", "type"))) == "wide.yaml:11:21"
    assert str(document.locate(("training", "optimizer", "learning_rate"))) == "base.yaml:18:42"
    assert str(document.locate(("model", "layers", 0, "dense", "units"))) == "wide.yaml:6:22"
    assert str(document.locate(("training", "early_stopping"))) == "wide.yaml:10:3"  # its mapping: the key is gone


def test_errors_point_at_the_file_a_key_came_from(family):
    (family / "training.yaml").write_text(TRAINING.replace("epochs: 1", "epochs: 0"))
    (family / "base.yaml").write_text(BASE.replace("units: 8, activation: relu", "units: 8, activation: rleu")
                                      .replace("batch_size: 16", "batch_size: 0"))
    result = validate_file("wide.yaml", ["training.optimizer.type=adamm"])
    assert [str(item).split(". Expected")[0] for item in result.errors] == [
        "--set training.optimizer.type=adamm: $.training.optimizer.type: 'adamm' is not a known optimizer",
        "base.yaml:10:15: $.data.batch_size: 0 is too small: the minimum is 1",
        "training.yaml:3:11: $.training.epochs: 0 is too small: the minimum is 1"]  # base.yaml's layers are replaced


def test_a_nested_base_and_its_positions(family):
    (family / "deep.yaml").write_text("modelctl: 1\nextends: wide.yaml\nname: deep\nseed: 9\n")
    document = load_resolved("deep.yaml")
    assert document.files == ["base.yaml", "training.yaml", "wide.yaml", "deep.yaml"]
    assert (document.data["name"], document.data["seed"]) == ("deep", 9)
    assert str(document.locate(("model", "layers", 1, "name"))) == "wide.yaml:8:13"


def test_a_base_in_another_folder_is_named_relative_to_the_file(family):
    (family / "variants").mkdir()
    (family / "variants" / "small.yaml").write_text("modelctl: 1\nextends: ../base.yaml\nname: small\n")
    document = load_resolved(family / "variants" / "small.yaml")
    assert document.files == [str(family / "base.yaml"), str(family / "variants" / "small.yaml")]
    assert document.data["name"] == "small"
    assert validate_file("variants/small.yaml").errors == []


@pytest.mark.parametrize("text, message", [
    ("extends: nothere.yaml", "1:10: $.extends: the base spec 'nothere.yaml' does not exist (looked for "
                              "nothere.yaml); base paths are relative to the file that names them"),
    ("extends: [base.yaml, base.yaml]", "1:22: $.extends[1]: 'base.yaml' is named twice (first as item 0)"),
    ("extends: 3", "1:10: $.extends: `extends` names the base spec files this one is merged onto: a file name "
                   "such as base.yaml, or a non-empty list of them; got an integer"),
    ("extends: []", "1:10: $.extends: `extends` names the base spec files this one is merged onto: a file name "
                    "such as base.yaml, or a non-empty list of them; got an empty list"),
    ("extends: .", "1:10: $.extends: the base spec '.' is a folder, not a spec file (looked for .); base paths "
                   "are relative to the file that names them"),
])
def test_a_bad_extends_is_an_error_at_its_line(family, text, message):
    (family / "bad.yaml").write_text(f"{text}\nmodelctl: 1\nname: bad\n")
    assert [str(item) for item in validate_file("bad.yaml").diagnostics] == [f"bad.yaml:{message}"]


def test_a_missing_key_is_reported_in_the_file_that_extends(family):
    (family / "nameless.yaml").write_text("modelctl: 1\nextends: training.yaml\n")
    assert [str(item) for item in validate_file("nameless.yaml").errors] == [
        "nameless.yaml:1:1: $: missing required key 'model' (The network, as a list of layers)",
        "nameless.yaml:1:1: $: missing required key 'name' (Name of the experiment; runs are stored under runs/NAME/)"]


def test_set_cannot_name_bases(family):
    assert [str(item) for item in validate_file("wide.yaml", ["extends=base.yaml"]).diagnostics] == [
        "--set extends=base.yaml: $.extends: `extends` is read from the spec file; --set cannot name bases"]


def test_a_cycle_is_an_error_at_the_extends_line(family):
    (family / "a.yaml").write_text("modelctl: 1\nname: a\nextends: b.yaml\n")
    (family / "b.yaml").write_text("modelctl: 1\nextends:\n  - base.yaml\n  - a.yaml\n")
    assert [str(item) for item in validate_file("a.yaml").diagnostics] == [
        "b.yaml:4:5: $.extends[1]: 'a.yaml' leads back to a spec that extends it: a.yaml -> b.yaml -> a.yaml"]
    (family / "self.yaml").write_text("modelctl: 1\nextends: self.yaml\n")
    assert [str(item) for item in validate_file("self.yaml").diagnostics] == [
        "self.yaml:2:10: $.extends: 'self.yaml' leads back to a spec that extends it: self.yaml -> self.yaml"]


def test_a_partial_base_is_checked_with_the_specs_that_extend_it(family, runner):
    result = runner.invoke(app, ["validate", "."])
    assert (result.exit_code, result.output) == (0, "3 specs valid\n")
    result = runner.invoke(app, ["validate", "training.yaml"])
    assert result.exit_code == 1
    assert result.output.splitlines()[:2] == [
        "training.yaml:1:1: $: missing required key 'model' (The network, as a list of layers)",
        "training.yaml:1:1: $: missing required key 'name' (Name of the experiment; runs are stored under "
        "runs/NAME/)"]


def test_a_partial_base_still_gets_its_own_errors(family, runner):
    (family / "training.yaml").write_text(TRAINING.replace("steps_per_epoch", "step_per_epoch"))
    result = runner.invoke(app, ["validate", "training.yaml", "wide.yaml"])
    assert result.exit_code == 1
    problem = "training.yaml:4:3: $.training.step_per_epoch: unknown key 'step_per_epoch'."
    # Found in training.yaml and again in wide.yaml, which extends it: shown once, and both specs are invalid.
    assert [line.split(" Allowed")[0] for line in result.output.splitlines()] == [problem,
                                                                                 "1 error, 0 warnings in 2 of 2 specs"]


def test_every_file_passes_the_schema_as_editors_check_it(family):
    schema = json.loads((ROOT / SCHEMA_FILE).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for name in ("base.yaml", "training.yaml"):
        assert list(validator.iter_errors(yaml.safe_load((family / name).read_text()))) == [], name
    # A `null` that removes a key passes where the key takes null; elsewhere only the merged spec is valid.
    wide = yaml.safe_load((family / "wide.yaml").read_text())
    assert [error.message for error in validator.iter_errors(wide)] == ["None is not of type 'object'"]
    del wide["training"]["early_stopping"]
    assert list(validator.iter_errors(wide)) == []
    assert [error.message for error in validator.iter_errors({"name": "x"})] == ["'modelctl' is a required property"]


def test_print_resolved_shows_the_merged_spec_after_set(family, runner):
    result = runner.invoke(app, ["validate", "wide.yaml", "--print-resolved", "--set", "seed=11"])
    assert result.exit_code == 0, result.output
    header, rest = result.output.split("\n", 1)
    assert header == "# wide.yaml: merged from base.yaml, training.yaml, wide.yaml"
    printed = yaml.safe_load(rest.rsplit("\n", 2)[0])
    assert printed == {**load_resolved("wide.yaml").data, "seed": 11}
    assert result.output.endswith("\n1 spec valid\n")
    result = runner.invoke(app, ["validate", "wide.yaml", "--print-resolved", "--format", "json"])
    [entry] = json.loads(result.output)["files"]
    assert entry["files"] == ["base.yaml", "training.yaml", "wide.yaml"] and entry["resolved"]["name"] == "wide"


@pytest.mark.slow
def test_the_run_folder_keeps_the_merged_spec_and_its_files(family):
    import io

    from rich.console import Console

    from modelctl.spec.run import load_run_spec
    from modelctl.training.trainer import train

    result = train(load_spec("wide.yaml"), family / "runs", Console(file=io.StringIO()), quiet=True)
    saved = yaml.safe_load((result.run_dir / "spec.yaml").read_text())
    assert saved == load_resolved("wide.yaml").data
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["spec_files"] == [str(family / name) for name in ("base.yaml", "training.yaml", "wide.yaml")]
    assert load_run_spec(result.run_dir).data == saved
    assert Path(result.run_dir).parent.name == "wide"
