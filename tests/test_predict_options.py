"""`modelctl predict`'s inputs as users give them: a feature's name or its column, an id column passed through,
standard input, bad examples skipped and counted, a delimiter hint, empty documents, values outside a vocabulary
counted; and ONNX and TFLite artifacts predicted without TensorFlow."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from serve_support import train_iris

from modelctl.errors import DataError, UsageError
from modelctl.predict import InputOptions, read_inputs

IRIS = ROOT / "examples" / "iris" / "iris.csv"
NUMERIC = {"type": "numeric", "columns": ["sepal_length"], "width": 1, "shape": None, "augmentation": [], "steps": []}
LENGTH = {"length": {"type": "numeric", "column": "sepal_length"}}
LENGTH_FITTED = {"features": {"length": NUMERIC}, "labels": {}}
TEXT = {"review": {"type": "text", "column": "review"}}
TEXT_FITTED = {"features": {"review": {"type": "text", "column": "review", "vocabulary": ["motor"]}}, "labels": {}}
COLOR = {"color": {"type": "categorical", "column": "colour", "vocabulary": ["red", "green"]}}
COLOR_FITTED = {"features": {"color": {"type": "categorical", "column": "colour", "vocabulary": ["red", "green"],
                                       "num_oov_indices": 1, "output_mode": "one_hot"}}, "labels": {}}
PICTURE = {"picture": {"type": "image", "column": "path", "size": [8, 8]}}
PICTURE_FITTED = {"features": {"picture": {"type": "image", "column": "path", "size": [8, 8], "channels": 3,
                                           "steps": [], "augmentation": []}}, "labels": {}}


def test_a_table_may_name_a_feature_by_its_column_or_by_the_feature(tmp_path):
    (tmp_path / "by_column.csv").write_text("sepal_length\n5.1\n6.2\n")
    (tmp_path / "by_feature.csv").write_text("length\n5.1\n6.2\n")
    by_column = read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "by_column.csv")])
    by_feature = read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "by_feature.csv")])
    assert by_column.values["length"].tolist() == by_feature.values["length"].tolist()
    np.testing.assert_allclose(by_column.values["length"], [[5.1], [6.2]], rtol=1e-6)
    (tmp_path / "neither.csv").write_text("width\n5.1\n")
    with pytest.raises(DataError) as raised:
        read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "neither.csv")])
    assert str(raised.value) == (f"{tmp_path / 'neither.csv'}: feature 'length': no column 'sepal_length'. "
                                 "Available columns: 'width'.")


def test_an_id_column_is_passed_through_to_each_example(tmp_path):
    (tmp_path / "rows.csv").write_text("order,sepal_length\nA-17,5.1\n42,6.2\n")
    examples = read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "rows.csv")], options=InputOptions(ids="order"))
    assert (examples.ids, examples.id_column) == (["A-17", "42"], "order")
    with pytest.raises(DataError) as raised:
        read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "rows.csv")], options=InputOptions(ids="ordr"))
    assert str(raised.value) == (f"{tmp_path / 'rows.csv'}: --id: no column 'ordr'. Available columns: 'order', "
                                 "'sepal_length'. Did you mean 'order'?")
    (tmp_path / "review.txt").write_text("fine")
    with pytest.raises(UsageError, match=r"--id order names a column of the tables, and a text document file has no "
                                         r"columns; its examples are named by their paths"):
        read_inputs(TEXT, TEXT_FITTED, [str(tmp_path / "review.txt")], options=InputOptions(ids="order"))


def test_a_dash_reads_a_table_from_standard_input(tmp_path):
    (tmp_path / "rows.csv").write_text("sepal_length\n4.0\n")
    examples = read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "rows.csv"), "-"],
                           stdin=io.BytesIO(b"sepal_length\n5.1\nabc\n"), options=InputOptions(on_bad_input="skip"))
    assert examples.names == [f"{tmp_path / 'rows.csv'} row 2", "stdin example 1"]
    np.testing.assert_allclose(examples.values["length"], [[4.0], [5.1]], rtol=1e-6)
    assert examples.skipped == {"column 'sepal_length': not a number": 1}
    with pytest.raises(DataError) as raised:
        read_inputs(LENGTH, LENGTH_FITTED, ["-"], stdin=io.BytesIO(b"sepal_length\n5.1\nabc\n"))
    assert str(raised.value).startswith("stdin:row 3: column 'sepal_length': 'abc' is not a number")
    with pytest.raises(UsageError, match="is given more than once"):
        read_inputs(LENGTH, LENGTH_FITTED, ["-", "-"], stdin=io.BytesIO(b""))


def _png(path, size=(8, 8)):
    from PIL import Image

    Image.new("RGB", size, (10, 200, 10)).save(path)


def test_bad_examples_stop_the_read_or_are_skipped_and_counted(tmp_path):
    folder = tmp_path / "pictures"
    folder.mkdir()
    _png(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a png at all")
    _png(folder / "c.png")
    with pytest.raises(DataError) as raised:
        read_inputs(PICTURE, PICTURE_FITTED, [str(folder)])
    assert str(raised.value).startswith(f"{folder / 'b.png'}: cannot be decoded as an image")
    examples = read_inputs(PICTURE, PICTURE_FITTED, [str(folder)], options=InputOptions(on_bad_input="skip"))
    assert examples.names == [str(folder / "a.png"), str(folder / "c.png")]
    assert examples.values["picture"].shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(examples.values["picture"][0, 0, 0], [10, 200, 10])
    assert examples.skipped == {"image cannot be decoded": 1}
    (folder / "a.png").write_bytes(b"")
    (folder / "c.png").write_bytes(b"")
    with pytest.raises(UsageError) as raised:
        read_inputs(PICTURE, PICTURE_FITTED, [str(folder)], options=InputOptions(on_bad_input="skip"))
    assert str(raised.value) == ("no example left to predict: every one was skipped (2 image is empty; 1 image "
                                 "cannot be decoded)")


def test_an_empty_text_document_is_an_error_not_a_prediction(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.txt").write_text(" \n\n")
    (tmp_path / "review.txt").write_text("A quiet motor.")
    for name in ("empty.txt", "blank.txt"):
        with pytest.raises(DataError) as raised:
            read_inputs(TEXT, TEXT_FITTED, [str(tmp_path / name)])
        assert str(raised.value) == f"{tmp_path / name}: is empty; a text document needs content to predict on"
    examples = read_inputs(TEXT, TEXT_FITTED, [str(tmp_path)], options=InputOptions(on_bad_input="skip"))
    assert examples.names == [str(tmp_path / "review.txt")]
    assert examples.skipped == {"text document is empty": 2}


def test_a_header_read_as_one_column_suggests_the_delimiter(tmp_path):
    (tmp_path / "semicolons.csv").write_text("order;sepal_length\n1;5.1\n")
    with pytest.raises(DataError) as raised:
        read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "semicolons.csv")])
    assert str(raised.value) == (f"{tmp_path / 'semicolons.csv'}: feature 'length': no column 'sepal_length'. "
                                 "Available columns: 'order;sepal_length'. Did you mean 'order;sepal_length'? The "
                                 "header was read as one column; it looks separated by ';': pass --delimiter ';'")
    examples = read_inputs(LENGTH, LENGTH_FITTED, [str(tmp_path / "semicolons.csv")],
                           options=InputOptions(delimiter=";"))
    np.testing.assert_allclose(examples.values["length"], [[5.1]], rtol=1e-6)


def test_values_outside_a_fixed_vocabulary_are_counted(tmp_path):
    (tmp_path / "rows.csv").write_text("colour\nred\npurple\ngreen\npurple\nteal\n")
    examples = read_inputs(COLOR, COLOR_FITTED, [str(tmp_path / "rows.csv")])
    assert examples.outside_vocabulary == {"color": {"purple": 2, "teal": 1}}
    (tmp_path / "known.csv").write_text("colour\nred\n")
    assert read_inputs(COLOR, COLOR_FITTED, [str(tmp_path / "known.csv")]).outside_vocabulary == {}
    from modelctl.cli.predict import notes_of

    assert notes_of(examples) == ["feature 'color': 3 of 5 values are outside its vocabulary ('purple' x2, "
                                  "'teal' x1); the model reads them as unknown"]


# End to end, on an exported iris model ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return train_iris(tmp_path_factory.mktemp("predict-options"), ("onnx", "tflite"))


@pytest.mark.slow
def test_the_command_passes_ids_through_reads_stdin_and_says_what_it_skipped(run_dir, tmp_path, runner):
    from modelctl.cli.app import app

    lines = IRIS.read_text().splitlines()
    (tmp_path / "rows.csv").write_text("id," + lines[0] + "\n" + "".join(f"f{index},{line}\n" for index, line
                                                                          in enumerate(lines[1:4])))
    onnx = run_dir / "export" / "model.onnx"
    result = runner.invoke(app, ["predict", str(onnx), str(tmp_path / "rows.csv"), "--id", "id"])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header == "input,id,species,species_setosa,species_versicolor,species_virginica"
    assert [row.split(",")[:2] for row in rows] == [[f"{tmp_path / 'rows.csv'} row {index + 2}", f"f{index}"]
                                                   for index in range(3)]
    piped = lines[0] + "\n" + lines[1] + "\n" + "abc,3.5,1.4,0.2,setosa\n"
    skipped = runner.invoke(app, ["predict", str(onnx), "-", "--on-bad-input", "skip"], input=piped)
    assert skipped.exit_code == 0, skipped.output
    assert skipped.stdout.splitlines()[1].startswith("stdin example 1,")
    assert skipped.stderr == ("skipped 1 of 2 examples (1 column 'sepal_length': not a number)\n")
    wrong = runner.invoke(app, ["predict", str(onnx), "-", "--on-bad-input", "ignore"], input=piped)
    assert wrong.exit_code == 2
    assert wrong.stderr == "error: invalid value for --on-bad-input. Expected one of error, skip. Received: ignore\n"


BLOCKED = """
import sys
from importlib.abc import MetaPathFinder

