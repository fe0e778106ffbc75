"""The generated schema: committed, valid against its metaschema, described, and in step with the registries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from modelctl.spec.schema import RESOLVED_REQUIRED, SCHEMA_FILE, build_schema, registries, schema_text

ROOT = Path(__file__).resolve().parent.parent


def test_committed_schema_is_current():
    committed = (ROOT / SCHEMA_FILE).read_text(encoding="utf-8")
    assert committed == schema_text(), (
        "schemas/modelctl.schema.json is out of date: run `modelctl schema --output schemas/modelctl.schema.json`")


def test_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(build_schema())


def _property_tables(schema, path="#"):
    """Yield (path, properties, required) for every property table, not descending into `if` conditions."""
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            yield path, schema["properties"], set(schema.get("required", []))
        for key, value in schema.items():
            if key in ("if", "enum", "const", "default"):
                continue
            yield from _property_tables(value, f"{path}/{key}")
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            yield from _property_tables(value, f"{path}/{index}")


def test_every_property_has_a_description_and_optional_ones_a_default():
    missing = []
    layer_names = set(registries()["layer"].names())
    for path, properties, required in _property_tables(build_schema()):
        if path == "#":
            required |= set(RESOLVED_REQUIRED)  # a base may leave them out; a spec holds them once merged
        for name, schema in properties.items():
            if set(schema) <= {"const"} or not schema:
                continue  # a discriminator inside a variant, described by the outer schema
            if name in layer_names and ("$defs/layer/" in path or "$defs/template_layer/" in path
                                        or path.endswith(("$defs/wrapped_layer", "$defs/augmentation_layer"))):
                schema = {"default": None, **schema}  # which layer an item is: an alternative, not a setting
            if "description" not in schema:
                missing.append(f"{path}/properties/{name}: no description")
            if name not in required and "default" not in schema and "/then" not in path:
                missing.append(f"{path}/properties/{name}: no default")
    assert missing == []


def test_schema_and_registries_are_in_step():
    schema = build_schema()
    families = registries()
    layer_defs = {key.split(".", 1)[1] for key in schema["$defs"] if key.startswith("layer.")}
    assert layer_defs == set(families["layer"].names())
    for family in ("optimizer", "schedule", "loss", "metric"):
        defined = {key.split(".", 1)[1] for key in schema["$defs"] if key.startswith(f"{family}.")}
        assert defined == set(families[family].names()), family
        for entry in families[family]:
            properties = schema["$defs"][f"{family}.{entry.name}"]["properties"]
            assert set(properties) == {"type", *entry.args}, entry.name
    for entry in families["layer"]:
        properties = schema["$defs"][f"layer.{entry.name}"]["properties"]
        assert set(properties) == {*entry.args, "trainable", "dtype"}, entry.name
    training = schema["properties"]["training"]["properties"]
    assert set(families["callback"].names()) <= set(training)
    assert schema["properties"]["export"]["properties"]["formats"]["items"]["enum"] == families["exporter"].names()


def _shipped_specs():
    return sorted((ROOT / "specs").glob("*.yaml")) + sorted((ROOT / "tests" / "specs" / "valid").glob("*.yaml"))


@pytest.mark.parametrize("path", _shipped_specs(), ids=lambda path: path.name)
def test_shipped_specs_pass_a_plain_jsonschema_validator(path):
    validator = jsonschema.Draft202012Validator(json.loads((ROOT / SCHEMA_FILE).read_text()))
    errors = [error.message for error in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


def test_check_jsonschema_accepts_the_shipped_specs():
    """check-jsonschema (the dev extra installs it), the validator a CI pipeline or pre-commit would run."""
    files = [str(path) for path in _shipped_specs()]
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--schemafile", str(ROOT / SCHEMA_FILE), *files],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_validates_without_modelctl_installed(tmp_path):
    """An editor or CI job holding only the schema file can validate specs."""
    code = ("import json, sys, yaml, jsonschema\n"
            "assert 'modelctl' not in sys.modules\n"
            "schema = json.load(open(sys.argv[1]))\n"
            "spec = yaml.safe_load(open(sys.argv[2]))\n"
            "print(len(list(jsonschema.Draft202012Validator(schema).iter_errors(spec))))\n")
    spec = tmp_path / "bad.yaml"
    spec.write_text("modelctl: 1\nname: x\nmodel:\n  layers:\n    - dense: {units: 0}\n")
    output = subprocess.run([sys.executable, "-I", "-c", code, str(ROOT / SCHEMA_FILE), str(spec)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert output.stdout.strip() == "1", output.stderr


def test_reference_is_current():
    from modelctl.spec.reference import REFERENCE_FILE, render_reference

    assert (ROOT / REFERENCE_FILE).read_text(encoding="utf-8") == render_reference(), (
        "docs/spec.md is out of date: run `modelctl schema --format markdown --output docs/spec.md`")
