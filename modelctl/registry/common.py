"""Definitions shared by many registry entries, placed once under the schema's `$defs`.

Entries refer to them with `args.ref("activation", ...)` and so on; the builder
turns the written values into Keras objects (see `modelctl.registry.values`).
"""

from __future__ import annotations

ACTIVATIONS = [
    "linear", "relu", "relu6", "leaky_relu", "elu", "selu", "gelu", "silu", "swish", "mish",
    "softmax", "log_softmax", "sigmoid", "hard_sigmoid", "hard_silu", "tanh", "softplus", "softsign",
    "exponential",
]
"""Activation names accepted wherever a layer takes `activation` (Keras names)."""

INITIALIZERS = [
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "orthogonal", "identity", "zeros", "ones", "constant", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling",
]
"""Initializer names (Keras names). Arguments such as `stddev` go in the mapping form."""

CONSTRAINTS = ["max_norm", "min_max_norm", "non_neg", "unit_norm"]

DTYPES = ["float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16"]


def definitions() -> dict:
    """The shared `$defs` of the spec schema."""
    return {
        "activation": {
            "title": "activation",
            "description": "An activation function by name.",
            "enum": ACTIVATIONS,
        },
        "initializer": {
            "description": "A weight initializer: a name, or `{type: NAME, ...arguments}` "
                           "such as `{type: random_normal, stddev: 0.02, seed: 1}`.",
            "if": {"type": "string"},
            "then": {"title": "initializer", "enum": INITIALIZERS},
            "else": {
                "type": "object",
                "properties": {
                    "type": {"description": "Initializer name.", "enum": INITIALIZERS},
                    "mean": {"description": "Mean (random_normal, truncated_normal).", "type": "number",
                             "default": 0.0},
                    "stddev": {"description": "Standard deviation (random_normal, truncated_normal).",
                               "type": "number", "exclusiveMinimum": 0, "default": 0.05},
                    "minval": {"description": "Lower bound (random_uniform).", "type": "number", "default": -0.05},
                    "maxval": {"description": "Upper bound (random_uniform).", "type": "number", "default": 0.05},
                    "value": {"description": "The value (constant).", "type": "number", "default": 0.0},
                    "gain": {"description": "Multiplicative factor (orthogonal, identity).", "type": "number",
                             "default": 1.0},
                    "scale": {"description": "Scale (variance_scaling).", "type": "number", "exclusiveMinimum": 0,
                              "default": 1.0},
                    "mode": {"description": "Fan mode (variance_scaling).", "enum": ["fan_in", "fan_out", "fan_avg"],
                             "default": "fan_in"},
                    "distribution": {"description": "Distribution (variance_scaling).",
                                     "enum": ["truncated_normal", "untruncated_normal", "uniform"],
                                     "default": "truncated_normal"},
                    "seed": {"description": "Random seed; null follows the spec's seed.",
                             "type": ["integer", "null"], "minimum": 0, "default": None},
                },
                "required": ["type"],
                "additionalProperties": False,
            },
        },
        "regularizer": {
            "description": "A weight penalty added to the loss: `{l1: 0.01}`, `{l2: 0.0001}` or both.",
            "type": "object",
            "properties": {
                "l1": {"description": "L1 factor.", "type": "number", "minimum": 0, "default": 0.0},
                "l2": {"description": "L2 factor.", "type": "number", "minimum": 0, "default": 0.0},
            },
            "minProperties": 1,
            "additionalProperties": False,
        },
        "constraint": {
            "description": "A weight constraint applied after each update: a name, or "
                           "`{type: max_norm, max_value: 2}`.",
            "if": {"type": "string"},
            "then": {"title": "constraint", "enum": CONSTRAINTS},
            "else": {
                "type": "object",
                "properties": {
                    "type": {"description": "Constraint name.", "enum": CONSTRAINTS},
                    "max_value": {"description": "Largest norm (max_norm, min_max_norm).", "type": "number",
                                  "exclusiveMinimum": 0, "default": 2.0},
                    "min_value": {"description": "Smallest norm (min_max_norm).", "type": "number", "minimum": 0,
                                  "default": 0.0},
                    "rate": {"description": "Enforcement rate (min_max_norm).", "type": "number", "minimum": 0,
                             "maximum": 1, "default": 1.0},
                    "axis": {"description": "Axis along which the norm is computed.", "type": "integer",
                             "default": 0},
                },
                "required": ["type"],
                "additionalProperties": False,
            },
        },
        "dtype": {
            "description": "A dtype or mixed-precision policy name.",
            "enum": [*DTYPES, None],
        },
    }
