"""The registry entries this plug-in adds. Importing this module must not import Keras or TensorFlow."""

from modelctl.registry import args
from modelctl.registry.base import Entry

ENTRIES = [
    Entry(
        "scale",
        "modelctl_example_plugin.scale:Scale",
        "Multiplies each feature by a learned scale, one per feature on the last axis.",
        {
            "initial_value": args.number("Value every scale starts from.", 1.0),
            "use_offset": args.boolean("Whether to add a learned offset per feature as well.", False),
        },
        shorthand="initial_value",
        meta={"example": {"args": {"initial_value": 0.5}, "input_shape": [4]}},
    ),
]
