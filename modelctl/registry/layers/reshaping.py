"""Spatial reshaping: upsampling, zero padding and cropping of sequences, images and volumes."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared
from modelctl.registry.layers.conv import DIMENSIONS
from modelctl.registry.layers.shared import array

SHAPES = {1: "sequences", 2: "images", 3: "volumes"}
NON_NEGATIVE = {"type": "integer", "minimum": 0}


def per_side(rank: int, what: str, default) -> dict:
    """An amount for the borders: one for all, one per dimension, or `[before, after]` per dimension."""
    pair = array(NON_NEGATIVE, 2)
    if rank == 1:
        return args.any_of([NON_NEGATIVE, pair], f"How much to {what}: one integer for both ends, or "
                                                 "`[start, end]`.", default)
    return args.any_of([NON_NEGATIVE, array(NON_NEGATIVE, rank), array(pair, rank)],
                       f"How much to {what}: one integer for every side, one per dimension ({DIMENSIONS[rank]}) "
                       f"for both of its sides, or `[before, after]` per dimension.", default)


def _upsampling(rank: int) -> Entry:
    if rank == 1:
        arguments = {"size": args.integer("Number of repetitions of each step.", 2, minimum=1)}
    else:
        arguments = {
            "size": args.int_or_tuple(rank, "Factor by which to enlarge: one integer for all dimensions, or one "
                                            f"per dimension ({DIMENSIONS[rank]}).", [2] * rank),
            "data_format": shared.data_format(),
        }
    how = "repeating each value"
    if rank == 2:
        how = "repeating or interpolating pixels"
        arguments["interpolation"] = args.choice(["nearest", "bilinear", "bicubic", "lanczos3", "lanczos5"],
                                                 "How new pixels are computed (`nearest` repeats them).", "nearest")
    return Entry(f"upsampling{rank}d", f"keras.layers:UpSampling{rank}D", f"Enlarges {SHAPES[rank]} by {how}.",
                 arguments, shorthand="size", meta=_meta(rank, {"size": 2}))


def _zero_padding(rank: int) -> Entry:
    default = 1 if rank == 1 else [1, 1] if rank == 2 else [[1, 1]] * 3
    return Entry(f"zero_padding{rank}d", f"keras.layers:ZeroPadding{rank}D",
                 f"Pads the borders of {SHAPES[rank]} with zeros.",
                 {"padding": per_side(rank, "pad", default), "data_format": shared.data_format()},
                 shorthand="padding", meta=_meta(rank, {"padding": [1, 2] if rank == 1 else 1}))


def _cropping(rank: int) -> Entry:
    default = [1, 1] if rank == 1 else [[0, 0]] * 2 if rank == 2 else [[1, 1]] * 3
    arguments = {"cropping": per_side(rank, "crop", default)}
    if rank > 1:
        arguments["data_format"] = shared.data_format()
    return Entry(f"cropping{rank}d", f"keras.layers:Cropping{rank}D",
                 f"Cuts values off the borders of {SHAPES[rank]}.", arguments,
                 shorthand="cropping", meta=_meta(rank, {"cropping": 1}))


def _meta(rank: int, example: dict) -> dict:
    return {"example": {"args": example, "input_shape": [6] * rank + [2]}, "input_rank": rank + 2}


ENTRIES = [make(rank) for make in (_upsampling, _zero_padding, _cropping) for rank in (1, 2, 3)]
