"""Which layer an op of a converted graph came from.

TensorFlow names an op after the name scopes it was built in, such as
`functional_1_1/review_vectorize_1/StringLower`: the model, then the layer,
each with a `_N` suffix that TensorFlow adds to keep scopes unique.
"""

from __future__ import annotations

import re


def layer_of(op_name: str, layer_names: list[str]) -> str | None:
    """The deepest scope of `op_name` that is (a uniquified form of) one of `layer_names`, or None."""
    found = None
    for scope in op_name.split("/")[:-1]:
        if scope in layer_names:
            found = scope
            continue
        matches = [name for name in layer_names if re.fullmatch(re.escape(name) + r"(_\d+)+", scope)]
        if matches:
            found = max(matches, key=len)
    return found


def all_layer_names(model) -> list[str]:
    """Names of every layer of the model, nested functional models' layers included."""
    from modelctl.export.graph import all_layers

    return [layer.name for layer in all_layers(model)]


def by_layer(op_names: dict[str, str], layer_names: list[str]) -> dict[str, list[str]]:
    """Layer name (or `(outside any layer)`) -> sorted op types, from op name -> op type."""
    grouped: dict[str, set[str]] = {}
    for op_name, op_type in op_names.items():
        layer = layer_of(op_name, layer_names) or "(outside any layer)"
        grouped.setdefault(layer, set()).add(op_type)
    return {layer: sorted(types) for layer, types in sorted(grouped.items())}
