"""`modelctl predict` reads each input by its kind: tables, text documents, images and folders, mixed in one call."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, quiet_console

from modelctl.errors import UsageError
from modelctl.predict import read_inputs

REVIEWS = ROOT / "examples" / "text" / "reviews.csv"

SPEC = f"""
modelctl: 1
name: reviews-predict
seed: 3
data:
  source: {{format: csv, path: {REVIEWS}}}
  features:
    review: {{type: text, column: review, max_tokens: 100, sequence_length: 16}}
  labels:
    sentiment: {{column: sentiment, type: categorical, classes: [negative, positive]}}
  split: {{train: 0.8, validation: 0.1, test: 0.1}}
  batch_size: 32
model:
  layers:
    - embedding: {{input_dim: 100, output_dim: 8}}
    - global_average_pooling1d
    - dense: {{units: 2, activation: softmax}}
      name: sentiment
training:
  epochs: 1
  optimizer: {{type: adam, learning_rate: 0.01}}
  loss: sparse_categorical_crossentropy
"""
TEXT = {"review": {"type": "text", "column": "review"}}
ALLOWED = ("tables (.csv, .tsv, .parquet, .npz), images (.bmp, .gif, .jpeg, .jpg, .png), text documents (.txt) and "
           "folders of images or text documents")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    folder = tmp_path_factory.mktemp("reviews")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    return train(load_spec(spec), folder / "runs", quiet_console(), quiet=True).run_dir


@pytest.fixture
def inputs(tmp_path):
    """rows.csv with two reviews, review.txt and a folder docs/ of two more, as (path of each, its text)."""
    texts = ["The motor is very terrible and the cable was disappointing.", "A sturdy lid, surprisingly quiet.",
             "The lid is not flimsy but the motor was noisy.", "Great cable.", "Poor motor, poor lid."]
    (tmp_path / "rows.csv").write_text("review\n" + "".join(f'"{text}"\n' for text in texts[:2]))
    (tmp_path / "review.txt").write_text(texts[2] + "\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "b.txt").write_text(texts[4])
    (tmp_path / "docs" / "a.txt").write_text(texts[3])
    (tmp_path / "docs" / "notes.md").write_text("not a review")
    return tmp_path


def test_a_table_and_text_files_are_each_read_by_their_kind_in_the_order_given(run_dir, inputs, runner):
    from modelctl.cli.app import app
    from modelctl.predict import predict

    rows = predict(run_dir, [str(inputs / "rows.csv"), str(inputs / "review.txt"), str(inputs / "docs")])
    assert [row["input"] for row in rows] == [f"{inputs / 'rows.csv'} row 2", f"{inputs / 'rows.csv'} row 3",
                                              str(inputs / "review.txt"), str(inputs / "docs" / "a.txt"),
                                              str(inputs / "docs" / "b.txt")]
    # Each row of the table is its own review: the same answer as that review given alone as a text document.
    (inputs / "first.txt").write_text("The motor is very terrible and the cable was disappointing.")
    [alone] = predict(run_dir, [str(inputs / "first.txt")])
    assert rows[0]["sentiment_negative"] == pytest.approx(alone["sentiment_negative"], abs=1e-6)
    assert rows[0]["sentiment_negative"] != pytest.approx(rows[1]["sentiment_negative"], abs=1e-6)
    result = runner.invoke(app, ["predict", str(run_dir), str(inputs / "review.txt"), str(inputs / "rows.csv")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "input,sentiment,sentiment_negative,sentiment_positive"
    assert [line.split(",")[0] for line in lines[1:]] == [str(inputs / "review.txt"), f"{inputs / 'rows.csv'} row 2",
                                                          f"{inputs / 'rows.csv'} row 3"]


def test_inputs_predict_cannot_read_are_named_with_what_it_reads(run_dir, inputs, runner):
    from modelctl.cli.app import app

    (inputs / "notes.md").write_text("a review")
    result = runner.invoke(app, ["predict", str(run_dir), str(inputs / "rows.csv"), str(inputs / "notes.md")])
    assert result.exit_code == 2
    assert result.output == f"error: {inputs / 'notes.md'}: predict reads {ALLOWED}; received a '.md' file\n"


@pytest.mark.parametrize("name, features, message", [
    ("picture.png", TEXT,
     "{path}: an image file, and the model's feature 'review' is text; give text documents (.txt), folders of "
     "them, or a CSV, TSV, Parquet or NPZ file with a column per feature"),
    ("review.txt", {"picture": {"type": "image", "column": "path", "size": [8, 8]}},
     "{path}: a text document file, and the model's feature 'picture' is image; give images (.bmp, .gif, .jpeg, "
     ".jpg, .png), folders of them, or a CSV, TSV, Parquet or NPZ file with a column per feature"),
    ("review.txt", {"x": {"type": "numeric", "columns": ["a", "b"]}},
     "{path}: a text document file holds image or text examples, and the model's feature 'x' is numeric; give it "
     "as a column of a CSV, TSV, Parquet or NPZ file"),
    ("review.txt", {**TEXT, "x": {"type": "numeric", "columns": ["a"]}},
     "{path}: a text document file holds examples of one image or text feature, and the model takes 2 features "
     "(review, x); give them as columns of a CSV, TSV, Parquet or NPZ file"),
    ("empty", TEXT,
     "{path}: no text documents (.txt) in this folder, and the model's feature 'review' is text"),
    ("notes", TEXT, "{path}: predict reads " + ALLOWED + "; received a file without an extension"),
])
def test_inputs_of_a_kind_the_model_does_not_take(tmp_path, name, features, message):
    path = tmp_path / name
    if name == "empty":
        path.mkdir()
        (path / "notes.md").write_text("not a review")
    else:
        path.write_bytes(b"x")
    (tmp_path / "rows.csv").write_text("review\nfine\n")
    with pytest.raises(UsageError) as raised:
        read_inputs(features, {}, [str(tmp_path / "rows.csv"), str(path)])
    assert str(raised.value) == message.format(path=path)


def test_several_tables_are_read_one_after_the_other(run_dir, inputs):
    from modelctl.predict import predict

    (inputs / "more.tsv").write_text("sentiment\treview\nnegative\tPoor lid.\n")
    rows = predict(run_dir, [str(inputs / "more.tsv"), str(inputs / "rows.csv")])
    assert [row["input"] for row in rows] == [f"{inputs / 'more.tsv'} row 2", f"{inputs / 'rows.csv'} row 2",
                                              f"{inputs / 'rows.csv'} row 3"]
    assert all(np.isclose(row["sentiment_negative"] + row["sentiment_positive"], 1.0) for row in rows)


def test_a_glob_of_columns_reads_the_columns_it_matched_in_training(tmp_path):
    from modelctl.data.errors import DataError

    features = {"x": {"type": "numeric", "columns": "f*"}}
    fitted = {"features": {"x": {"type": "numeric", "columns": ["f0", "f1", "f2"], "width": 3, "shape": None,
                                 "augmentation": [], "steps": []}}, "labels": {}}
    (tmp_path / "more.csv").write_text("f3,f2,f1,f0\n4,3,2,1\n")  # f3 matches the glob only here
    examples = read_inputs(features, fitted, [str(tmp_path / "more.csv")])
    values, names = examples.values, examples.names
    # The header is row 1.
    assert values["x"].tolist() == [[1.0, 2.0, 3.0]] and names == [f"{tmp_path / 'more.csv'} row 2"]
    (tmp_path / "fewer.csv").write_text("f0\n1\n")
    with pytest.raises(DataError) as caught:
        read_inputs(features, fitted, [str(tmp_path / "fewer.csv")])
    assert str(caught.value) == (f"{tmp_path / 'fewer.csv'}: feature 'x': 2 of its columns are missing: 'f1', 'f2'. "
                                 "Available columns: 'f0'.")
