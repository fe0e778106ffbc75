"""Argument checks shared by the blocks; each raises `ValueError` in Keras's message shape."""

from __future__ import annotations

from typing import Any, Iterable


def positive_int(owner: str, name: str, value: Any) -> int:
    """Return `value` when it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Invalid value for argument `{name}` of {owner}. Expected an integer >= 1. "
                         f"Received: {name}={value!r}")
    return value


def fraction(owner: str, name: str, value: Any) -> float:
    """Return `value` when it is a number in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"Invalid value for argument `{name}` of {owner}. Expected a number in [0, 1). "
                         f"Received: {name}={value!r}")
    return float(value)


def one_of(owner: str, name: str, value: Any, *, allowed: Iterable[Any]) -> Any:
    """Return `value` when it is one of `allowed`."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"Invalid value for argument `{name}` of {owner}. Expected one of {allowed}. "
                         f"Received: {name}={value!r}")
    return value


def pair(owner: str, name: str, value: Any) -> tuple[int, int]:
    """Return an integer or a list of two integers (each >= 1) as a pair."""
    items = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    if (not isinstance(items, (list, tuple)) or len(items) != 2
            or any(isinstance(item, bool) or not isinstance(item, int) or item < 1 for item in items)):
        raise ValueError(f"Invalid value for argument `{name}` of {owner}. Expected an integer >= 1 or a list of "
                         f"two. Received: {name}={value!r}")
    return tuple(items)


def activation(owner: str, name: str, value: Any):
    """Return the Keras activation function named `value`."""
    import keras

    try:
        return keras.activations.get(value)
    except ValueError:
        raise ValueError(f"Invalid value for argument `{name}` of {owner}. Expected a Keras activation name such "
                         f"as 'relu' or 'gelu'. Received: {name}={value!r}") from None
