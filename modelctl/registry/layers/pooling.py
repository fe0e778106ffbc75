"""Pooling layers: max and average over windows, and global pooling over all positions."""

from modelctl.registry import args
from modelctl.registry.args import REQUIRED
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared
from modelctl.registry.layers.conv import DIMENSIONS, ones

SHAPES = {1: "sequences", 2: "images", 3: "volumes"}


def pool_args(rank: int, pool_size=REQUIRED) -> dict:
    per_dimension = f"one integer for all dimensions, or one per dimension ({DIMENSIONS[rank]})"
    return {
        "pool_size": args.int_or_tuple(rank, f"Size of the pooling window: {per_dimension}.", pool_size),
        "strides": args.int_or_tuple(rank, f"Step of the window: {per_dimension}; null uses the pool size.", None),
        "padding": args.choice(["valid", "same"], "How the borders are padded: `valid` adds no padding; `same` "
                                                  "makes the output size the input size divided by (rounded up) "
                                                  "the strides.", "valid"),
        "data_format": shared.data_format(),
    }


def global_args() -> dict:
    return {
        "data_format": shared.data_format(),
        "keepdims": args.boolean("Whether to keep the pooled spatial axes with size 1 instead of dropping them.",
                                 False),
    }


def _meta(rank: int, example: dict) -> dict:
    return {"example": {"args": example, "input_shape": [4] * rank + [3]}, "input_rank": rank + 2}


def _window_entries(rank: int) -> list[Entry]:
    return [
        Entry(f"max_pooling{rank}d", f"keras.layers:MaxPooling{rank}D",
              f"Downsamples {SHAPES[rank]} by the maximum over each window.",
              pool_args(rank, ones(rank, 2)), shorthand="pool_size", meta=_meta(rank, {"pool_size": 2})),
        Entry(f"average_pooling{rank}d", f"keras.layers:AveragePooling{rank}D",
              f"Downsamples {SHAPES[rank]} by the average over each window.",
              pool_args(rank), shorthand="pool_size", meta=_meta(rank, {"pool_size": 2, "padding": "same"})),
    ]


def _global_entries(rank: int) -> list[Entry]:
    return [
        Entry(f"global_max_pooling{rank}d", f"keras.layers:GlobalMaxPooling{rank}D",
              f"Maximum over all positions of {SHAPES[rank]}: one value per channel.",
              global_args(), meta=_meta(rank, {})),
        Entry(f"global_average_pooling{rank}d", f"keras.layers:GlobalAveragePooling{rank}D",
              f"Average over all positions of {SHAPES[rank]}: one value per channel.",
              global_args(), meta=_meta(rank, {"keepdims": rank == 2})),
    ]


ENTRIES = [entry for rank in (1, 2, 3) for entry in (*_window_entries(rank), *_global_entries(rank))]
