"""Permutation importance: how much worse the model gets when one feature's values are shuffled.

    result = permutation_importance(model, features, targets, fitted=fitted, repeats=5, seed=42)
    result["features"][0]       # {"name": "petal_length", "feature": "measurements", "importance": 0.61, ...}

For each unit (a column of a numeric feature, or a whole feature: see `modelctl.explain.units`), its values in
the held-out examples are put in a random order, the other inputs kept, and the model's loss on the true labels
is computed again. The importance is the mean increase of that loss over `repeats` shuffles, `std` their
spread. The loss is the one of each label type below, summed over the labels of a model with several:

    label type    metric      on
    binary        log_loss    the probability of the positive class
    categorical   log_loss    the probability of the true class
    multi_label   log_loss    each label's probability, averaged over labels
    regression    mse         every output, averaged

Probabilities are clipped to [1e-7, 1 - 1e-7]. A unit the model ignores scores 0 (up to the noise of the
shuffles); a negative importance means shuffling helped, which the spread usually explains. The shuffles
come from `numpy.random.default_rng(seed)`, so the same run, split and seed give the same numbers.

scikit-learn's `permutation_importance` needs an estimator over one 2-D matrix; a Keras model with named raw
inputs (strings, images) is not one, so the loop is written here.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.explain.units import units

EPSILON = 1e-7


def metric(label_type: str) -> str:
    """The loss measured for a label type: `log_loss` for one that classifies, `mse` otherwise."""
    from modelctl.features import label_type as kind_of

    return "log_loss" if kind_of(label_type).classifies else "mse"


def loss(label_type: str, y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The loss of one label's predictions (see the module docstring): the mean squared error for a label type
    that does not classify; the log loss of each example's class where the outputs are one probability a class
    and each example has one (categorical); else the binary log loss of each output (binary, multi_label).

    Args:
        label_type: binary, categorical, multi_label, regression or a plug-in's.
        y_true: targets as the data pipeline encodes them (class indices, 0/1, numbers).
        y_score: the model's outputs for the same examples.
    """
    from modelctl.features import label_type as kind_of

    kind = kind_of(label_type)
    scores = np.asarray(y_score, dtype=np.float64)
    truth = np.asarray(y_true)
    if not kind.classifies:
        return float(np.mean((scores.reshape(len(scores), -1) - truth.reshape(len(truth), -1)) ** 2))
    scores = np.clip(scores, EPSILON, 1 - EPSILON)
    if kind.single_class and kind.positive_class is None:
        picked = scores[np.arange(len(scores)), truth.reshape(-1).astype(int)]
        return float(-np.mean(np.log(picked)))
    scores = scores.reshape(len(scores), -1)
    truth = truth.reshape(len(truth), -1).astype(np.float64)
    return float(-np.mean(truth * np.log(scores) + (1 - truth) * np.log(1 - scores)))


def compiled(model, batch_size: int = 1024):
    """A function giving `model`'s outputs on raw features (numpy in and out, as
    `modelctl.model.preprocessing.predict_raw`), traced once: the importance calls the model once per shuffle, and
    an eager recurrent model takes about a second a call."""
    import tensorflow as tf

    from modelctl.model.preprocessing import predict_raw

    traced = tf.function(lambda batch, training=False: model(batch, training=False), reduce_retracing=True)
    return lambda features: predict_raw(traced, features, batch_size=batch_size)


def total_loss(predict, features: dict, targets: dict, *, label_types: dict[str, str]) -> float:
    """The summed loss of every label on raw `features`; `predict` gives the model's outputs (`compiled`)."""
    from modelctl.model.preprocessing import scores_by_label

    scores = scores_by_label(predict(features), list(label_types))
    return sum(loss(kind, targets[label], scores[label]) for label, kind in label_types.items())


def permutation_importance(model, features: dict, targets: dict, *, fitted, repeats: int = 5,
                           seed: int = 0) -> dict:
    """Permutation importance of every unit on held-out examples.

    Args:
        model: the run's model (raw features in).
        features: feature name -> raw values of the examples (`Prepared.arrays(split).features`).
        targets: label name -> encoded targets of the same examples.
        fitted: the run's fitted preprocessing (`modelctl.runs.Fitted`).
        repeats: shuffles per unit, at least 1; default 5.
        seed: seed of the shuffles; default 0 (callers pass the spec's `seed`).

    Returns:
        {"metric", "baseline" (the loss unshuffled), "repeats", "seed", "features": [{"name", "feature",
        "column", "importance", "std", "increases"}] most important first}.
    """
    label_types = {name: label.type for name, label in fitted.labels.items()}
    metrics = sorted({metric(kind) for kind in label_types.values()})
    predict = compiled(model)
    baseline = total_loss(predict, features, targets, label_types=label_types)
    generator = np.random.default_rng(seed)
    count = len(next(iter(features.values())))
    rows = []
    for unit in units(fitted):
        increases = []
        for _ in range(repeats):
            order = generator.permutation(count)
            shuffled = {**features, unit.feature: unit.shuffled(features[unit.feature], order)}
            increases.append(total_loss(predict, shuffled, targets, label_types=label_types) - baseline)
        rows.append({"name": unit.name, "feature": unit.feature, "column": unit.column,
                     "importance": float(np.mean(increases)), "std": float(np.std(increases)),
                     "increases": [float(value) for value in increases]})
    rows.sort(key=lambda row: -row["importance"])
    return {"metric": " + ".join(metrics), "baseline": baseline, "repeats": repeats, "seed": seed, "features": rows}


__all__ = ["compiled", "loss", "metric", "permutation_importance", "total_loss"]
