"""`modelctl init --data`: what each column is read as, the spec drafted from it (valid as written), the
errors, and the iris spec it drafts training as well as the shipped example."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from modelctl.cli.app import app
from modelctl.cli.init import run_init
from modelctl.errors import UsageError
from modelctl.init.draft import identifier, size_for, spec_name
from modelctl.init.profile import read_profile
from modelctl.spec.validate import load_spec, validate_file

IRIS = ROOT / "examples" / "iris" / "iris.csv"


def console():
    from rich.console import Console

    return Console(file=io.StringIO(), width=200, soft_wrap=True, highlight=False)


def write_table(path: Path, rows: int = 60) -> Path:
    """A customers table with one column of each kind init tells apart."""
    lines = ["customer_id,row,age,plan,signup,constant,note,email,spend,churned"]
    for index in range(rows):
        spend = "" if index % 15 == 4 else f"{20 + (index * 7) % 50}.5"
        note = "called twice about the bill and asked to cancel" if index % 3 else "happy with the service so far"
        lines.append(f"C{1000 + index},{index + 1},{20 + index % 40},{['basic', 'pro', 'team'][index % 3]},"
                     f"2024-01-{1 + index % 28:02d},x,{note} {index},user{index}@mail.com,{spend},"
                     f"{'left' if index % 4 == 0 else 'stayed'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def roles(profile) -> dict:
    return {column.name: (column.role, column.kind, column.reason) for column in profile.columns}


def test_each_kind_of_column(tmp_path):
    profile = read_profile(write_table(tmp_path / "customers.csv"), ["churned"])
    assert (profile.rows, profile.read, profile.format) == (60, 60, "csv")
    assert roles(profile) == {
        "customer_id": ("skip", None, "60 different values in 60 rows: an identifier (or a name)"),
        "row": ("skip", None, "counts the rows (1, 2, 3, ...): an identifier, not a measurement"),
        "age": ("numeric", None, "numbers from 20 to 59"),
        "plan": ("categorical", None, "3 values"),
        "signup": ("skip", None, "dates: no feature type reads them; add columns such as the month or weekday "
                                 "instead"),
        "constant": ("skip", None, "the same value ('x') in every row read: nothing to learn from"),
        "note": ("text", None, "free text, 9 words on average"),
        "email": ("skip", None, "60 different values in 60 rows: an identifier (or a name)"),
        "spend": ("numeric", None, "numbers from 20.5 to 69.5; 4 missing, filled with the median"),
        "churned": ("label", "binary", "2 classes (left, stayed)"),
    }


def test_the_label_type_and_task(tmp_path):
    table = write_table(tmp_path / "customers.csv")
    assert roles(read_profile(table, ["age"]))["age"] == ("label", "regression", "numbers from 20 to 59")
    assert roles(read_profile(table, ["age"], "classification"))["age"][:2] == ("label", "categorical")
    assert roles(read_profile(table, ["plan"]))["plan"] == ("label", "categorical", "3 classes (basic, pro, team)")
    guessed = read_profile(IRIS, [])
    assert roles(guessed)["species"] == ("label", "categorical", "guessed (pass --label to choose); 3 classes "
                                                                 "(setosa, versicolor, virginica)")


@pytest.mark.parametrize("labels, task, message", [
    (["specie"], None, "--label specie: {path} has no column 'specie'. Its columns: 'sepal_length', 'sepal_width', "
                       "'petal_length', 'petal_width' or 'species'. Did you mean 'species'?"),
    (["species"], "regression", "--task regression: the label column 'species' holds 'setosa', not a number"),
])
def test_a_label_that_cannot_be_used(labels, task, message):
    with pytest.raises(UsageError) as raised:
        read_profile(IRIS, labels, task)
    assert str(raised.value) == message.format(path=IRIS)


def test_a_label_with_empty_cells(tmp_path):
    (tmp_path / "t.csv").write_text("x,y\n1,a\n2,\n3,b\n4,\n")
    with pytest.raises(UsageError) as raised:
        read_profile(tmp_path / "t.csv", ["y"])
    assert str(raised.value) == ("--label y: 2 of the 4 rows read have no label (the first is row 3); training "
                                 "needs one in every row, so remove those rows or fill them in first")


def test_tables_that_cannot_be_read(tmp_path):
    (tmp_path / "data.xlsx").write_text("")
    with pytest.raises(UsageError, match=r"--data takes a CSV, TSV or Parquet file .* the suffix '.xlsx'"):
        read_profile(tmp_path / "data.xlsx", [])
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(UsageError, match="the file has a header but no rows to learn from"):
        read_profile(tmp_path / "header.csv", [])
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    with pytest.raises(UsageError, match=r"ragged.csv:row 3: 1 fields where the header has 2"):
        read_profile(tmp_path / "ragged.csv", [])
    (tmp_path / "ids.csv").write_text("id,label\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    with pytest.raises(UsageError, match="no column is left to learn from: id: counts the rows"):
        read_profile(tmp_path / "ids.csv", [])


def test_names_and_sizes():
    assert spec_name(Path("data/Customer Churn.csv")) == "customer-churn"
    taken = {"numbers"}
    assert [identifier(name, taken) for name in ("Plan Type", "plan_type", "2nd", "numbers")] == \
        ["plan_type", "plan_type_2", "c_2nd", "numbers_2"]
    assert [size_for(rows).units for rows in (150, 5_000, 2_000_000)] == [(16, 16), (64, 32), (256, 128)]


def test_the_drafted_spec_is_valid_as_written_and_says_why(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    table = write_table(tmp_path / "data" / "customers.csv")
    terminal = console()
    spec = run_init(None, Path("specs/churn.yaml"), False, list_templates=False, console=terminal, data=table,
                    labels=["churned"])
    text = spec.read_text()
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    data = yaml.safe_load(text)
    assert data["data"]["source"] == {"format": "csv", "path": "../data/customers.csv"}
    assert data["data"]["features"] == {
        "numbers": {"type": "numeric", "columns": ["age", "spend"], "preprocessing": ["standardize"],
                    "missing": {"strategy": "median"}},
        "plan": {"type": "categorical", "column": "plan"},
        "note": {"type": "text", "column": "note", "max_tokens": 10000, "output_mode": "tf_idf"}}
    assert data["data"]["labels"] == {"churned": {"column": "churned", "type": "binary", "positive": "left"}}
    assert data["model"]["layers"][0] == {"concatenate": {}, "inputs": ["numbers", "plan", "note"]}
    assert data["model"]["layers"][-1] == {"dense": {"units": 1, "activation": "sigmoid"}, "name": "churned"}
    assert (data["training"]["loss"], data["training"]["metrics"]) == ("binary_crossentropy", ["accuracy", "auc"])
    assert "  #   customer_id: 60 different values in 60 rows: an identifier (or a name)\n" in text
    assert "  #   signup: dates: no feature type reads them;" in text
    assert text.startswith("# yaml-language-server: $schema=modelctl.schema.json\n#\n# Drafted by `modelctl init "
                           f"--data {table} --label churned` from customers.csv: 60 rows, 10 columns.\n")
    lines = terminal.file.getvalue().splitlines()
    assert lines[:3] == [f"{table}: 60 rows, 10 columns", "column       used as                why",
                         "customer_id  left out               60 different values in 60 rows: an identifier "
                         "(or a name)"]
    assert lines[-3:] == ["wrote specs/churn.yaml, drafted from " + str(table),
                          "for completion in editors, write the schema beside it: modelctl schema --output "
                          "specs/modelctl.schema.json",
                          "next: check the features and labels, then run modelctl validate specs/churn.yaml and "
                          "modelctl train specs/churn.yaml"]


def test_two_labels_share_a_trunk(tmp_path):
    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(),
                    data=write_table(tmp_path / "c.csv"),
                    labels=["churned", "plan"])
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    data = yaml.safe_load(spec.read_text())
    assert data["model"]["layers"][-2:] == [  # in the table's order
        {"dense": {"units": 3, "activation": "softmax"}, "name": "plan", "inputs": ["trunk"]},
        {"dense": {"units": 1, "activation": "sigmoid"}, "name": "churned", "inputs": ["trunk"]}]
    assert data["training"]["loss"] == {"churned": "binary_crossentropy", "plan": "sparse_categorical_crossentropy"}


def test_a_parquet_table(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"x": [0.5, 1.5, None, 3.0] * 10, "kind": ["a", "b"] * 20, "y": [1.0, 2.5] * 20}),
                   tmp_path / "t.parquet")
    profile = read_profile(tmp_path / "t.parquet", ["y"], "regression")
    assert roles(profile)["x"] == ("numeric", None, "numbers from 0.5 to 3; 10 missing, filled with the median")
    assert (profile.format, profile.rows) == ("parquet", 40)
    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(),
                    data=tmp_path / "t.parquet",
                    labels=["y"], task="regression")
    assert [str(item) for item in validate_file(spec).diagnostics] == []


def test_the_options_that_go_with_data(tmp_path, runner):
    result = runner.invoke(app, ["init", "--label", "species", "-o", str(tmp_path / "s.yaml")])
    assert (result.exit_code, result.output) == (2, "error: --label goes with --data: the table to draft the "
                                                    "spec from\n")
    result = runner.invoke(app, ["init", "--data", str(IRIS), "--template", "image-cnn", "-o", str(tmp_path)])
    assert result.exit_code == 2 and "--template and --data do not go together" in result.output
    assert not (tmp_path / "spec.yaml").exists()
    missing, output = str(tmp_path / "nothere.csv"), str(tmp_path / "new" / "s.yaml")
    result = runner.invoke(app, ["init", "--data", missing, "-o", output])
    assert (result.exit_code, result.output) == (2, f"error: --data {tmp_path / 'nothere.csv'}: no such file or "
                                                    "folder\n")
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_iris_drafted_from_its_table_trains_like_the_shipped_example(tmp_path, monkeypatch, runner):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init", "--data", str(IRIS), "--label", "species"])
    assert result.exit_code == 0, result.output
    from modelctl.training.trainer import train

    # 40 epochs of the 200 the spec allows: early stopping ends iris near there, and the test stays short.
    run = train(load_spec("spec.yaml", ["training.epochs=40"]), tmp_path / "runs", console(), quiet=True)
    metrics = json.loads((run.run_dir / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] >= 0.85  # the shipped examples/iris/spec.yaml reaches 0.90


def test_an_image_folder(tmp_path):
    from modelctl.init.samples import png

    for label, count in (("cat", 3), ("dog", 2)):
        (tmp_path / "photos" / label).mkdir(parents=True)
        for index in range(count):
            (tmp_path / "photos" / label / f"{index}.png").write_bytes(png([[[0, 0, 0]] * 300] * 200))
    (tmp_path / "photos" / "empty").mkdir()
    terminal = console()
    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=terminal,
                    data=tmp_path / "photos")
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    data = yaml.safe_load(spec.read_text())
    assert data["data"]["source"] == {"format": "image_folder", "path": "photos"}
    assert data["data"]["features"]["image"]["size"] == [85, 128]  # 200x300, the longest side brought to 128
    assert data["data"]["labels"] == {"label": {"column": "label", "type": "categorical", "num_classes": 2}}
    assert terminal.file.getvalue().splitlines()[:4] == [
        f"{tmp_path / 'photos'}: 5 images in 2 classes; resized to 85x128", "class (sub-folder)  images",
        "cat                      3", "dog                      2"]


def test_a_text_folder(tmp_path):
    for label in ("spam", "ham"):
        (tmp_path / "mail" / label).mkdir(parents=True)
        (tmp_path / "mail" / label / "1.txt").write_text(f"a {label} message")
    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(),
                    data=tmp_path / "mail")
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    data = yaml.safe_load(spec.read_text())
    assert data["data"]["source"] == {"format": "text_folder", "path": "mail"}
    assert data["data"]["features"]["text"]["output_mode"] == "tf_idf"


def test_folders_that_cannot_be_used(tmp_path):
    (tmp_path / "one" / "only").mkdir(parents=True)
    (tmp_path / "one" / "only" / "a.txt").write_text("x")
    with pytest.raises(UsageError, match="1 class folder with files; a folder source needs one sub-folder per "
                                         "class, and at least two classes"):
        run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(), data=tmp_path / "one")
    with pytest.raises(UsageError, match="its sub-folder names are the classes, so --label"):
        run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(), data=tmp_path / "one",
                 labels=["x"])
    (tmp_path / "none").mkdir()
    with pytest.raises(UsageError, match="found no such file in its sub-folders"):
        run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(), data=tmp_path / "none")
    assert not (tmp_path / "spec.yaml").exists()


@pytest.mark.parametrize("header, size", [
    (b"GIF89a" + bytes([44, 1, 200, 0]), (200, 300)),
    (b"BM" + bytes(16) + (300).to_bytes(4, "little") + (-200).to_bytes(4, "little", signed=True), (200, 300)),
    (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\xc8\x01\x2c\x03", (200, 300)),
])
def test_image_sizes_from_headers(tmp_path, header, size):
    from modelctl.init.folders import image_size

    (tmp_path / "image").write_bytes(header + bytes(16))
    assert image_size(tmp_path / "image") == size


def test_grayscale_images_draft_one_channel_and_no_flip(tmp_path):
    import shutil

    digits = Path(__file__).resolve().parent.parent / "examples" / "digits" / "images"
    for label in ("0", "1"):
        shutil.copytree(digits / label, tmp_path / "digits" / label)
    spec = run_init(None, tmp_path / "spec.yaml", False, list_templates=False, console=console(),
                    data=tmp_path / "digits")
    assert [str(item) for item in validate_file(spec).diagnostics] == []
    image = yaml.safe_load(spec.read_text())["data"]["features"]["image"]
    assert image["channels"] == 1
    assert image["augmentation"] == [{"random_rotation": {"factor": 0.05}}]  # a mirrored digit is another digit


@pytest.mark.parametrize("header, channels", [
    (b"\x89PNG\r\n\x1a\n" + bytes(8) + bytes(8) + bytes([8, 0]), 1),
    (b"\x89PNG\r\n\x1a\n" + bytes(8) + bytes(8) + bytes([8, 2]), 3),
    (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x0b\x08\x00\xc8\x01\x2c\x01", 1),
    (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x00\xc8\x01\x2c\x03", 3),
    (b"GIF89a" + bytes([44, 1, 200, 0]), None),
])
def test_image_channels_from_headers(tmp_path, header, channels):
    from modelctl.init.folders import image_channels

    (tmp_path / "image").write_bytes(header + bytes(16))
    assert image_channels(tmp_path / "image") == channels
