"""`modelctl init`: templates written, listed, refused over an existing file, and each one valid."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from modelctl.cli.init import DEFAULT_TEMPLATE, run_init, template_names, template_text
from modelctl.errors import UsageError
from modelctl.model.shapes import check_shapes
from modelctl.spec.validate import load_spec, validate_file

TEMPLATES = ROOT / "modelctl" / "templates"
NAMES = ["image-cnn", "tabular-classifier", "tabular-regression", "text-lstm", "text-transformer",
         "transfer-mobilenet"]
NEXT = "next: point data.source at your data and change what the comments at the top say, then run "
SAMPLE = ("made-up {} in the shape the spec reads, so that it validates and trains as written; replace them with "
          "your data")


def console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=100, soft_wrap=True, highlight=False)


def printed(terminal) -> str:
    return terminal.file.getvalue()


def body(text: str) -> str:
    """A spec's text without its modeline, the one line init rewrites."""
    return text.split("\n", 1)[1]


def test_the_templates():
    assert template_names() == NAMES
    assert DEFAULT_TEMPLATE == "tabular-classifier"


@pytest.mark.parametrize("name", NAMES)
def test_template_opens_with_the_modeline_and_says_what_it_is_for(name):
    lines = (TEMPLATES / f"{name}.yaml").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=../../schemas/modelctl.schema.json"
    header = "\n".join(lines[1:lines.index("modelctl: 1")])
    assert "# Data:" in header and "# Change:" in header and "# Next:" in header
    assert yaml.safe_load("\n".join(lines))["name"] == name


def test_writes_the_default_template(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    terminal = console()
    assert run_init(None, Path("spec.yaml"), False, list_templates=False, console=terminal) == Path("spec.yaml")
    written = (tmp_path / "spec.yaml").read_text(encoding="utf-8")
    assert written.startswith("# yaml-language-server: $schema=modelctl.schema.json\n#\n# Tabular classifier:")
    assert body(written) == body(template_text("tabular-classifier"))
    assert printed(terminal) == (
        "wrote spec.yaml from the template 'tabular-classifier'\n"
        f"wrote data.csv: {SAMPLE.format('rows')}\n"
        "for completion in editors, write the schema beside it: modelctl schema --output modelctl.schema.json\n"
        f"{NEXT}modelctl validate spec.yaml and modelctl train spec.yaml\n")


def test_points_the_modeline_at_the_nearest_schema(tmp_path):
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "modelctl.schema.json").write_text("{}")
    output = tmp_path / "specs" / "new" / "digits.yaml"
    terminal = console()
    assert run_init("image-cnn", output, False, list_templates=False, console=terminal) == output
    assert output.read_text().startswith("# yaml-language-server: $schema=../../schemas/modelctl.schema.json\n")
    assert printed(terminal) == (f"wrote {output} from the template 'image-cnn'\n"
                                 f"wrote {output.parent / 'images'}: {SAMPLE.format('images')}\n"
                                 f"{NEXT}modelctl validate {output} and modelctl train {output}\n")


def test_a_folder_gets_spec_yaml(tmp_path):
    assert run_init("text-lstm", tmp_path, False, list_templates=False, console=console()) == tmp_path / "spec.yaml"
    assert body((tmp_path / "spec.yaml").read_text()) == body(template_text("text-lstm"))


def test_refuses_to_overwrite_without_force(tmp_path):
    output = tmp_path / "spec.yaml"
    output.write_text("mine\n")
    with pytest.raises(UsageError) as raised:
        run_init("image-cnn", output, False, list_templates=False, console=console())
    assert str(raised.value) == f"{output} already exists; pass --force to overwrite it"
    assert raised.value.exit_code == 2
    assert output.read_text() == "mine\n"
    run_init("image-cnn", output, True, list_templates=False, console=console())
    assert body(output.read_text()) == body(template_text("image-cnn"))


def test_an_unknown_template_lists_them_and_suggests_the_closest(tmp_path):
    with pytest.raises(UsageError) as raised:
        run_init("tabular-clasifier", tmp_path / "spec.yaml", False, list_templates=False, console=console())
    assert str(raised.value) == (
        "'tabular-clasifier' is not a known template. Expected one of 'image-cnn', 'tabular-classifier', "
        "'tabular-regression', 'text-lstm', 'text-transformer' or 'transfer-mobilenet'. "
        "Did you mean 'tabular-classifier'?")
    assert raised.value.exit_code == 2
    assert not (tmp_path / "spec.yaml").exists()


def test_lists_the_templates_and_writes_nothing(tmp_path):
    terminal = console()
    assert run_init("image-cnn", tmp_path / "spec.yaml", False, list_templates=True, console=terminal) is None
    assert printed(terminal) == (
        "templates (modelctl init --template NAME):\n"
        "  image-cnn           Classify images with a small convolutional network.\n"
        "  tabular-classifier  Predict a class from the numeric and categorical columns of a table. (default)\n"
        "  tabular-regression  Predict a number from the numeric columns of a table.\n"
        "  text-lstm           Classify short texts with an embedding and a bidirectional LSTM.\n"
        "  text-transformer    Classify texts with a small Transformer encoder.\n"
        "  transfer-mobilenet  Classify images with a frozen ImageNet MobileNetV2 and a new head.\n")
    assert list(tmp_path.iterdir()) == []


# What building each model without downloads needs: the transfer template's ImageNet weights would be downloaded
# (random weights are then trained, as a frozen random backbone draws a warning).
BUILDS_OFFLINE = {"transfer-mobilenet": ["model.layers[1].backbone.weights=null",
                                         "model.layers[1].backbone.trainable=true"]}


@pytest.mark.parametrize("name", NAMES)
def test_template_is_valid_as_written(name, tmp_path):
    spec = run_init(name, tmp_path / "spec.yaml", False, list_templates=False, console=console())
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    assert [str(item) for item in validate_file(spec, BUILDS_OFFLINE.get(name, []), deep=check_shapes).diagnostics] \
        == []


def test_the_sample_beside_a_template_leaves_existing_data_alone(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,2\n")
    terminal = console()
    run_init("tabular-regression", tmp_path / "spec.yaml", False, list_templates=False, console=terminal)
    assert (tmp_path / "data.csv").read_text() == "a,b\n1,2\n"
    assert "made-up" not in printed(terminal)
    [problem, *_] = validate_file(tmp_path / "spec.yaml").errors
    assert problem.message == "'x1' is not a column of data.csv. Expected one of 'a', 'b'."


def test_init_then_validate_passes_in_an_empty_folder(tmp_path, monkeypatch, runner):
    from modelctl.cli.app import app

    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["validate", "spec.yaml"])
    assert (result.exit_code, result.output) == (0, "1 spec valid\n")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["data.csv", "spec.yaml"]


def test_the_samples_are_the_same_every_time(tmp_path):
    first, second = run_init("text-lstm", tmp_path / "a", False, list_templates=False, console=console()), \
        run_init("text-lstm", tmp_path / "b", False, list_templates=False, console=console())
    assert (first.parent / "data.csv").read_bytes() == (second.parent / "data.csv").read_bytes()
    assert len((first.parent / "data.csv").read_text().splitlines()) == 201


@pytest.mark.slow
def test_the_default_template_trains_on_its_sample(tmp_path):
    from modelctl.training.trainer import train

    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console())
    result = train(load_spec(spec, ["training.epochs=2"]), tmp_path / "runs", console(), quiet=True)
    assert result.epochs == 2 and (result.run_dir / "model.keras").is_file()
    assert os.path.basename(result.run_dir.parent) == "tabular-classifier"
