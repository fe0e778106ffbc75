"""Whether a model's weights fit in this machine's memory, known before any weight is allocated.

    limit = machine_memory()            # bytes of RAM, None when unknown
    problems = oversized({"dense_1": 320_000_000_000, "head": 4_000}, limit)

The builder sizes each layer's weights from a model built in a scratch
TensorFlow graph, where creating a variable records its shape and allocates
nothing, and refuses the model at the spec line of the layer that does not fit.
"""

from __future__ import annotations

import os


def machine_memory() -> int | None:
    """Total RAM in bytes: psutil's figure when psutil is installed, else the operating system's page count
    times the page size; None when neither is available."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().total)
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def weight_size(weight) -> int:
    """Number of values in a weight, from its shape."""
    size = 1
    for dim in weight.shape:
        size *= int(dim)
    return size


def weight_bytes(weight) -> int:
    """Bytes a weight takes, from its shape and dtype."""
    import numpy as np

    return weight_size(weight) * np.dtype(str(weight.dtype).replace("mixed_", "")).itemsize


def oversized(sizes: dict[str, int], limit: int | None) -> list[str]:
    """Layers to blame when the weights of all `sizes` (layer name -> bytes) exceed `limit` bytes: every layer
    whose own weights exceed it, else the one with the largest weights; [] when they fit or `limit` is None."""
    if limit is None or sum(sizes.values()) <= limit:
        return []
    return [name for name, size in sizes.items() if size > limit] or [max(sizes, key=sizes.get)]
