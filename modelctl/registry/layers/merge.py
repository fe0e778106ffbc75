"""Merge layers: combine several tensors into one. List the tensors in the item's `inputs`."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared
from modelctl.registry.layers.shared import INTEGER, array

SAME_SHAPES = [[4, 3], [4, 3]]


def _elementwise(name: str, cls: str, what: str, *, inputs=(2, None)) -> Entry:
    return Entry(name, f"keras.layers:{cls}", f"{what} of its inputs, element by element; the shapes must match "
                                              "or broadcast.", {},
                 meta={"example": {"args": {}, "input_shapes": SAME_SHAPES}, "inputs": list(inputs)})


ENTRIES = [
    _elementwise("add", "Add", "Sum"),
    _elementwise("subtract", "Subtract", "Difference (first minus second)", inputs=(2, 2)),
    _elementwise("multiply", "Multiply", "Product"),
    _elementwise("average", "Average", "Mean"),
    _elementwise("maximum", "Maximum", "Maximum"),
    _elementwise("minimum", "Minimum", "Minimum"),
    Entry("concatenate", "keras.layers:Concatenate", "Joins its inputs along an axis; the other axes must match.",
          {"axis": args.integer("Axis to join along (negative counts from the end).", -1)}, shorthand="axis",
          meta={"example": {"args": {"axis": -1}, "input_shapes": [[4, 3], [4, 5]]}, "inputs": [2, None]}),
    Entry("dot", "keras.layers:Dot", "Dot product of two inputs along an axis of each, per example.",
          {
              "axes": shared.options([INTEGER, array(INTEGER, 2)],
                                     "Axis to multiply along: one for both inputs, or `[axis_of_first, "
                                     "axis_of_second]` (the batch axis 0 is not allowed)."),
              "normalize": args.boolean("Whether to L2-normalize both inputs along the axes first, which gives "
                                        "cosine similarity.", False),
          },
          shorthand="axes",
          meta={"example": {"args": {"axes": [2, 2], "normalize": True}, "input_shapes": SAME_SHAPES},
                "inputs": [2, 2]}),
]
