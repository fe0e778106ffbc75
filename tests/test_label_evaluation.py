"""Evaluation asks the label type's class what fits it: a label type added to `modelctl.features.LABELS` is
evaluated (metrics, plots, report) with no change to `modelctl.evaluation`, and no module there (or the
server) decides anything by comparing a label type's name.

The two label types here are subclasses written in this file and registered for one test each, as a
plug-in's entry would be: `grade` (ordered classes, fewer metrics and figures than categorical) and `count`
(a regression reported by two metrics).
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from modelctl.evaluation import (
    EvaluationError,
    compute_metrics,
    metric_names,
    render_report,
    roc_plot,
    write_plots,
)
from modelctl.evaluation.metrics import NAMES
from modelctl.features import LABEL_TYPES, LABELS, label_type, label_types
from modelctl.features.labels.categorical import CategoricalLabel
from modelctl.features.labels.regression import RegressionLabel
from modelctl.registry.base import Entry

ROOT = Path(__file__).resolve().parent.parent


class GradeLabel(CategoricalLabel):
    """Grades in order: one class per example, scored by accuracy, F1 and the confusion matrix only."""

    name = "grade"
    members = ("grade", "grades")
    metrics = ("accuracy", "f1", "confusion_matrix")
    plots = ("confusion_matrix",)


class CountLabel(RegressionLabel):
    """A count, reported by its mean absolute and root mean squared errors."""

    name = "count"
    members = ("count", "counts")
    metrics = ("rmse", "mae")


@pytest.fixture
def registered(monkeypatch):
    """`grade` and `count` in `LABELS` for one test; the registry is as before afterwards."""
    for kind in (GradeLabel, CountLabel):
        monkeypatch.setitem(LABELS._entries, kind.name,
                            Entry(kind.name, f"{__name__}:{kind.__name__}", kind.__doc__.splitlines()[0]))


def _grades():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 40)
    scores = rng.dirichlet(np.ones(3), 40) + 2 * np.eye(3)[y]
    return y, scores / scores.sum(axis=1, keepdims=True), ["C", "B", "A"]


def test_a_registered_label_type_is_evaluated(registered, tmp_path):
    y, scores, names = _grades()
    assert label_types() == [*LABEL_TYPES, "count", "grade"]
    result = compute_metrics("grade", y, scores, class_names=names)
    categorical = compute_metrics("categorical", y, scores, class_names=names, names=["accuracy", "f1",
                                                                                      "confusion_matrix"])
    assert list(result) == ["label_type", "examples", "classes", "accuracy", "f1", "confusion_matrix", "notes"]
    assert result == {**categorical, "label_type": "grade"}
    assert write_plots("grade", y, scores, class_names=names, history=None, folder=tmp_path) == [
        tmp_path / "confusion_matrix.png"]
    report = render_report("grades", result, spec_summary={}, plots=[], folder=tmp_path)
    assert "### Per grade" in report and "| Grade | F1 |" in report

    counts = compute_metrics("count", [1.0, 2.0, 4.0], [1.5, 2.0, 3.0])
    assert counts == {"label_type": "count", "examples": 3, "rmse": pytest.approx(np.sqrt(1.25 / 3)),
                      "mae": 0.5, "notes": {}}
    assert write_plots("count", [1.0, 2.0, 4.0], [1.5, 2.0, 3.0], class_names=None, history=None,
                       folder=tmp_path / "c") == [
        tmp_path / "c" / "residuals.png"]


@pytest.mark.parametrize(("call", "message"), [
    (lambda: metric_names("grade", ["roc_auc"]),
     "Metric 'roc_auc' does not fit label type 'grade'. Metrics that fit 'grade': 'accuracy', 'f1' or "
     "'confusion_matrix'."),
    (lambda: compute_metrics("grade", [0, 1], [[0.5, 0.5], [0.2, 0.8]], class_names=["C", "B", "A"]),
     "class_names must be 2 strings, one per grade of the scores; received ['C', 'B', 'A']"),
    (lambda: compute_metrics("count", [1.0, 2.0], [1.0, 2.0], class_names=["a"], names=["r2"]),
     "Metric 'r2' does not fit label type 'count'. Metrics that fit 'count': 'rmse' or 'mae'."),
    (lambda: roc_plot("grade", *_grades()[:2], path="roc.png"),
     "roc_plot draws label types 'binary', 'categorical' or 'multi_label'; received label_type='grade'"),
    (lambda: compute_metrics("grades", [0], [[1.0, 0.0]]),
     "Invalid label type 'grades'. Expected one of 'binary', 'categorical', 'multi_label', 'regression', "
     "'count' or 'grade'. Did you mean 'grade'?"),
])
def test_a_registered_label_type_says_what_does_not_fit(registered, call, message):
    with pytest.raises(EvaluationError) as raised:
        call()
    assert str(raised.value) == message


def test_every_built_in_label_type_says_what_evaluation_needs():
    names = set(metric_names("binary", ["accuracy"]) + metric_names("regression", ["mse"]))
    for name in LABEL_TYPES:
        kind = label_type(name)
        assert kind.name == name
        assert kind.metrics and set(kind.reported_metrics()) <= set(kind.metrics)
        assert kind.plots and len(kind.members) == 2
        names.update(kind.metrics)
    assert names == set(NAMES)


@pytest.mark.parametrize("module", ["modelctl/evaluation", "modelctl/serve/app.py", "modelctl/explain"])
def test_no_code_compares_label_type_names(module):
    """Strings equal to a label type's name appear in code only inside `modelctl.features` (docstrings and
    messages may mention them)."""
    assert _constants(ROOT / module, set(LABEL_TYPES)) == []


def test_explain_asks_feature_types_rather_than_comparing_their_names():
    """What an explanation does with a feature (columns apart, a category, tokens, pixels) is the feature type's
    to say (`by_column`, `one_category`, `attributions`)."""
    from modelctl.features import feature_types

    assert _constants(ROOT / "modelctl/explain", set(feature_types())) == []


def _constants(path, names: set[str]) -> list[str]:
    found = []
    for source in sorted(path.glob("*.py")) if path.is_dir() else [path]:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Constant) and node.value in names:
                found.append(f"{source.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_scores_become_one_probability_per_class():
    """What `modelctl serve`'s :classify answers: binary's one score is two probabilities."""
    assert label_type("binary").class_probabilities(np.array([0.75])).tolist() == [0.25, 0.75]
    assert label_type("categorical").class_probabilities(np.array([0.1, 0.9])).tolist() == [0.1, 0.9]
    assert [label_type(name).classifies for name in LABEL_TYPES] == [True, True, True, False]
    assert [label_type(name).output_units({"classes": ["a", "b", "c"]}) for name in LABEL_TYPES] == [1, 3, 3, 1]
