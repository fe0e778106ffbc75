"""Metrics: the names a spec can list under `training.metrics`.

    metrics: [accuracy, {type: auc, curve: PR}]

Arguments and defaults are those of the Keras 3 metric classes, less `name`
(modelctl names metrics) and `dtype` (the run's policy decides it). Meta is as for
losses (`label_types`, `label_encoding` where it matters, `alias_of`), plus
`compile_as` for `accuracy`: the trainer hands that name to Keras, which picks
binary, categorical or sparse categorical accuracy from the shapes of labels and
predictions (the Keras `Accuracy` class only counts predictions exactly equal to
the labels).
"""

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry
from modelctl.registry.losses import BINARY, CATEGORICAL, REGRESSION, alias, crossentropy_args, from_logits

CLASSIFICATION = (*BINARY, *CATEGORICAL)


def metric(name: str, target: str, description: str, *, label_types: tuple, arguments: dict | None = None,
           **meta) -> Entry:
    return Entry(name, f"keras.metrics:{target}", description, arguments or {},
                 meta={"label_types": list(label_types), **meta})


def top_k() -> dict:
    return {"k": args.integer("How many of the highest-scored classes may hold the label.", 5, minimum=1)}


def _auc_args() -> dict:
    return {
        "num_thresholds": args.integer("Number of evenly spaced thresholds the curve is approximated with.", 200,
                                       minimum=2),
        "curve": args.choice(["ROC", "PR"], "Which curve: ROC (receiver operating characteristic) or PR "
                                            "(precision-recall).", "ROC"),
        "summation_method": args.choice(["interpolation", "minoring", "majoring"],
                                        "How the area is summed: interpolation (trapezoids), minoring (lower "
                                        "bound) or majoring (upper bound).", "interpolation"),
        "thresholds": args.any_of([{"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                                    "minItems": 1}, {"type": "null"}],
                                  "Thresholds to use instead of num_thresholds evenly spaced ones; null for "
                                  "those.", None),
        "multi_label": args.boolean("Whether each label column is a separate binary problem whose areas are "
                                    "averaged (multi-label data); otherwise all columns are pooled.", False),
        "num_labels": args.integer("Number of label columns (only with multi_label); null to infer it.", None,
                                   minimum=1),
        "label_weights": args.any_of([{"type": "array", "items": {"type": "number", "minimum": 0}, "minItems": 1},
                                      {"type": "null"}],
                                     "Weight of each label column in the multi_label average; null weighs "
                                     "them alike.", None),
        "from_logits": from_logits(),
    }


def _confusion_args() -> dict:
    """What precision and recall take."""
    return {
        "thresholds": args.any_of([{"type": "number", "minimum": 0, "maximum": 1},
                                   {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1},
                                    "minItems": 1}, {"type": "null"}],
                                  "Prediction threshold, or a list of them (one result each); null for 0.5.",
                                  None),
        "top_k": args.integer("Count a class as predicted only when it is among the k highest scores; null "
                              "for every class over the threshold.", None, minimum=1),
        "class_id": args.integer("Score this one class index only; null for all.", None, minimum=0),
    }


def _f_score_args(beta: bool) -> dict:
    result = {"average": args.choice(["micro", "macro", "weighted"],
                                     "How per-class scores are combined: micro (pooled counts), macro (plain "
                                     "mean) or weighted (mean weighted by support); null for one score per "
                                     "class.", None)}
    if beta:
        result["beta"] = args.number("Weight of recall against precision (2 counts recall twice as much).", 1.0,
                                     exclusive_minimum=0)
    result["threshold"] = args.number("Predictions above it count as 1; null counts the highest score in each "
                                      "row.", None, exclusive_minimum=0, maximum=1)
    return result


def _r2_args() -> dict:
    return {
        "class_aggregation": args.choice(["uniform_average", "variance_weighted_average"],
                                         "How the scores of several outputs are combined: their mean, or their "
                                         "mean weighted by each output's variance; null for one score each.",
                                         "uniform_average"),
        "num_regressors": args.integer("Number of independent variables, for the adjusted R2; 0 for plain R2.",
                                       0, minimum=0),
    }


_ENTRIES = [
    metric("accuracy", "Accuracy", "Fraction of examples whose predicted class is right; Keras picks binary, "
                                   "categorical or sparse categorical accuracy from the shapes of labels and "
                                   "predictions.",
           label_types=CLASSIFICATION, compile_as="accuracy"),
    metric("binary_accuracy", "BinaryAccuracy", "Fraction of 0/1 labels the thresholded predictions get right.",
           label_types=BINARY, arguments={"threshold": args.number("Predictions above it count as 1 (0 for logits).",
                                                                   0.5)}),
    metric("categorical_accuracy", "CategoricalAccuracy", "Fraction of one-hot labels whose class has the "
                                                          "highest score.", label_types=CATEGORICAL,
           label_encoding="one_hot"),
    metric("sparse_categorical_accuracy", "SparseCategoricalAccuracy", "Fraction of class-index labels whose "
                                                                       "class has the highest score.",
           label_types=CATEGORICAL, label_encoding="index"),
    metric("top_k_categorical_accuracy", "TopKCategoricalAccuracy", "Fraction of one-hot labels whose class is "
                                                                    "among the k highest scores.",
           label_types=CATEGORICAL, arguments=top_k(), label_encoding="one_hot"),
    metric("sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", "Fraction of class-index labels "
                                                                                 "whose class is among the k "
                                                                                 "highest scores.",
           label_types=CATEGORICAL, arguments={**top_k(), "from_sorted_ids": args.boolean(
               "Whether predictions are class indices sorted by score rather than scores.", False)},
           label_encoding="index"),
    metric("auc", "AUC", "Area under the ROC or precision-recall curve.", label_types=BINARY, arguments=_auc_args()),
    metric("precision", "Precision", "Fraction of predicted positives that are positive.", label_types=BINARY,
           arguments=_confusion_args()),
    metric("recall", "Recall", "Fraction of positives predicted positive.", label_types=BINARY,
           arguments=_confusion_args()),
    metric("f1_score", "F1Score", "Harmonic mean of precision and recall.", label_types=CLASSIFICATION,
           arguments=_f_score_args(False),
           label_encoding="one_hot"),
    metric("fbeta_score", "FBetaScore", "Weighted harmonic mean of precision and recall.", label_types=CLASSIFICATION,
           arguments=_f_score_args(True), label_encoding="one_hot"),
    metric("mean_squared_error", "MeanSquaredError", "Mean of the squared errors.", label_types=REGRESSION),
    metric("root_mean_squared_error", "RootMeanSquaredError", "Square root of the mean squared error.",
           label_types=REGRESSION),
    metric("mean_absolute_error", "MeanAbsoluteError", "Mean of the absolute errors.", label_types=REGRESSION),
    metric("mean_absolute_percentage_error", "MeanAbsolutePercentageError", "Mean absolute error as a percentage "
                                                                            "of the label.", label_types=REGRESSION),
    metric("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", "Mean squared error of "
                                                                            "log(1 + value).", label_types=REGRESSION),
    metric("r2_score", "R2Score", "Coefficient of determination: 1 is a perfect fit, 0 no better than the "
                                  "mean.", label_types=REGRESSION, arguments=_r2_args()),
    metric("log_cosh_error", "LogCoshError", "Mean logarithm of the hyperbolic cosine of the errors.",
           label_types=REGRESSION),
    metric("binary_crossentropy", "BinaryCrossentropy", "Cross-entropy of 0/1 labels.", label_types=BINARY,
           arguments=crossentropy_args(axis=False)),
    metric("categorical_crossentropy", "CategoricalCrossentropy", "Cross-entropy of one-hot labels.",
           label_types=CATEGORICAL,
           arguments=crossentropy_args(), label_encoding="one_hot"),
    metric("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "Cross-entropy of class-index "
                                                                               "labels.",
           label_types=CATEGORICAL, arguments=crossentropy_args(smoothing=False,
                                                                ignore_class=True), label_encoding="index"),
    metric("kl_divergence", "KLDivergence", "Kullback-Leibler divergence of the predicted from the label "
                                            "distribution.", label_types=CATEGORICAL, label_encoding="one_hot"),
]

_BY_NAME = {entry.name: entry for entry in _ENTRIES}

METRICS = Registry("metric", [
    *_ENTRIES,
    *(alias(short, _BY_NAME[full]) for short, full in (
        ("mse", "mean_squared_error"), ("mae", "mean_absolute_error"), ("rmse", "root_mean_squared_error"),
        ("mape", "mean_absolute_percentage_error"))),
])