class Missing(MetaPathFinder):
    # Stands for an install of the `serve` extra alone: no TensorFlow, Keras or tf2onnx.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "tf_keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Missing())
sys.argv = ["modelctl", *sys.argv[1:]]
from modelctl.cli.app import main
main()
"""


@pytest.mark.slow
def test_onnx_and_tflite_artifacts_predict_without_tensorflow_and_a_run_asks_for_it(run_dir, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text("\n".join(IRIS.read_text().splitlines()[:4]) + "\n")

    def modelctl(*arguments):
        return subprocess.run([sys.executable, "-c", BLOCKED, *arguments], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})

    answers = {}
    for artifact in ("model.onnx", "model.tflite"):
        done = modelctl("predict", str(run_dir / "export" / artifact), str(rows))
        assert done.returncode == 0, done.stderr
        answers[artifact] = [line.split(",")[1] for line in done.stdout.splitlines()[1:]]
    assert answers["model.onnx"] == answers["model.tflite"] and len(answers["model.onnx"]) == 3
    needs = modelctl("predict", str(run_dir), str(rows))
    assert needs.returncode == 1
    assert needs.stderr.startswith(f"error: the Keras model of run {run_dir} needs tensorflow, which is not "
                                   "installed")
    assert 'pip install "modelctl[train]"' in needs.stderr
    serve = modelctl("serve", str(run_dir), "--backend", "keras", "--port", "0")
    assert serve.returncode == 1 and "needs tensorflow" in serve.stderr and "Traceback" not in serve.stderr


def test_predict_in_the_lint_install_names_both_extras_that_would_do():
    """The lint install (no NumPy, no `serve` or `train` extra): predict asks for `train`, or `serve` for artifacts
    that need no TensorFlow."""
    lint = BLOCKED.replace('("tensorflow", "keras", "tf2onnx", "tf_keras")', '("numpy", "tensorflow", "keras")')
    assert lint != BLOCKED
    done = subprocess.run([sys.executable, "-c", lint, "predict", "runs/iris", str(IRIS)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stderr) == (1, (
        "error: modelctl predict needs numpy, which is not installed: modelctl was installed without its `train` "
        "extra (the lint install, for validate, schema and init). Install it with: pip install \"modelctl[train]\"; "
        "or pip install \"modelctl[serve]\" to predict with ONNX and TFLite artifacts only, without TensorFlow\n"))
