"""Preprocessing inside the model: rescaling, normalization, resizing, cropping and random image augmentation.

The random_* layers change their input only in training and pass it through at inference, except
random_crop, which crops the centre at inference.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared
from modelctl.registry.layers.shared import NUMBER, array

IMAGE_SHAPE = [8, 8, 3]
FILL_MODES = ["reflect", "wrap", "constant", "nearest"]


def _scalar_or_list(description: str, default=args.REQUIRED) -> dict:
    return shared.options([NUMBER, array(NUMBER)], description, default)


def _size() -> dict:
    return {
        "height": args.integer("Height of the output images.", minimum=1),
        "width": args.integer("Width of the output images.", minimum=1),
    }


def _fill_args(interpolation: list[str]) -> dict:
    """How geometric augmentations fill the area they uncover."""
    return {
        "fill_mode": args.choice(FILL_MODES, "How points outside the image are filled: `reflect` mirrors about "
                                             "the edge, `wrap` takes the opposite edge, `constant` uses "
                                             "`fill_value`, `nearest` repeats the edge pixel.", "reflect"),
        "interpolation": args.choice(interpolation, "How pixel values are interpolated.", "bilinear"),
        "seed": shared.seed(),
        "fill_value": args.number("Value of the filled points when `fill_mode` is `constant`.", 0.0),
        "data_format": shared.data_format(),
    }


def _zoom_or_shift(what: str, bounds: dict, shown: str, *, width_default=args.REQUIRED) -> dict:
    """Arguments of random_zoom and random_translation; `bounds` are Keras's limits on each factor (`shown`)."""
    width = f"Range of the horizontal {what}, like `height_factor`"
    width += "; null keeps the aspect ratio (the height's zoom)." if width_default is None else "."
    return {
        "height_factor": shared.factor(f"Range of the vertical {what} as a fraction of the height: `f` for "
                                       f"[-f, f], or `[lower, upper]`; each in {shown}.", **bounds),
        "width_factor": shared.factor(width, default=width_default, **bounds),
        **_fill_args(["nearest", "bilinear"]),
    }


def _value_range() -> dict:
    return shared.schema(array(NUMBER, 2), "Range `[low, high]` of the input pixel values, such as `[0, 1]` or "
                                           "`[0, 255]`; outputs are clipped to it.", [0, 255])


def _image(example: dict, training_only: bool = True) -> dict:
    meta = {"example": {"args": example, "input_shape": IMAGE_SHAPE}, "input_rank": 4}
    if training_only:
        meta["training_only"] = True
    return meta


