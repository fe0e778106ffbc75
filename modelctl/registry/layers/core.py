"""Core layers: dense, dropout, activation, normalization and reshaping of features."""

from modelctl.registry import args
from modelctl.registry.base import Entry


def dense_args() -> dict:
    return {
        "units": args.integer("Number of output units.", minimum=1),
        "activation": args.ref("activation", "Activation applied to the output.", "linear"),
        "use_bias": args.boolean("Whether the layer adds a bias vector.", True),
        "kernel_initializer": args.ref("initializer", "Initializer of the kernel.", "glorot_uniform"),
        "bias_initializer": args.ref("initializer", "Initializer of the bias.", "zeros"),
        "kernel_regularizer": args.ref("regularizer", "Penalty on the kernel; null for none.", None),
        "bias_regularizer": args.ref("regularizer", "Penalty on the bias; null for none.", None),
        "activity_regularizer": args.ref("regularizer", "Penalty on the output; null for none.", None),
        "kernel_constraint": args.ref("constraint", "Constraint on the kernel; null for none.", None),
        "bias_constraint": args.ref("constraint", "Constraint on the bias; null for none.", None),
    }


ENTRIES = [
    Entry("dense", "keras.layers:Dense", "Fully connected layer: `activation(inputs @ kernel + bias)`.",
          dense_args(), shorthand="units"),
    Entry("dropout", "keras.layers:Dropout", "Randomly sets a fraction of inputs to 0 during training.",
          {
              "rate": args.fraction("Fraction of the inputs to drop."),
              "noise_shape": args.shape("Shape of the binary dropout mask; null for the input's shape.", None),
              "seed": args.integer("Random seed; null follows the spec's seed.", None, minimum=0),
          },
          shorthand="rate"),
    Entry("flatten", "keras.layers:Flatten", "Flattens each example to one dimension.", {}),
]
