"""The YAML loader: positions, safe YAML only, and one clear error for each kind of bad file."""

from __future__ import annotations

import pytest

from modelctl.errors import Location, SpecError, UsageError
from modelctl.spec.loader import MAX_BYTES, load_bytes, load_file, load_text


def only_error(text: str | bytes) -> str:
    with pytest.raises(SpecError) as caught:
        if isinstance(text, bytes):
            load_bytes(text, "spec.yaml")
        else:
            load_text(text, "spec.yaml")
    assert len(caught.value.diagnostics) == 1
    return str(caught.value.diagnostics[0])


def test_positions_of_values_and_keys():
    document = load_text("modelctl: 1\nmodel:\n  layers:\n    - dense: {units: 8}\n", "spec.yaml")
    assert document.data == {"modelctl": 1, "model": {"layers": [{"dense": {"units": 8}}]}}
    assert document.locate(("model", "layers", 0, "dense", "units")) == Location("spec.yaml", 4, 22)
    assert document.locate(("model", "layers", 0, "dense"), key=True) == Location("spec.yaml", 4, 7)
    assert document.locate(("model", "layers", 0, "dense", "missing")) == Location("spec.yaml", 4, 14)


def test_dates_stay_strings_and_merges_work():
    document = load_text("base: &b {units: 4, use_bias: false}\nwhen: 2026-01-02\nlayer: {<<: *b, units: 8}\n",
                         "spec.yaml")
    assert document.data["when"] == "2026-01-02"
    assert document.data["layer"] == {"units": 8, "use_bias": False}
    assert document.locate(("layer", "units")) == Location("spec.yaml", 3, 24)


def test_duplicate_key():
    assert only_error("name: a\nseed: 1\nname: b\n") == (
        "spec.yaml:3:1: $.name: duplicate key 'name' (first written at line 1); "
        "YAML would silently keep only the last one")


def test_python_tag_is_refused():
    assert only_error("name: !!python/object/apply:os.system ['true']\n") == (
        "spec.yaml:1:7: $.name: the tag tag:yaml.org,2002:python/object/apply:os.system is not allowed; "
        "a spec uses plain YAML")


def test_alias_bomb():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 7):
        previous = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        lines.append(f"{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, "
                     f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}]")
    message = only_error("\n".join(lines) + "\n")
    assert "expands to more than 100,000 values" in message


def test_not_a_mapping():
    assert only_error("- a\n- b\n") == (
        "spec.yaml:1:1: $: a spec is a mapping (keys such as modelctl, name, model); got a list")


def test_empty_file():
    assert only_error("# nothing\n") == "spec.yaml:1:1: $: the file is empty; a spec starts with `modelctl: 1`"


def test_several_documents():
    assert only_error("a: 1\n---\nb: 2\n") == (
        "spec.yaml:2:1: $: YAML syntax: the file holds several YAML documents; a spec is one document")


def test_syntax_error_position():
    assert only_error("model:\n  layers: [dense\n") == (
        "spec.yaml:3:1: $: YAML syntax: did not find expected ',' or ']'")


def test_not_utf8():
    assert only_error(b"name: ok\nseed: \xff\n") == (
        "spec.yaml:2:7: $: byte 0xff is not UTF-8; save the spec as UTF-8 text")


def test_non_string_key():
    assert only_error("1: a\n") == (
        "spec.yaml:1:1: $['1']: mapping keys must be names; got an integer 1 (quote it to make it a name)")


def test_huge_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_BYTES + 1))
    with pytest.raises(SpecError) as caught:
        load_file(path)
    assert "a spec may be at most 5,242,880 bytes" in str(caught.value)


def test_missing_file_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        load_file(tmp_path / "nope.yaml")
    assert caught.value.exit_code == 2


def test_control_character_is_placed_where_it_is_written():
    assert only_error("modelctl: 1\nname: été\nseed: 1\nx: 2\ny: ab\x07c\n") == (
        "spec.yaml:5:6: $: character U+0007 is not allowed in YAML; "
        "remove it or write it as an escape inside a double-quoted string")


def test_undecodable_command_line_character():
    assert only_error("a: \udcff\n") == (
        "spec.yaml:1:4: $: character U+DCFF is not allowed in YAML; "
        "remove it or write it as an escape inside a double-quoted string")


@pytest.mark.parametrize("text, where", [
    ("modelctl: 1\nmodel:\n\tlayers: []\n", "3:1"),
    ("modelctl: 1\nmodel:\n  \tlayers: []\n", "3:3"),
    ("model:\n  layers:\n\t- dense: {units: 1}\n", "3:1"),
    ("a:\n  b: 1\n \tc: 2\n", "3:2"),
    ("a: |\n  x\n\ty\n", "3:1"),
])
def test_tab_indent(text, where):
    assert only_error(text) == f"spec.yaml:{where}: $: tabs cannot indent YAML; use spaces"


@pytest.mark.parametrize("text, expected", [
    ("modelctl: 1\nmodel:\n  layers: []\n   name: x\n",
     "4:4: $: the key 'name' is indented 3 spaces, which lines up with no key above it; "
     "indent it 2 spaces like 'layers' (line 3)"),
    ("model:\n  layers:\n    - dense:\n        units: 3\n\n       # why\n       activation: relu\n",
     "7:8: $: the key 'activation' is indented 7 spaces, which lines up with no key above it; "
     "indent it 8 spaces like 'units' (line 4) or 6 spaces like 'dense' (line 3)"),
    ("modelctl: 1\nmodel:\n    layers: []\n  inputs: x\n",
     "4:3: $: the key 'inputs' is indented 2 spaces, which lines up with no key above it; "
     "indent it 4 spaces like 'layers' (line 3) or 0 spaces like 'model' (line 2)"),
    ("name: a\n  seed: 1\n",
     "2:3: $: the key 'seed' is indented 2 spaces, which lines up with no key above it; "
     "indent it 0 spaces like 'name' (line 1)"),
    ("a: 1\r\nb:\r\n  c: 1\r\n 'd': 2\r\n",
     "4:2: $: the key 'd' is indented 1 space, which lines up with no key above it; "
     "indent it 2 spaces like 'c' (line 3) or 0 spaces like 'b' (line 2)"),
])
def test_misaligned_key_names_the_key_and_the_indents_it_could_have(text, expected):
    assert only_error(text) == f"spec.yaml:{expected}"


def test_colon_inside_a_value_is_a_plain_syntax_error():
    assert only_error("name: a: b\n") == "spec.yaml:1:8: $: YAML syntax: mapping values are not allowed in this context"


def test_validate_prints_yaml_errors_on_one_line(runner, write_spec, monkeypatch):
    from modelctl.cli.app import app

    bell = write_spec("modelctl: 1\nname: bell\nseed: 1\nmodel:\n  description: ring \x07\n", "bell.yaml")
    write_spec("modelctl: 1\nmodel:\n  layers:\n\t- dense: {units: 1}\n", "tabs.yaml")
    monkeypatch.chdir(bell.parent)
    result = runner.invoke(app, ["validate", "bell.yaml", "tabs.yaml"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert result.output.splitlines() == [
        "bell.yaml:5:21: $: character U+0007 is not allowed in YAML; "
        "remove it or write it as an escape inside a double-quoted string",
        "tabs.yaml:4:1: $: tabs cannot indent YAML; use spaces",
        "2 errors, 0 warnings in 2 of 2 specs",
    ]