ENTRIES = [
    Entry("rescaling", "keras.layers:Rescaling", "Multiplies the input by `scale` and adds `offset`, such as "
                                                 "`scale: 0.00392156862745098` for pixels 0-255 to 0-1.",
          {
              "scale": _scalar_or_list("Factor to multiply by: one number, or one per channel."),
              "offset": _scalar_or_list("Value to add after scaling: one number, or one per channel.", 0.0),
          },
          shorthand="scale", meta={"example": {"args": {"scale": 0.5, "offset": -1}, "input_shape": [4]}}),
    Entry("normalization", "keras.layers:Normalization",
          "Standardizes features: `(x - mean) / sqrt(variance)` with a fixed mean and variance.",
          {
              "axis": args.any_of([shared.INTEGER, shared.array(shared.INTEGER), shared.NULL],
                                  "Axis or axes that keep a separate mean and variance per index (usually the "
                                  "features axis); null for one mean and variance over everything.", -1),
              "mean": _scalar_or_list("Mean, one number or one per index of the kept axes; give it together "
                                      "with `variance`. Null means they must be computed from data (`adapt`) "
                                      "before use.", None),
              "variance": _scalar_or_list("Variance, one number or one per index of the kept axes; give it "
                                          "together with `mean`.", None),
              "invert": args.boolean("Whether to apply the inverse, turning normalized values back into the "
                                     "original scale.", False),
          },
          meta={"example": {"args": {"mean": [0.0, 1.0, 2.0], "variance": [1.0, 1.0, 4.0]}, "input_shape": [3]}}),
    Entry("resizing", "keras.layers:Resizing", "Resizes images to a fixed height and width.",
          {
              **_size(),
              "interpolation": args.choice(["bilinear", "nearest", "bicubic", "lanczos3", "lanczos5"],
                                           "How pixel values are interpolated.", "bilinear"),
              "crop_to_aspect_ratio": args.boolean("Whether to crop the largest centred window of the target "
                                                   "aspect ratio first, so images are not distorted.", False),
              "pad_to_aspect_ratio": args.boolean("Whether to pad the short side evenly to the target aspect "
                                                  "ratio first, so images are not distorted.", False),
              "fill_mode": args.choice(["constant"], "How padded areas are filled (only `constant`, with "
                                                     "`fill_value`).", "constant"),
              "fill_value": args.number("Value of padded pixels when `pad_to_aspect_ratio` is true.", 0.0),
              "antialias": args.boolean("Whether to filter with an anti-aliasing kernel when downsampling.", False),
              "data_format": shared.data_format(),
          },
          meta=_image({"height": 4, "width": 6, "crop_to_aspect_ratio": True}, training_only=False)),
    Entry("center_crop", "keras.layers:CenterCrop", "Crops the centre of images to a fixed height and width; "
                                                    "smaller images are resized, keeping the aspect ratio.",
          {**_size(), "data_format": shared.data_format()},
          meta=_image({"height": 4, "width": 4}, training_only=False)),
    Entry("random_flip", "keras.layers:RandomFlip", "Randomly flips images in training.",
          {
              "mode": args.choice(["horizontal", "vertical", "horizontal_and_vertical"],
                                  "Which flips may be applied: left-right, up-down or both.",
                                  "horizontal_and_vertical"),
              "seed": shared.seed(),
              "data_format": shared.data_format(),
          },
          meta=_image({"mode": "horizontal"})),
    Entry("random_rotation", "keras.layers:RandomRotation", "Randomly rotates images in training.",
          {
              "factor": shared.factor("Range of the rotation as a fraction of a full turn: `f` for [-f, f] "
                                      "(`0.1` is up to 36 degrees either way), or `[lower, upper]`; positive is "
                                      "counter-clockwise; each in [-1, 1].", minimum=-1, maximum=1),
              **_fill_args(["nearest", "bilinear"]),
          },
          shorthand="factor", meta=_image({"factor": 0.1, "fill_mode": "constant"})),
    Entry("random_zoom", "keras.layers:RandomZoom", "Randomly zooms images in or out in training.",
          _zoom_or_shift("zoom (positive zooms out, negative zooms in)", {"exclusive_minimum": -1, "maximum": 1},
                         "(-1, 1]", width_default=None),
          shorthand="height_factor", meta=_image({"height_factor": [-0.2, 0.2]})),
    Entry("random_translation", "keras.layers:RandomTranslation", "Randomly shifts images in training.",
          _zoom_or_shift("shift (positive moves down or right)", {"minimum": -1, "maximum": 1}, "[-1, 1]"),
          meta=_image({"height_factor": 0.1, "width_factor": 0.1})),
    Entry("random_contrast", "keras.layers:RandomContrast",
          "Randomly changes the contrast of images in training: each channel's deviation from its mean is "
          "multiplied by a random factor.",
          {
              "factor": shared.factor("Range of the change, from 0 to 1: `f` draws the factor from "
                                      "[1 - f, 1 + f], `[lower, upper]` from [1 - lower, 1 + upper].",
                                      minimum=0, maximum=1),
              "value_range": _value_range(),
              "seed": shared.seed(),
          },
          shorthand="factor", meta=_image({"factor": 0.2})),
    Entry("random_brightness", "keras.layers:RandomBrightness",
          "Randomly brightens or darkens images in training by adding a random amount to every pixel.",
          {
              "factor": shared.factor("Range of the change as a fraction of the value range, from -1 (black) "
                                      "to 1 (white): `f` for [-f, f], or `[lower, upper]`.", minimum=-1, maximum=1),
              "value_range": _value_range(),
              "seed": shared.seed(),
          },
          shorthand="factor", meta=_image({"factor": 0.2, "value_range": [0, 1]})),
    Entry("random_crop", "keras.layers:RandomCrop",
          "Crops a random window of a fixed size from images in training; at inference (and for smaller "
          "images) it takes the largest centred window of the target aspect ratio and resizes it.",
          {**_size(), "seed": shared.seed(), "data_format": shared.data_format()},
          # Not training_only: it changes the image size at inference too.
          meta=_image({"height": 4, "width": 4}, training_only=False)),
]
