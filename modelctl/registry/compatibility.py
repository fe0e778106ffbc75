"""Which losses, metrics and output activations fit which labels: the one table that knows it.

    kind = target_kind("categorical", {"encoding": "index"})     # "categorical/index"
    problem = loss_problem("categorical_crossentropy", kind)      # a Mismatch: severity, why and the fix
    output_problems(kind, activation="softmax", units=1, loss="binary_crossentropy", from_logits=False)

What Keras receives as the targets of a label is its *target kind*:

| target kind | label | targets Keras gets |
| --- | --- | --- |
| binary | binary | 0/1, shape (n,) |
| categorical/index | categorical (the default `encoding: index`) | class index, shape (n,) |
| categorical/one_hot | categorical with `encoding: one_hot` | one-hot vector, shape (n, C) |
| multi_label | multi_label | multi-hot vector, shape (n, C) |
| regression | regression | numbers, shape (n,) or (n, k) |

A loss or metric *reads* some target kinds right. Which ones follows from its
registry entry's meta (`label_types`, and `label_encoding` for a categorical
label: "index" or "one_hot"; none for both), less the combinations in
`KERAS_REFUSES` and `KERAS_MISREADS`, plus those in `KERAS_ALSO_READS`. These
three tables were measured on Keras 3 by compiling each loss and metric and
evaluating perfect predictions of each target kind (tests/test_compatibility.py
does it again): a combination Keras refuses raises deep inside `fit`, one it
misreads gives a wrong number (`categorical_accuracy` on class indices logs 0).
Both are errors of the spec, with the fix; plug-in entries follow their meta.

`OUTPUT_RULES` are the output layers that train but make no sense: a softmax
over one unit (a constant), an activation whose outputs are not probabilities
before a loss that expects them, and so on. Each is a warning.

Label types are named here as strings: the registry sits below the label types
(`modelctl.features.labels`), which say their own target kind through
`target_kind`.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable

ERROR = "error"
WARNING = "warning"

TARGET_KINDS = ("binary", "categorical/index", "categorical/one_hot", "multi_label", "regression")

ENCODINGS = ("index", "one_hot")
"""The values of a categorical label's `encoding`; the first is the default."""

KERAS_REFUSES: dict[tuple[str, str, str], str] = {
    ("metric", "binary_crossentropy", "binary"): "Keras's metric wants targets of the output's shape (n, 1) and "
                                                 "raises `target and output must have the same rank`; the loss "
                                                 "binary_crossentropy is logged as `loss` already",
    ("metric", "f1_score", "binary"): "Keras's F1Score takes 2-D targets and raises `FBetaScore expects 2D "
                                      "inputs`",
    ("metric", "fbeta_score", "binary"): "Keras's FBetaScore takes 2-D targets and raises `FBetaScore expects 2D "
                                         "inputs`",
}
"""(family, name, target kind) -> why Keras raises, for combinations its meta would allow."""

KERAS_MISREADS: dict[tuple[str, str, str], str] = {}
"""(family, name, target kind) -> the wrong number Keras gives, for combinations its meta would allow."""

KERAS_ALSO_READS: dict[tuple[str, str], tuple[str, ...]] = {
    ("metric", "auc"): ("categorical/one_hot",),
    ("metric", "precision"): ("categorical/one_hot",),
    ("metric", "recall"): ("categorical/one_hot",),
}
"""(family, name) -> target kinds read right beyond those of its meta (one-hot classes, scored pooled)."""

WRONG_NUMBERS: dict[tuple[str, str], str] = {
    ("categorical_accuracy", "categorical/index"): "Keras would log 0 or a meaningless fraction",
    ("categorical_accuracy", "binary"): "Keras would log 0",
    ("sparse_categorical_accuracy", "binary"): "Keras would log a meaningless fraction",
    ("sparse_top_k_categorical_accuracy", "binary"): "Keras would log a meaningless fraction",
    ("kl_divergence", "binary"): "Keras would log a meaningless number",
}
"""(name, target kind) -> what goes wrong when a metric that does not read the kind runs anyway; the others raise
inside Keras."""

