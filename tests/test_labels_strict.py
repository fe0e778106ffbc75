"""Labels are strict and named by the data (issue 29, items 1 and 2): a binary label takes exactly two values,
both named from the data; a third value, a `positive` value the training split lacks, or a split of one value is
an error at its file and row, never a silent negative class; evaluation data with a value outside the classes is
refused at its row, or skipped and counted under `on_bad_rows: skip`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from modelctl.cli.app import app
from modelctl.errors import DataError
from modelctl.features import label_type
from modelctl.features.values import Columns


def _label(options: dict, classes=None):
    options = {"type": options.get("type", "binary"), "column": "y", **options}
    return label_type(options["type"])(Columns("churned", options["type"], ("y",), options), classes)


def _fit(encoder, values):
    values = np.array(values, dtype=object)
    numbers = np.arange(1, len(values) + 1)
    encoder.survey(values, numbers)
    encoder.observe(values)
    encoder.finish()
    encoder.check_seen()
    return encoder


def test_a_stray_capital_is_a_third_value_named_at_its_first_example():
    values = ["stay"] * 6 + ["churn"] * 3 + ["Churn"] + ["churn"]
    with pytest.raises(DataError) as raised:
        _fit(_label({"positive": "churn"}), values)
    assert raised.value.example == 10
    assert "takes two values, but column 'y' holds 3 in the training split: 'stay' (6), 'churn' (4), " \
           "'Churn' (1); value 'Churn' is the rarest" in str(raised.value)


def test_the_negative_class_is_named_by_the_data():
    encoder = _fit(_label({"positive": "churn"}), ["stay", "churn", "stay"])
    assert encoder.classes == ["stay", "churn"]
    assert encoder.encode(np.array(["churn", "stay"], dtype=object), np.arange(1, 3)).tolist() == [1.0, 0.0]


def test_a_value_outside_the_classes_is_an_error_at_its_example():
    encoder = _label({"positive": "churn"}, classes=["stay", "churn"])
    with pytest.raises(DataError) as raised:
        encoder.encode(np.array(["churn", "stay", "maybe"], dtype=object), np.array([4, 5, 6]))
    assert raised.value.example == 6
    assert "has value 'maybe', which is not one of its classes: 'stay', 'churn'" in str(raised.value)


@pytest.mark.parametrize("positive, values", [("yes", [0, 1, 1, 0]), (2, [0, 1, 1, 0])])
def test_a_positive_value_the_training_split_lacks_is_an_error(positive, values):
    with pytest.raises(DataError, match=rf"the positive value '{positive}' never occurs in the training split; "
                                        r"column 'y' holds '0' \(2\), '1' \(2\)"):
        _fit(_label({"positive": positive}), np.array(values))


def test_one_value_only_is_an_error():
    with pytest.raises(DataError, match="holds only 'churn' in the training split; a binary label needs examples "
                                        "of two values"):
        _fit(_label({"positive": "churn"}), ["churn"] * 4)
    with pytest.raises(DataError, match="holds only '0'"):
        _fit(_label({}), np.array([0, 0, 0]))


def test_without_positive_the_column_holds_one_pair():
    assert _fit(_label({}), np.array([0, 1, 1])).classes == ["0", "1"]
    assert _fit(_label({}), ["No", "yes", "no"]).classes == ["no", "yes"]
    with pytest.raises(DataError, match=r"has value 'churn'; column 'y' holds .* set `positive`"):
        _fit(_label({}), ["churn", "stay"])
    with pytest.raises(DataError, match="holds 3 in the training split"):
        _fit(_label({}), ["yes", "no", "true"])


def test_positive_and_negative_name_both_classes_and_nothing_else_is_taken():
    encoder = _label({"positive": "left", "negative": "stayed"})
    assert encoder.classes == ["stayed", "left"] and not encoder.needs_fit
    with pytest.raises(DataError) as raised:
        _fit(encoder, ["left", "stayed", "gone"])
    assert raised.value.example == 3
    assert encoder.known(np.array(["left", "gone", "stayed"], dtype=object)).tolist() == [True, False, True]


def test_runs_fitted_with_the_old_class_names_still_read_their_pairs():
    encoder = _label({}, classes=["negative", "positive"])
    assert encoder.encode(np.array(["yes", "no", "1"], dtype=object), np.arange(1, 4)).tolist() == [1, 0, 1]


def _churn(folder: Path, labels: list[str]) -> Path:
    with (folder / "churn.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["age", "churn"])
        writer.writerows([[20 + index, label] for index, label in enumerate(labels)])
    spec = folder / "spec.yaml"
    spec.write_text("""modelctl: 1
name: churn
seed: 1
data:
  source: {format: csv, path: churn.csv}
  features:
    age: {type: numeric}
  labels:
    churned: {type: binary, column: churn, positive: churn}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  on_bad_rows: %s
model:
  layers:
    - dense: {units: 1, activation: sigmoid}
      name: churned
""")
    return spec


def test_modelctl_data_names_the_file_and_row_of_the_stray_value(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _churn(tmp_path, ["stay", "churn", "stay", "Churn", "churn", "stay"])
    spec.write_text(spec.read_text() % "error")
    result = runner.invoke(app, ["data", str(spec)])
    assert result.exit_code == 1, result.output
    assert "churn.csv:row 5: column 'churn': binary label 'churned' takes two values" in result.output


def test_values_outside_known_classes_are_skipped_and_counted(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = _churn(tmp_path, ["stay", "churn", "maybe", "stay", "churn", "maybe", "stay"])
    text = spec.read_text() % "skip"
    spec.write_text(text.replace("positive: churn}", "positive: churn, negative: stay}"))
    result = runner.invoke(app, ["data", str(spec), "--format", "json", "--no-cache"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["rows"]["train"] == 5, report
    assert report["skipped"] == {"column 'churn': not a class of label 'churned'": 2}, report
