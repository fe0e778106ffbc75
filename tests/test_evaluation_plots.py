"""Evaluation plots are written as valid PNG files, and the report and table show them and the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from modelctl.errors import UsageError
from modelctl.evaluation import (
    EvaluationError,
    calibration_plot,
    compute_metrics,
    confusion_matrix_plot,
    learning_curves_plot,
    pr_plot,
    render_report,
    render_table,
    residuals_plot,
    roc_plot,
    scalar_rows,
    write_plots,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY = {"loss": [0.9, 0.5, 0.4], "val_loss": [1.0, 0.7, 0.6], "accuracy": [0.5, 0.8, 0.9],
           "val_accuracy": [0.4, 0.7, 0.8], "learning_rate": [0.01, 0.01, 0.001]}


def _inputs(label_type: str):
    rng = np.random.default_rng(0)
    if label_type == "binary":
        y = rng.integers(0, 2, 60)
        return y, np.clip(0.4 * y + 0.6 * rng.random(60), 0, 1), ["neg", "pos"]
    if label_type == "categorical":
        y = rng.integers(0, 3, 60)
        scores = rng.dirichlet(np.ones(3), 60) + np.eye(3)[y]
        return y, scores / scores.sum(axis=1, keepdims=True), ["a", "b", "c"]
    if label_type == "multi_label":
        y = rng.integers(0, 2, (60, 3))
        return y, np.clip(0.4 * y + 0.6 * rng.random((60, 3)), 0, 1), ["x", "y", "z"]
    y = rng.normal(size=(60, 2))
    return y, y + rng.normal(scale=0.3, size=(60, 2)), ["price", "volume"]


EXPECTED_FILES = {
    "binary": ["confusion_matrix.png", "roc.png", "pr.png", "calibration.png", "learning_curves.png"],
    "categorical": ["confusion_matrix.png", "roc.png", "pr.png", "calibration.png", "learning_curves.png"],
    "multi_label": ["roc.png", "pr.png", "calibration.png", "learning_curves.png"],
    "regression": ["residuals.png", "learning_curves.png"],
}


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > 1000, path


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every label type's plots, written once: label type -> (folder, paths)."""
    result = {}
    for label_type in EXPECTED_FILES:
        folder = tmp_path_factory.mktemp("evaluation") / "plots"
        y_true, y_score, names = _inputs(label_type)
        result[label_type] = (folder, write_plots(label_type, y_true, y_score, class_names=names, history=HISTORY,
                                                  folder=folder))
    return result


@pytest.mark.parametrize("label_type", list(EXPECTED_FILES))
def test_write_plots_writes_the_plots_that_fit(written, label_type):
    folder, paths = written[label_type]
    assert [path.name for path in paths] == EXPECTED_FILES[label_type]
    assert all(path.parent == folder for path in paths)
    assert sorted(entry.name for entry in folder.iterdir()) == sorted(EXPECTED_FILES[label_type])
    for path in paths:
        _assert_png(path)


def test_figures_are_closed(written):
    import matplotlib.pyplot as pyplot

    assert pyplot.get_fignums() == []


def test_write_plots_without_history(tmp_path):
    y_true, y_score, names = _inputs("regression")
    assert write_plots("regression", y_true, y_score, class_names=names, history=None,
                       folder=tmp_path) == [tmp_path / "residuals.png"]


DRAWERS = {
    "confusion_matrix_plot": (confusion_matrix_plot, ("binary", "categorical")),
    "roc_plot": (roc_plot, ("binary", "categorical", "multi_label")),
    "pr_plot": (pr_plot, ("binary", "categorical", "multi_label")),
    "calibration_plot": (calibration_plot, ("binary", "categorical", "multi_label")),
}


@pytest.mark.parametrize("name", list(DRAWERS))
def test_each_plot_function_returns_its_path(tmp_path, name):
    draw, fits = DRAWERS[name]
    y_true, y_score, names = _inputs(fits[-1])
    path = tmp_path / f"{name}.png"
    assert draw(fits[-1], y_true, y_score, path=path, class_names=names) == path
    _assert_png(path)
    with pytest.raises(EvaluationError) as raised:
        draw("regression", *_inputs("regression")[:2], path=tmp_path / "no.png")
    assert str(raised.value) == (f"{name} draws label types "
                                 + {2: "'binary' or 'categorical'",
                                    3: "'binary', 'categorical' or 'multi_label'"}[len(fits)]
                                 + "; received label_type='regression'")
    assert not (tmp_path / "no.png").exists()