NEEDS_ARGUMENT: dict[tuple[str, str], tuple[str, str]] = {
    ("metric", "f1_score"): ("average", "without `average` Keras's F1Score gives one score per class, which "
                                        "training cannot log as one number; set `average: macro` (or micro, "
                                        "weighted)"),
    ("metric", "fbeta_score"): ("average", "without `average` Keras's FBetaScore gives one score per class, "
                                           "which training cannot log as one number; set `average: macro` (or "
                                           "micro, weighted)"),
}
"""(family, name) -> (argument, why): an argument whose default (null) Keras takes but training cannot use."""

COUNTERPARTS = {
    "categorical_crossentropy": "sparse_categorical_crossentropy",
    "categorical_accuracy": "sparse_categorical_accuracy",
    "top_k_categorical_accuracy": "sparse_top_k_categorical_accuracy",
}
"""The same loss or metric for one-hot targets -> for class indices (and back)."""

PER_CLASS = {"auc": "roc_auc", "precision": "precision", "recall": "recall", "f1_score": "f1", "fbeta_score": "f1"}
"""Keras metrics of binary problems -> the metric `modelctl eval` reports for every class (or label)."""

EXPECTED_ACTIVATION = {"binary": "sigmoid", "multi_label": "sigmoid", "categorical/index": "softmax",
                       "categorical/one_hot": "softmax"}
"""The activation whose outputs are the probabilities a cross-entropy of each classifying target kind expects."""

PROBABILITIES = ("sigmoid", "softmax")

NOT_PROBABILITIES = ("relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish", "tanh",
                     "softplus", "softsign", "exponential", "hard_silu", "hard_swish", "log_softmax", "celu",
                     "glu", "sparse_plus", "squareplus", "tanh_shrink", "hard_tanh", "soft_shrink", "hard_shrink",
                     "threshold", "linear")
"""Activations whose outputs are not probabilities (`linear` is no activation at all)."""


@dataclasses.dataclass(frozen=True)
class Mismatch:
    """A loss, metric or output that does not fit a label's targets.

    Attributes:
        severity: "error" (Keras raises or gives a wrong number) or "warning" (it trains, but makes no sense).
        message: what is wrong and the fix, without the label's name (the caller adds where it is).
        at: where the spec should be changed: "output" (the output layer) or "loss" (its `from_logits`);
            default "output".
    """

    severity: str
    message: str
    at: str = "output"


def target_kind(label_type: str, options: dict | None = None) -> str:
    """The target kind of a label of `label_type` with the spec's `options` (see the module docstring); a label
    type of a plug-in is its own kind."""
    if label_type == "categorical":
        encoding = (options or {}).get("encoding") or ENCODINGS[0]
        return f"categorical/{encoding}"
    return label_type


def _meta_kinds(meta: dict) -> set[str]:
    kinds = set()
    for label_type in meta.get("label_types", ()):
        if label_type == "categorical":
            encoding = meta.get("label_encoding")
            encodings = [encoding] if encoding in ENCODINGS else list(ENCODINGS)
            kinds.update(f"categorical/{item}" for item in encodings)
        else:
            kinds.add(label_type)
    return kinds


def reads(family: str, name: str, meta: dict) -> set[str]:
    """The target kinds the loss or metric `name` (of `family`: "loss" or "metric", with its registry `meta`)
    reads right."""
    kinds = _meta_kinds(meta) | set(KERAS_ALSO_READS.get((family, meta.get("alias_of", name)), ()))
    original = meta.get("alias_of", name)
    return {kind for kind in kinds if (family, original, kind) not in KERAS_REFUSES
            and (family, original, kind) not in KERAS_MISREADS}


def _entries(family: str):
    from modelctl.registry.losses import LOSSES
    from modelctl.registry.metrics import METRICS

    return LOSSES if family == "loss" else METRICS


