"""Attributions mapped back to what the spec's features read: columns, a category, tokens, pixels.

    described = describe(explained.inputs["review"], explained.values["review"], fitted["features"]["review"],
                         raw="The motor was quiet")

gives one JSON-ready dict per feature, by feature type:

    numeric       {"kind": "columns", "columns": {"petal_length": 0.31, ...}}       one value per source column
    categorical   {"kind": "value", "value": "red", "attribution": 0.12}            the category the example has
    text          {"kind": "tokens", "tokens": [["motor", 0.02], ...], "padding": 0.0}   in order (ids mode), or
                  each token present (bag-of-words modes); tokens outside the vocabulary show as [UNK]
    image         {"kind": "pixels", "total": 0.4, "pixels": [[...], ...]}          summed over channels
    (plug-ins)    {"kind": "total", "attribution": 0.05}

Every dict also has `total`, the feature's summed attribution.
"""

from __future__ import annotations

from modelctl.util.lazy import numpy as np

from modelctl.explain.units import columns_of

PADDING = ""
OOV = "[UNK]"


def describe(attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
    """One feature's attributions as the module docstring shows.

    Args:
        attributions: shaped as the feature's core input (or raw input, for SHAP values).
        values: the example's value at the same input.
        fitted: the feature's entry of `preprocessing.json`.
        raw: the example's raw value (the category's string); default None.
    """
    attributions = np.asarray(attributions, dtype=np.float64)
    total = float(attributions.sum())
    kind = fitted.get("type")
    if kind == "numeric":
        flat = attributions.reshape(-1)
        columns = columns_of(fitted) or [f"{index}" for index in range(len(flat))]
        return {"kind": "columns", "total": total,
                "columns": {column: float(value) for column, value in zip(columns, flat)}}
    if kind == "categorical":
        value = raw.reshape(-1)[0] if isinstance(raw, np.ndarray) else raw
        return {"kind": "value", "total": total, "value": None if value is None else str(value), "attribution": total}
    if kind == "text":
        return {"kind": "tokens", "total": total, **_tokens(attributions, values, fitted)}
    if kind == "image":
        pixels = attributions.reshape(attributions.shape[0], attributions.shape[1], -1).sum(axis=2)
        return {"kind": "pixels", "total": total, "pixels": [[float(value) for value in row] for row in pixels]}
    return {"kind": "total", "total": total, "attribution": total}


def _tokens(attributions: np.ndarray, values: np.ndarray, fitted: dict) -> dict:
    vocabulary = list(fitted["vocabulary"])
    if fitted.get("output_mode", "int") == "int":
        table = [PADDING, OOV, *vocabulary]
        ids = np.asarray(values).reshape(-1).astype(int)
        tokens = [[table[index] if index < len(table) else OOV, float(value)]
                  for index, value in zip(ids, attributions.reshape(-1)) if index != 0]
        padding = float(attributions.reshape(-1)[ids == 0].sum())
        return {"tokens": tokens, "padding": padding}
    table = [OOV, *vocabulary]
    present = np.flatnonzero(np.asarray(values).reshape(-1))
    return {"tokens": [[table[index] if index < len(table) else OOV, float(attributions.reshape(-1)[index])]
                       for index in present], "padding": 0.0}


__all__ = ["OOV", "PADDING", "describe"]
