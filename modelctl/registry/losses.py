"""Losses: the names a spec can give `training.loss`.

    loss: sparse_categorical_crossentropy
    loss: {type: binary_focal_crossentropy, gamma: 3.0, from_logits: true}

Arguments and defaults are those of the Keras 3 loss classes, less `reduction`
(modelctl averages over the batch, Keras's default), `name` (modelctl names the
loss after its output) and `dtype` (the run's mixed-precision policy decides it).

Each entry's meta says which labels it fits:
    label_types: the label types of `data.labels` it suits ("binary", "categorical",
        "multi_label", "regression").
    label_encoding: how the labels must be written: "index" (a class index, the sparse
        losses), "one_hot" (a vector per example, the categorical ones) or "value".
Aliases such as `mse` are entries of their own whose meta also names the entry they
stand for (`alias_of`).
"""

import dataclasses

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry

BINARY = ("binary", "multi_label")
CATEGORICAL = ("categorical",)
REGRESSION = ("regression",)


def from_logits() -> dict:
    return args.boolean("Whether predictions are logits (before sigmoid or softmax) rather than "
                        "probabilities.", False)


def class_axis() -> dict:
    return args.integer("Axis of the classes (or features) in the predictions.", -1)


def crossentropy_args(smoothing: bool = True, ignore_class: bool = False, axis: bool = True) -> dict:
    """What the cross-entropies take, losses and metrics alike, in Keras's order."""
    result = {"from_logits": from_logits()}
    if smoothing:
        result["label_smoothing"] = args.number(
            "How far the labels move towards a uniform distribution, in [0, 1]: 0.1 turns a one-hot 1 into 0.9 "
            "plus an equal share of 0.1; 0 for none.", 0.0, minimum=0, maximum=1)
    if ignore_class:
        result["ignore_class"] = args.integer("Class index whose examples are left out (such as padding); null "
                                              "for none.", None)
    if axis:
        result["axis"] = class_axis()
    return result


def _focal_args(alpha_help: str, alpha_schema: list[dict]) -> dict:
    return {
        "alpha": args.any_of(alpha_schema, alpha_help, 0.25),
        "gamma": args.number("Focusing parameter: larger values down-weight easy examples; 0 gives plain "
                             "cross-entropy.", 2.0, minimum=0),
        **crossentropy_args(),
    }


def _binary_focal_args() -> dict:
    return {
        "apply_class_balancing": args.boolean("Whether to weigh positive examples by alpha and negative ones by "
                                              "1 - alpha.", False),
        **_focal_args("Weight of the positive class (only with apply_class_balancing).",
                      [{"type": "number", "minimum": 0, "maximum": 1}]),
    }


def _categorical_focal_args() -> dict:
    weight = {"type": "number", "minimum": 0}
    return _focal_args("Weight of every class, or a list with one weight per class.",
                       [weight, {"type": "array", "items": weight, "minItems": 1}])


def loss(name: str, target: str, description: str, *, label_types: tuple, encoding: str,
         arguments: dict | None = None) -> Entry:
    return Entry(name, f"keras.losses:{target}", description, arguments or {},
                 meta={"label_types": list(label_types), "label_encoding": encoding})


def alias(name: str, entry: Entry) -> Entry:
    """An entry under another name, whose meta says which one it stands for."""
    return dataclasses.replace(entry, name=name, description=f"Same as {entry.name}: {entry.description}",
                               meta={**entry.meta, "alias_of": entry.name})


_ENTRIES = [
    loss("binary_crossentropy", "BinaryCrossentropy", "Cross-entropy of 0/1 labels, one sigmoid output per label.",
         label_types=BINARY, encoding="value", arguments=crossentropy_args()),
    loss("categorical_crossentropy", "CategoricalCrossentropy", "Cross-entropy of one-hot labels and class "
                                                                "probabilities.",
         label_types=CATEGORICAL, encoding="one_hot", arguments=crossentropy_args()),
    loss("sparse_categorical_crossentropy", "SparseCategoricalCrossentropy", "Cross-entropy of class-index labels "
                                                                             "and class probabilities.",
         label_types=CATEGORICAL, encoding="index", arguments=crossentropy_args(smoothing=False, ignore_class=True)),
    loss("binary_focal_crossentropy", "BinaryFocalCrossentropy", "Binary cross-entropy that down-weights easy "
                                                                 "examples (for imbalanced labels).",
         label_types=BINARY, encoding="value", arguments=_binary_focal_args()),
    loss("categorical_focal_crossentropy", "CategoricalFocalCrossentropy", "Categorical cross-entropy that "
                                                                           "down-weights easy examples.",
         label_types=CATEGORICAL, encoding="one_hot", arguments=_categorical_focal_args()),
    loss("mean_squared_error", "MeanSquaredError", "Mean of the squared errors.", label_types=REGRESSION,
         encoding="value"),
    loss("mean_absolute_error", "MeanAbsoluteError", "Mean of the absolute errors.", label_types=REGRESSION,
         encoding="value"),
    loss("mean_absolute_percentage_error", "MeanAbsolutePercentageError", "Mean absolute error as a percentage "
                                                                          "of the label.", label_types=REGRESSION,
         encoding="value"),
    loss("mean_squared_logarithmic_error", "MeanSquaredLogarithmicError", "Mean squared error of log(1 + value), "
                                                                          "for non-negative values spanning "
                                                                          "magnitudes.", label_types=REGRESSION,
         encoding="value"),
    loss("huber", "Huber", "Squared error for small errors, absolute error beyond delta (robust to outliers).",
         label_types=REGRESSION, encoding="value",
         arguments={"delta": args.number("Error size at which the loss turns from squared to linear.", 1.0,
                               exclusive_minimum=0)}),
    loss("log_cosh", "LogCosh", "Logarithm of the hyperbolic cosine of the error: like squared error when small, "
                                "absolute error when large.", label_types=REGRESSION, encoding="value"),
    loss("hinge", "Hinge", "Hinge loss of -1/1 labels (0/1 labels are converted) and raw scores.", label_types=BINARY,
         encoding="value"),
    loss("squared_hinge", "SquaredHinge", "Squared hinge loss of -1/1 labels (0/1 labels are converted).",
         label_types=BINARY,
         encoding="value"),
    loss("categorical_hinge", "CategoricalHinge", "Hinge loss of one-hot labels and class scores.",
         label_types=CATEGORICAL,
         encoding="one_hot"),
    loss("kl_divergence", "KLDivergence", "Kullback-Leibler divergence of the predicted from the label "
                                          "distribution.", label_types=CATEGORICAL, encoding="one_hot"),
    loss("poisson", "Poisson", "Poisson negative log-likelihood, for counts.", label_types=REGRESSION,
         encoding="value"),
    loss("cosine_similarity", "CosineSimilarity", "Negative cosine similarity of label and prediction vectors.",
         label_types=REGRESSION, encoding="value", arguments={"axis": class_axis()}),
]

_BY_NAME = {entry.name: entry for entry in _ENTRIES}

LOSSES = Registry("loss", [
    *_ENTRIES,
    *(alias(short, _BY_NAME[full]) for short, full in (
        ("mse", "mean_squared_error"), ("mae", "mean_absolute_error"),
        ("mape", "mean_absolute_percentage_error"), ("msle", "mean_squared_logarithmic_error"))),
])
