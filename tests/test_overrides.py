"""`--set dotted.path=value` overrides."""

from __future__ import annotations

import pytest

from modelctl.errors import UsageError
from modelctl.spec.loader import load_text
from modelctl.spec.overrides import apply_overrides, parse_path
from modelctl.spec.validate import validate_file

SPEC = """\
modelctl: 1
name: small
seed: 1
model:
  inputs:
    x: {shape: [4]}
  layers:
    - dense: {units: 8, activation: relu}
    - dense: {units: 1}
"""


@pytest.mark.parametrize("text, expected", [
    ("training.epochs", ("training", "epochs")),
    ("model.layers[1].dense.units", ("model", "layers", 1, "dense", "units")),
    ("model.layers.1.dense.units", ("model", "layers", 1, "dense", "units")),
])
def test_parse_path(text, expected):
    assert parse_path(text) == expected


@pytest.mark.parametrize("text", ["", ".a", "a.", "a..b", "a[x]", "a]b"])
def test_parse_path_rejects(text):
    with pytest.raises(ValueError):
        parse_path(text)


def test_values_are_yaml_scalars_never_evaluated():
    document = load_text(SPEC, "spec.yaml")
    apply_overrides(document, ["training.epochs=5", "model.layers[0].dense.activation=gelu",
                               "training.deterministic=true", "description=__import__('os')"])
    assert document.data["training"] == {"epochs": 5, "deterministic": True}
    assert document.data["model"]["layers"][0]["dense"]["activation"] == "gelu"
    assert document.data["description"] == "__import__('os')"


def test_errors_point_at_the_set_argument(write_spec):
    path = write_spec(SPEC)
    result = validate_file(path, ["training.epochs=many", "model.layers[1].dense.unit=3"])
    assert [str(item) for item in result.errors] == [
        "--set model.layers[1].dense.unit=3: $.model.layers[1].dense.unit: unknown key 'unit'. Allowed keys: "
        "'activation', 'activity_regularizer', 'bias_constraint', 'bias_initializer', 'bias_regularizer', "
        "'dtype', 'kernel_constraint', 'kernel_initializer', 'kernel_regularizer', 'lora_alpha', 'lora_rank', "
        "'trainable', 'units' or 'use_bias'. Did you mean 'units'?",
        "--set training.epochs=many: $.training.epochs: expected an integer, got a string 'many'",
    ]


def test_index_out_of_range(write_spec):
    result = validate_file(write_spec(SPEC), ["model.layers[5].dense.units=3"])
    assert [str(item) for item in result.errors] == [
        "--set model.layers[5].dense.units=3: $.model.layers[5]: the list has 2 items; indexes run from 0 to 1"]


def test_malformed_override_is_a_usage_error(write_spec):
    with pytest.raises(UsageError) as caught:
        validate_file(write_spec(SPEC), ["training.epochs"])
    assert caught.value.exit_code == 2


def test_unreadable_value_names_the_argument(write_spec):
    result = validate_file(write_spec(SPEC), ["training.epochs=["])
    assert [str(item) for item in result.errors] == [
        "--set training.epochs=[: $.training.epochs: did not find expected node content"]
