"""The layer registry: every name a spec can use under `model.layers`.

Entries live in one module per kind of layer; plug-ins add more through the
`modelctl.layers` entry-point group (see `modelctl.registry.plugins`).
"""

from modelctl.registry.base import Registry
from modelctl.registry.layers import (
    attention,
    blocks,
    conv,
    core,
    merge,
    pooling,
    preprocessing,
    recurrent,
    regularization,
    reshaping,
)

LAYERS = Registry("layer", [
    *core.ENTRIES,
    *conv.ENTRIES,
    *pooling.ENTRIES,
    *reshaping.ENTRIES,
    *recurrent.ENTRIES,
    *attention.ENTRIES,
    *merge.ENTRIES,
    *preprocessing.ENTRIES,
    *regularization.ENTRIES,
    *blocks.ENTRIES,
])

COMMON_ARGS = ("trainable", "dtype")
"""Arguments every layer takes besides its own (see `modelctl.spec.schema`)."""
