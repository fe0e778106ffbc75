"""Argument schemas that several kinds of layer share: weights, seeds, data formats, axes."""

from __future__ import annotations

from typing import Any

from modelctl.registry import args
from modelctl.registry.args import REQUIRED

INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
NULL = {"type": "null"}


def schema(fragment: dict, description: str, default: Any = REQUIRED) -> dict:
    """`fragment` with its description and, unless required, its default (for shapes `args` has no helper for)."""
    result = {"description": description, **fragment}
    if default is not REQUIRED:
        result["default"] = default
    return result


def array(items: dict, length: int | None = None) -> dict:
    """A list of `items`, of exactly `length` items when given."""
    fragment: dict = {"type": "array", "items": items, "minItems": length or 1}
    if length:
        fragment["maxItems"] = length
    return fragment


def options(fragments: list[dict], description: str, default: Any = REQUIRED) -> dict:
    """One of several schemas; null is accepted as well when the default is null."""
    return args.any_of([*fragments, NULL] if default is None else fragments, description, default)


def activation(default: str = "linear", what: str = "the output") -> dict:
    return args.ref("activation", f"Activation applied to {what}.", default)


def use_bias() -> dict:
    return args.boolean("Whether the layer adds a bias vector.", True)


def weight_args(weights: dict[str, tuple[str, str]], activity: bool = True) -> dict:
    """Initializer, regularizer and constraint of each weight, in Keras's order.

    Args:
        weights: prefix -> (Keras's default initializer, what the weight is), such as
            `{"kernel": ("glorot_uniform", "the kernel")}`.
        activity: whether the layer also takes `activity_regularizer`.
    """
    result = {f"{prefix}_initializer": args.ref("initializer", f"Initializer of {what}.", default)
              for prefix, (default, what) in weights.items()}
    result.update({f"{prefix}_regularizer": args.ref("regularizer", f"Penalty on {what}; null for none.", None)
                   for prefix, (_, what) in weights.items()})
    if activity:
        result["activity_regularizer"] = args.ref("regularizer", "Penalty on the output; null for none.", None)
    result.update({f"{prefix}_constraint": args.ref("constraint", f"Constraint on {what}; null for none.", None)
                   for prefix, (_, what) in weights.items()})
    return result


def kernel_and_bias() -> dict:
    return weight_args({"kernel": ("glorot_uniform", "the kernel"), "bias": ("zeros", "the bias")})


def seed(what: str = "the random draws") -> dict:
    return args.integer(f"Seed of {what}; null follows the spec's seed.", None, minimum=0)


def data_format() -> dict:
    return args.choice(["channels_last", "channels_first"],
                       "Where the channels axis is: `channels_last` (batch, ..., channels) or `channels_first` "
                       "(batch, channels, ...); null follows Keras's `image_data_format` setting, "
                       "`channels_last` unless configured.", None)


def axes(description: str, default: Any = REQUIRED) -> dict:
    """An axis, or a list of axes (negative counts from the end)."""
    return options([INTEGER, array(INTEGER)], description, default)


def lora_args() -> dict:
    return {
        "lora_rank": args.integer("Rank of a low-rank adaptation (LoRA): the main weight is frozen and only two "
                                  "small matrices of this rank are trained; null for none.", None, minimum=1),
        "lora_alpha": args.integer("Scale of the LoRA update (applied as `lora_alpha / lora_rank`); null uses "
                                   "`lora_rank`.", None, minimum=1),
    }


def rate(what: str = "the inputs") -> dict:
    return args.fraction(f"Fraction of {what} to drop.")


def factor(description: str, *, minimum: float | None = None, maximum: float | None = None,
           default: Any = REQUIRED, exclusive_minimum: float | None = None) -> dict:
    """A random range: one number for a range symmetric about zero, or `[lower, upper]`; the bounds (inclusive,
    except `exclusive_minimum`) hold for the number and for both ends of the range."""
    number = dict(NUMBER)
    for key, value in (("minimum", minimum), ("exclusiveMinimum", exclusive_minimum), ("maximum", maximum)):
        if value is not None:
            number[key] = value
    return options([number, array(number, 2)], description, default)