def test_residuals_and_learning_curves(tmp_path):
    y_true, y_score, _ = _inputs("regression")
    assert residuals_plot(y_true[:, 0], y_score[:, 0], tmp_path / "r.png") == tmp_path / "r.png"
    assert learning_curves_plot({"val_loss": [1.0, float("nan")]}, tmp_path / "l.png") == tmp_path / "l.png"
    for path in (tmp_path / "r.png", tmp_path / "l.png"):
        _assert_png(path)


def test_curves_undefined_for_every_class_still_draw(tmp_path):
    path = roc_plot("binary", np.ones(10, dtype=int), np.linspace(0, 1, 10), path=tmp_path / "roc.png")
    _assert_png(path)


@pytest.mark.parametrize(("history", "message"), [
    ({}, "history must be a non-empty dict of metric name to one value per epoch; received {}"),
    ({"loss": "0.5"}, "history['loss'] must be a list of numbers, one per epoch; received '0.5'"),
    ({"loss": [0.5, None]}, "history['loss'] must be a list of numbers, one per epoch; received [0.5, None]"),
])
def test_bad_history(tmp_path, history, message):
    with pytest.raises(EvaluationError) as raised:
        learning_curves_plot(history, tmp_path / "l.png")
    assert str(raised.value) == message


def test_missing_folder_is_an_error(tmp_path):
    y_true, y_score, _ = _inputs("binary")
    with pytest.raises(UsageError) as raised:
        roc_plot("binary", y_true, y_score, path=tmp_path / "absent" / "roc.png")
    assert str(raised.value) == f"{tmp_path / 'absent' / 'roc.png'}: the folder {tmp_path / 'absent'} does not exist"


def test_report_links_every_plot(written):
    folder, paths = written["categorical"]
    y_true, y_score, names = _inputs("categorical")
    metrics = compute_metrics("categorical", y_true, y_score, class_names=names)
    report_folder = folder.parent
    text = render_report("iris | test split", metrics, spec_summary={"name": "iris", "model": {"layers": 4},
                                                         "optimizer": {"name": "adam", "learning_rate": 0.001},
                                                         "epochs": 30, "metrics": ["accuracy", "f1"]},
                         plots=paths, folder=report_folder)
    assert text.startswith("# iris | test split\n\n60 examples, label type `categorical`.\n\n## Metrics\n")
    for path in paths:
        link = f"plots/{path.name}"
        assert f"]({link})" in text
        assert (report_folder / link).is_file()
    for row in ["| name | iris |", "| model.layers | 4 |", "| optimizer.name | adam |",
                "| optimizer.learning_rate | 0.001 |", "| epochs | 30 |", "| metrics | accuracy, f1 |",
                f"| accuracy | {metrics['accuracy']:.4f} |", "| Class | Precision | Recall | F1 | ROC AUC | PR AUC |",
                "| true \\ predicted | a | b | c |", "### Confusion matrix", "### ROC curve"]:
        assert row in text.splitlines(), row


def test_report_escapes_and_shows_notes(tmp_path):
    metrics = compute_metrics("binary", [1, 1], [0.3, 0.8], class_names=["no|yes", "yes"], names=["roc_auc",
                                                                                                  "accuracy"])
    text = render_report("t", metrics, spec_summary={}, plots=[tmp_path / "with space" / "roc.png"], folder=tmp_path)
    assert "| roc_auc | n/a |" in text
    assert "- `roc_auc`: undefined: every example in y_true is of class 'yes'" in text
    assert "![ROC curve](<with space/roc.png>)" in text
    assert "## Spec" not in text


def test_scalar_rows_and_table():
    metrics = compute_metrics("categorical", [0, 1, 2, 1], [[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.2, 0.7],
                                                           [0.3, 0.3, 0.4]], names=["top_k_accuracy", "f1"])
    assert scalar_rows(metrics) == [("examples", 4), ("f1.macro", pytest.approx(7 / 9)),
                                    ("f1.weighted", pytest.approx(3 / 4)), ("top_k_accuracy", 1.0),
                                    ("top_k_accuracy.k", 3)]
    console = Console(record=True, width=60)
    render_table(metrics, console)
    text = console.export_text()
    assert "top_k_accuracy.k" in text and "0.7778" in text and "Metric" in text