def _fitting(family: str, kind: str) -> list[str]:
    return [entry.name for entry in _entries(family) if "alias_of" not in entry.meta
            and kind in reads(family, entry.name, dict(entry.meta))]


def _written(kind: str) -> str:
    return {"binary": "0/1 values", "categorical/index": "class indices", "categorical/one_hot": "one-hot vectors",
            "multi_label": "multi-hot vectors", "regression": "numbers"}.get(kind, f"{kind} targets")


def _listed(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def _problem(family: str, name: str, kind: str, *, label: str) -> Mismatch | None:
    registry = _entries(family)
    if name not in registry or kind not in TARGET_KINDS:
        return None
    meta = dict(registry.get(name).meta)
    if kind in reads(family, name, meta):
        return None
    original = meta.get("alias_of", name)
    why = KERAS_REFUSES.get((family, original, kind)) or KERAS_MISREADS.get((family, original, kind)) \
        or WRONG_NUMBERS.get((original, kind))
    readable = sorted(reads(family, name, meta), key=TARGET_KINDS.index) if all(
        item in TARGET_KINDS for item in reads(family, name, meta)) else sorted(reads(family, name, meta))
    text = f"{family} '{name}' reads {_listed([_written(item) for item in readable]) or 'no target kind'}, " \
           f"but label '{label}' gives {_written(kind)}" + (f": {why}" if why else "")
    return Mismatch(ERROR, f"{text}. {_fix(family, original, kind, label=label)}")


def _fix(family: str, name: str, kind: str, *, label: str) -> str:
    sparse = COUNTERPARTS.get(name)
    one_hot = {value: key for key, value in COUNTERPARTS.items()}.get(name)
    encode = f"set `encoding: one_hot` on label '{label}'"
    if kind == "categorical/index" and sparse:
        either = " (or 'accuracy')" if name == "categorical_accuracy" else ""
        return f"Use '{sparse}'{either} for integer class labels, or {encode}"
    if kind == "categorical/one_hot" and one_hot:
        either = " (or 'accuracy')" if name == "sparse_categorical_accuracy" else ""
        return f"Use '{one_hot}'{either} for one-hot labels, or remove `encoding: one_hot` from label '{label}'"
    if kind == "categorical/index" and "categorical/one_hot" in reads(family, name, dict(_entries(family).get(
            name).meta)):
        also = f", or leave it to `modelctl eval`, which reports {PER_CLASS[name]} for every class" \
            if name in PER_CLASS else ""
        return f"To use it, {encode}{also}"
    if family == "metric" and name in PER_CLASS:
        return f"`modelctl eval` reports {PER_CLASS[name]}; leave it out of training.metrics"
    fitting = _fitting(family, kind)
    if family == "loss":
        return f"Use {_listed([repr(item) for item in fitting[:3]])} for this label" if fitting else ""
    return f"Metrics that read {_written(kind)}: {', '.join(repr(item) for item in fitting[:8])}"


def loss_problem(name: str, kind: str, *, label: str) -> Mismatch | None:
    """Why the loss `name` cannot train a label of target kind `kind` (named `label` in messages), with the fix;
    None when it fits, or when the loss or kind is unknown here (a schema error or a plug-in's)."""
    return _problem("loss", name, kind, label=label)


def metric_problem(name: str, kind: str, *, label: str) -> Mismatch | None:
    """As `loss_problem`, for a metric of `training.metrics`."""
    return _problem("metric", name, kind, label=label)


def argument_problem(family: str, name: str, arguments: dict) -> Mismatch | None:
    """Why the written `arguments` of the loss or metric `name` cannot be used (see `NEEDS_ARGUMENT`); None when
    they can."""
    needed = NEEDS_ARGUMENT.get((family, name))
    if needed is None or arguments.get(needed[0]) is not None:
        return None
    return Mismatch(ERROR, f"{family} '{name}': {needed[1]}")


def expects_probabilities(loss: str) -> bool:
    """Whether the loss `name` takes probabilities unless `from_logits: true` (its entry has `from_logits`)."""
    from modelctl.registry.losses import LOSSES

    return loss in LOSSES and "from_logits" in LOSSES.get(loss).args


@dataclasses.dataclass(frozen=True)
class OutputRule:
    """One output layer that trains but makes no sense.

    Attributes:
        kinds: the target kinds it concerns; empty for every kind.
        activations: the output activations it concerns.
        units: "one" (a single unit), "several" or "any".
        loss: "probabilities" (a loss that expects probabilities, without `from_logits: true`), "logits" (with
            `from_logits: true`) or "any".
        message: the warning; `{activation}`, `{loss}`, `{output}` and `{expected}` (the activation the kind
            expects) are filled in.
    """

    kinds: tuple[str, ...]
    activations: tuple[str, ...]
    units: str
    loss: str
    message: str


OUTPUT_RULES = (
    OutputRule((), ("softmax",), "one", "any",
               "softmax over one unit always outputs 1.0, so the model is constant whatever it learns; use "
               "`activation: sigmoid` for a binary label"),
    OutputRule(("binary", "multi_label", "categorical/index", "categorical/one_hot"), ("linear",), "any",
               "probabilities",
               "the output has no activation but loss '{loss}' expects probabilities; set `activation: {expected}`, "
               "or `from_logits: true` on the loss"),
    OutputRule(("binary", "multi_label", "categorical/index", "categorical/one_hot"),
               tuple(name for name in NOT_PROBABILITIES if name != "linear"), "any", "probabilities",
               "'{activation}' outputs are not probabilities but loss '{loss}' expects them, so the loss is clipped "
               "and training stalls; use `activation: {expected}`, or no activation and `from_logits: true`"),
    OutputRule(("binary", "multi_label", "categorical/index", "categorical/one_hot"), PROBABILITIES, "any", "logits",
               "the loss has from_logits: true but output '{output}' already applies {activation}; remove one of them"),
    OutputRule(("categorical/index", "categorical/one_hot"), ("sigmoid",), "several", "probabilities",
               "sigmoid scores each class on its own, so the class probabilities do not sum to 1; use "
               "`activation: softmax` for one class of several"),
    OutputRule(("multi_label",), ("softmax",), "several", "any",
               "softmax makes the labels compete (their probabilities sum to 1), so at most one is predicted; use "
               "`activation: sigmoid` for labels that hold together"),
)
"""Output layers that train but make no sense, each a warning (see `OutputRule`)."""


def output_problems(kind: str, *, activation: str, units: int | None, loss: str | None, from_logits: bool,
                    output: str = "") -> Iterable[Mismatch]:
    """The warnings of `OUTPUT_RULES` for the output named `output` of `units` units (None: unknown) and
    `activation` that trains a label of target kind `kind` with the loss `loss` (None: unknown)."""
    probabilities = loss is not None and expects_probabilities(loss)
    for rule in OUTPUT_RULES:
        if (rule.kinds and kind not in rule.kinds) or activation not in rule.activations:
            continue
        if rule.units == "one" and units != 1 or rule.units == "several" and not (units or 0) > 1:
            continue
        if rule.loss == "probabilities" and not (probabilities and not from_logits) \
                or rule.loss == "logits" and not (probabilities and from_logits):
            continue
        yield Mismatch(WARNING, rule.message.format(activation=activation, loss=loss, output=output,
                                                    expected=EXPECTED_ACTIVATION.get(kind, "sigmoid")),
                       at="loss" if rule.loss == "logits" else "output")


__all__ = [
    "ENCODINGS", "ERROR", "NEEDS_ARGUMENT", "argument_problem", "KERAS_ALSO_READS", "KERAS_MISREADS", "KERAS_REFUSES",
    "Mismatch", "OUTPUT_RULES", "OutputRule", "TARGET_KINDS", "WARNING", "WRONG_NUMBERS", "expects_probabilities",
    "loss_problem", "metric_problem", "output_problems", "reads", "target_kind",
]
