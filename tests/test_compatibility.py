"""The compatibility table (`modelctl.registry.compatibility`) against Keras itself: every loss and metric the
table says reads a target kind compiles and scores perfect predictions of that kind right (accuracies, AUC,
precision, recall and F1 of 1); every combination it refuses because of Keras (`KERAS_REFUSES`,
`WRONG_NUMBERS`, a one-hot loss on class indices and back) raises inside Keras or gives a wrong number."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelctl.registry import compatibility
from modelctl.registry.compatibility import loss_problem, metric_problem, output_problems, reads, target_kind
from modelctl.registry.losses import LOSSES
from modelctl.registry.metrics import METRICS

KINDS = ("binary", "categorical/index", "categorical/one_hot", "multi_label")
SCORES_ONE = ("accuracy", "auc", "precision", "recall", "f1_score", "fbeta_score")
"""Metrics whose value on perfect predictions is 1."""


def _batch(kind: str):
    """(targets as the data pipeline gives Keras, perfect predictions of the output) for a target kind."""
    indices = np.array([0, 1, 2, 0, 1, 2])
    if kind == "binary":
        truth = np.array([0, 1, 1, 0, 1, 0], dtype="float32")
        return truth, (truth * 0.8 + 0.1).reshape(-1, 1)
    if kind == "multi_label":
        truth = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype="float32")
        return truth, truth * 0.8 + 0.1
    scores = np.eye(3, dtype="float32")[indices] * 0.9 + 0.033
    return (indices.astype("int32") if kind == "categorical/index" else np.eye(3, dtype="float32")[indices]), scores


def _evaluate(family: str, name: str, kind: str) -> dict:
    import keras

    from modelctl.training.compile import build_loss, build_metric

    truth, predictions = _batch(kind)
    inputs = keras.Input((predictions.shape[1],))
    model = keras.Model(inputs, keras.layers.Activation("linear")(inputs))
    written = {"type": name, "average": "macro"} if name in ("f1_score", "fbeta_score") else name
    if family == "loss":
        model.compile(loss=build_loss(name))
    else:
        model.compile(loss=build_loss("mse" if kind != "categorical/index" else "sparse_categorical_crossentropy"),
                      metrics=[build_metric(written)])
    return model.evaluate(predictions, truth, verbose=0, return_dict=True)


def _combinations(read: bool):
    for family, registry in (("loss", LOSSES), ("metric", METRICS)):
        for entry in registry:
            if "alias_of" in entry.meta:
                continue
            for kind in KINDS:
                if (kind in reads(family, entry.name, dict(entry.meta))) == read:
                    yield family, entry.name, kind


@pytest.mark.slow
@pytest.mark.parametrize("family, name, kind", list(_combinations(True)), ids=lambda value: str(value))
def test_what_the_table_allows_keras_computes_right(family, name, kind):
    result = _evaluate(family, name, kind)
    for key, value in result.items():
        assert all(math.isfinite(number) for number in np.ravel(value)), (key, value)
    if family == "metric" and name in SCORES_ONE:
        value = next(value for key, value in result.items() if key != "loss")
        assert np.allclose(value, 1.0), (name, kind, value)


REFUSED_FOR_KERAS = sorted({(family, name, kind) for family, name, kind in compatibility.KERAS_REFUSES}
                           | {("metric", name, kind) for name, kind in compatibility.WRONG_NUMBERS}
                           | {("loss", "categorical_crossentropy", "categorical/index"),
                              ("loss", "sparse_categorical_crossentropy", "categorical/one_hot"),
                              ("loss", "categorical_focal_crossentropy", "categorical/index"),
                              ("metric", "auc", "categorical/index"), ("metric", "precision", "categorical/index"),
                              ("metric", "f1_score", "categorical/index"),
                              ("metric", "sparse_categorical_accuracy", "categorical/one_hot")})


@pytest.mark.slow
@pytest.mark.parametrize("family, name, kind", REFUSED_FOR_KERAS, ids=lambda value: str(value))
def test_what_the_table_refuses_keras_fails_or_computes_wrong(family, name, kind):
    problem = (loss_problem if family == "loss" else metric_problem)(name, kind, label="y")
    assert problem is not None and problem.severity == "error"
    try:
        result = _evaluate(family, name, kind)
    except Exception:  # noqa: BLE001 - any error Keras raises is the point
        return
    value = next(value for key, value in result.items() if key != "loss")
    assert not np.allclose(value, 1.0), (name, kind, value)


def test_target_kinds_follow_the_label_and_its_encoding():
    assert target_kind("categorical", {}) == "categorical/index"
    assert target_kind("categorical", {"encoding": "one_hot"}) == "categorical/one_hot"
    assert target_kind("binary", {"positive": "yes"}) == "binary"


def test_the_fixes_name_what_to_write():
    assert loss_problem("categorical_crossentropy", "categorical/index", label="species").message.endswith(
        "Use 'sparse_categorical_crossentropy' for integer class labels, or set `encoding: one_hot` on label "
        "'species'")
    assert "Keras would log 0" in metric_problem("categorical_accuracy", "categorical/index", label="y").message
    assert loss_problem("sparse_categorical_crossentropy", "categorical/index", label="y") is None
    assert metric_problem("auc", "categorical/one_hot", label="y") is None
    assert metric_problem("accuracy", "categorical/one_hot", label="y") is None
    assert loss_problem("no_such_loss", "binary", label="y") is None


def test_output_rules():
    def messages(kind, **arguments):
        return [problem.message for problem in output_problems(kind, **arguments)]

    assert messages("binary", activation="softmax", units=1, loss="binary_crossentropy", from_logits=False)[0] \
        .startswith("softmax over one unit always outputs 1.0")
    assert "set `activation: sigmoid`" in messages("binary", activation="linear", units=1,
                                                   loss="binary_crossentropy", from_logits=False)[0]
    assert "set `activation: softmax`" in messages("categorical/index", activation="linear", units=3,
                                                   loss="sparse_categorical_crossentropy", from_logits=False)[0]
    assert messages("binary", activation="linear", units=1, loss="binary_crossentropy", from_logits=True) == []
    assert messages("binary", activation="relu", units=1, loss="binary_crossentropy", from_logits=False)[0] \
        .startswith("'relu' outputs are not probabilities")
    assert messages("regression", activation="relu", units=1, loss="mse", from_logits=False) == []
    assert messages("binary", activation="sigmoid", units=1, loss="binary_crossentropy", from_logits=False) == []
