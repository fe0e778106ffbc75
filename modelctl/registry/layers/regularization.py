"""Regularization layers: dropout variants and noise, active only in training, and activity penalties."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared

SHAPES = {1: "sequences (whole channels across all steps)", 2: "images (whole feature maps)",
          3: "volumes (whole feature maps)"}


def _spatial_dropout(rank: int) -> Entry:
    arguments = {"rate": shared.rate("the channels")}
    if rank > 1:
        arguments["data_format"] = shared.data_format()
    arguments["seed"] = shared.seed("the dropout mask")
    return Entry(f"spatial_dropout{rank}d", f"keras.layers:SpatialDropout{rank}D",
                 f"Dropout of entire channels of {SHAPES[rank]} in training.",
                 arguments, shorthand="rate",
                 meta={"example": {"args": {"rate": 0.2}, "input_shape": [4] * rank + [3]}, "input_rank": rank + 2,
                       "training_only": True})


def _noise_meta(example: dict) -> dict:
    return {"example": {"args": example, "input_shape": [4]}, "training_only": True}


ENTRIES = [
    *(_spatial_dropout(rank) for rank in (1, 2, 3)),
    Entry("gaussian_noise", "keras.layers:GaussianNoise", "Adds zero-mean Gaussian noise in training.",
          {
              "stddev": args.number("Standard deviation of the noise, from 0 to 1.", minimum=0, maximum=1),
              "seed": shared.seed("the noise"),
          },
          shorthand="stddev", meta=_noise_meta({"stddev": 0.1})),
    Entry("gaussian_dropout", "keras.layers:GaussianDropout",
          "Multiplies the inputs by Gaussian noise with mean 1 in training.",
          {
              "rate": args.fraction("Drop probability the noise imitates: its standard deviation is "
                                    "`sqrt(rate / (1 - rate))`."),
              "seed": shared.seed("the noise"),
          },
          shorthand="rate", meta=_noise_meta({"rate": 0.2})),
    Entry("alpha_dropout", "keras.layers:AlphaDropout",
          "Dropout that keeps the inputs' mean and variance, for self-normalizing (selu) networks; active in "
          "training only.",
          {
              "rate": shared.rate(),
              "noise_shape": args.shape("Shape of the binary dropout mask, batch dimension included; a null entry "
                                        "takes the input's size there. Null for the input's shape.", None),
              "seed": shared.seed("the dropout mask"),
          },
          shorthand="rate", meta=_noise_meta({"rate": 0.1})),
    Entry("activity_regularization", "keras.layers:ActivityRegularization",
          "Passes its input through unchanged and adds an L1/L2 penalty on it to the loss.",
          {
              "l1": args.number("L1 factor of the penalty.", 0.0, minimum=0),
              "l2": args.number("L2 factor of the penalty.", 0.0, minimum=0),
          },
          meta={"example": {"args": {"l2": 0.01}, "input_shape": [4]}}),
]
