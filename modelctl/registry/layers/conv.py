"""Convolution layers in 1, 2 and 3 spatial dimensions: plain, separable, depthwise and transposed."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared

DIMENSIONS = {1: "steps", 2: "height, width", 3: "depth, height, width"}


def ones(rank: int, value: int = 1):
    """Keras's default for a per-dimension size: a plain int in 1D, a tuple otherwise."""
    return value if rank == 1 else [value] * rank


def window_args(rank: int, causal: bool = False, transposed: bool = False) -> dict:
    """Kernel size, strides, padding, data format and dilation, as every convolution takes them."""
    per_dimension = f"one integer for all dimensions, or one per dimension ({DIMENSIONS[rank]})"
    paddings = ["valid", "same", "causal"] if causal else ["valid", "same"]
    size = "times" if transposed else "divided by (rounded up)"
    padding_help = f"`valid` adds no padding; `same` makes the output size the input size {size} the strides"
    if causal:
        padding_help += "; `causal` pads on the left only, so no output step sees later input steps"
    return {
        "kernel_size": args.int_or_tuple(rank, f"Size of the convolution window: {per_dimension}."),
        "strides": args.int_or_tuple(rank, f"Step of the window: {per_dimension}. A stride above 1 cannot be "
                                           "combined with a dilation rate above 1.", ones(rank)),
        "padding": args.choice(paddings, f"How the borders are padded: {padding_help}.", "valid"),
        "data_format": shared.data_format(),
        "dilation_rate": args.int_or_tuple(rank, f"Spacing between the window's taps (atrous convolution): "
                                                 f"{per_dimension}.", ones(rank)),
    }


def filters() -> dict:
    return {"filters": args.integer("Number of output channels (filters).", minimum=1)}


def conv_args(rank: int) -> dict:
    return {
        **filters(),
        **window_args(rank, causal=rank == 1),
        "groups": args.integer("Number of groups the channels are split into, each convolved separately; input "
                               "and output channels must both be divisible by it.", 1, minimum=1),
        "activation": shared.activation(),
        "use_bias": shared.use_bias(),
        **shared.kernel_and_bias(),
    }


def depth_multiplier() -> dict:
    return {"depth_multiplier": args.integer("Number of depthwise output channels per input channel.", 1,
                                             minimum=1)}


def separable_args(rank: int) -> dict:
    return {
        **filters(),
        **window_args(rank),
        **depth_multiplier(),
        "activation": shared.activation(),
        "use_bias": shared.use_bias(),
        **shared.weight_args({"depthwise": ("glorot_uniform", "the depthwise kernel"),
                              "pointwise": ("glorot_uniform", "the pointwise (1x1) kernel"),
                              "bias": ("zeros", "the bias")}),
    }


def depthwise_args(rank: int) -> dict:
    return {
        **window_args(rank),
        **depth_multiplier(),
        "activation": shared.activation(),
        "use_bias": shared.use_bias(),
        **shared.weight_args({"depthwise": ("glorot_uniform", "the depthwise kernel"), "bias": ("zeros", "the bias")}),
    }


def transpose_args(rank: int) -> dict:
    return {
        **filters(),
        **window_args(rank, transposed=True),
        "output_padding": args.int_or_tuple(rank, "Extra size added to one side of the output, one integer or one "
                                                  "per dimension, each smaller than the stride; null lets the "
                                                  "output size follow from the input.", None, minimum=0),
        "activation": shared.activation(),
        "use_bias": shared.use_bias(),
        **shared.kernel_and_bias(),
    }


def _meta(rank: int, example: dict, spatial: int = 8, *, channels: int = 3) -> dict:
    return {"example": {"args": example, "input_shape": [spatial] * rank + [channels]}, "input_rank": rank + 2}


ENTRIES = [
    Entry("conv1d", "keras.layers:Conv1D", "1D convolution over sequences (batch, steps, channels).",
          conv_args(1), meta=_meta(1, {"filters": 4, "kernel_size": 3, "padding": "causal", "dilation_rate": 2})),
    Entry("conv2d", "keras.layers:Conv2D", "2D convolution over images (batch, height, width, channels).",
          conv_args(2), meta=_meta(2, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same",
                                       "activation": "relu"})),
    Entry("conv3d", "keras.layers:Conv3D", "3D convolution over volumes (batch, depth, height, width, channels).",
          conv_args(3), meta=_meta(3, {"filters": 2, "kernel_size": [3, 3, 3]}, spatial=5, channels=1)),
    Entry("separable_conv1d", "keras.layers:SeparableConv1D",
          "Depthwise-separable 1D convolution: a convolution per channel, then a 1x1 convolution mixing them.",
          separable_args(1), meta=_meta(1, {"filters": 4, "kernel_size": 3})),
    Entry("separable_conv2d", "keras.layers:SeparableConv2D",
          "Depthwise-separable 2D convolution: a convolution per channel, then a 1x1 convolution mixing them.",
          separable_args(2), meta=_meta(2, {"filters": 4, "kernel_size": 3, "depth_multiplier": 2})),
    Entry("depthwise_conv1d", "keras.layers:DepthwiseConv1D",
          "Depthwise 1D convolution: each input channel is convolved with its own filters.",
          depthwise_args(1), meta=_meta(1, {"kernel_size": 3})),
    Entry("depthwise_conv2d", "keras.layers:DepthwiseConv2D",
          "Depthwise 2D convolution: each input channel is convolved with its own filters.",
          depthwise_args(2), meta=_meta(2, {"kernel_size": 3, "padding": "same"})),
    Entry("conv1d_transpose", "keras.layers:Conv1DTranspose",
          "Transposed 1D convolution: upsamples sequences, the reverse of a strided conv1d.",
          transpose_args(1), meta=_meta(1, {"filters": 4, "kernel_size": 3, "strides": 2}, spatial=5)),
    Entry("conv2d_transpose", "keras.layers:Conv2DTranspose",
          "Transposed 2D convolution: upsamples images, the reverse of a strided conv2d.",
          transpose_args(2), meta=_meta(2, {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"},
                                        spatial=4)),
    Entry("conv3d_transpose", "keras.layers:Conv3DTranspose",
          "Transposed 3D convolution: upsamples volumes, the reverse of a strided conv3d.",
          transpose_args(3), meta=_meta(3, {"filters": 2, "kernel_size": 3, "strides": [2, 2, 2]}, spatial=3,
                                        channels=1)),
]
