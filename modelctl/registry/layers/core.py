"""Core layers: dense, dropout, activation, normalization and reshaping of features."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared


def dense_args() -> dict:
    return {
        "units": args.integer("Number of output units.", minimum=1),
        "activation": shared.activation(),
        "use_bias": shared.use_bias(),
        **shared.kernel_and_bias(),
        **shared.lora_args(),
    }


def _normalization_args(axis: dict) -> dict:
    """Arguments batch and layer normalization share, apart from the moving statistics."""
    return {
        "axis": axis,
        "epsilon": args.number("Small constant added to the variance to avoid dividing by zero.", 0.001,
                               exclusive_minimum=0),
        "center": args.boolean("Whether to add the learned offset `beta`.", True),
        "scale": args.boolean("Whether to multiply by the learned scale `gamma`.", True),
    }


def _batch_normalization_args() -> dict:
    renorm_clipping = args.obj({
        "rmax": args.number("Upper limit of `r`, the ratio of batch to moving standard deviation; null for no "
                            "limit.", None, minimum=0),
        "rmin": args.number("Lower limit of `r`.", 0.0, minimum=0),
        "dmax": args.number("Limit of `|d|`, the batch mean's shift from the moving mean in moving standard "
                            "deviations; null for no limit.", None, minimum=0),
    }, "Limits of the renormalization corrections `r` and `d`; null for none.", None)
    return {
        **_normalization_args(args.integer("Axis of the features to normalize (usually the channels axis, -1).",
                                           -1)),
        "momentum": args.number("Momentum of the moving mean and variance used at inference.", 0.99,
                                minimum=0, maximum=1),
        **shared.weight_args({"beta": ("zeros", "the offset beta"), "gamma": ("ones", "the scale gamma")},
                             activity=False),
        "moving_mean_initializer": args.ref("initializer", "Initializer of the moving mean.", "zeros"),
        "moving_variance_initializer": args.ref("initializer", "Initializer of the moving variance.", "ones"),
        "renorm": args.boolean("Whether to use batch renormalization, which corrects the batch statistics "
                               "towards the moving ones (helps with small or non-i.i.d. batches).", False),
        "renorm_clipping": renorm_clipping,
        "renorm_momentum": args.number("Momentum of the moving statistics used by renormalization.", 0.99,
                                       minimum=0, maximum=1),
        "synchronized": args.boolean("Whether to compute batch statistics across all replicas in distributed "
                                     "training.", False),
    }


def _layer_normalization_args() -> dict:
    return {
        **_normalization_args(shared.axes("Axis or axes to normalize over, per example.", -1)),
        **shared.weight_args({"beta": ("zeros", "the offset beta"), "gamma": ("ones", "the scale gamma")},
                             activity=False),
    }


def _embedding_args() -> dict:
    return {
        "input_dim": args.integer("Size of the vocabulary: inputs are integers in [0, input_dim).", minimum=1),
        "output_dim": args.integer("Size of each embedding vector.", minimum=1),
        # Keras's default is "uniform", its alias of random_uniform (same bounds -0.05 to 0.05).
        **shared.weight_args({"embeddings": ("random_uniform", "the embedding matrix")}, activity=False),
        "mask_zero": args.boolean("Whether index 0 is padding: it is masked for the following layers, so "
                                  "the vocabulary must then leave 0 unused.", False),
        **shared.lora_args(),
    }


ENTRIES = [
    Entry("dense", "keras.layers:Dense", "Fully connected layer: `activation(inputs @ kernel + bias)`.",
          dense_args(), shorthand="units",
          meta={"example": {"args": {"units": 3, "activation": "relu"}, "input_shape": [4]}}),
    Entry("dropout", "keras.layers:Dropout", "Randomly sets a fraction of inputs to 0 during training.",
          {
              "rate": shared.rate(),
              "noise_shape": args.shape("Shape of the binary dropout mask, batch dimension included; a null "
                                        "entry takes the input's size there (`[null, 1, 16]` drops whole "
                                        "features across time). Null for the input's shape.", None),
              "seed": shared.seed("the dropout mask"),
          },
          shorthand="rate",
          meta={"example": {"args": {"rate": 0.5}, "input_shape": [4]}, "training_only": True}),
    Entry("flatten", "keras.layers:Flatten", "Flattens each example to one dimension.",
          {"data_format": shared.data_format()},
          meta={"example": {"args": {}, "input_shape": [3, 4]}}),
    Entry("activation", "keras.layers:Activation", "Applies an activation function.",
          {"activation": args.ref("activation", "The activation function.")}, shorthand="activation",
          meta={"example": {"args": {"activation": "gelu"}, "input_shape": [4]}}),
    Entry("relu", "keras.layers:ReLU",
          "Rectified linear unit: `x` above `threshold`, `negative_slope * (x - threshold)` below, capped at "
          "`max_value`.",
          {
              "max_value": args.number("Largest output value; null for no cap.", None, minimum=0),
              "negative_slope": args.number("Slope below the threshold.", 0.0, minimum=0),
              "threshold": args.number("Input value below which the negative slope applies.", 0.0, minimum=0),
          },
          meta={"example": {"args": {"max_value": 6.0}, "input_shape": [4]}}),
    Entry("leaky_relu", "keras.layers:LeakyReLU", "Leaky rectified linear unit: `x` if positive, else "
                                                  "`negative_slope * x`.",
          {"negative_slope": args.number("Slope for negative inputs.", 0.3, minimum=0)},
          shorthand="negative_slope",
          meta={"example": {"args": {"negative_slope": 0.1}, "input_shape": [4]}}),
    Entry("elu", "keras.layers:ELU", "Exponential linear unit: `x` if positive, else `alpha * (exp(x) - 1)`.",
          {"alpha": args.number("Scale of the negative part.", 1.0)}, shorthand="alpha",
          meta={"example": {"args": {"alpha": 0.5}, "input_shape": [4]}}),
    Entry("prelu", "keras.layers:PReLU", "Parametric ReLU: `x` if positive, else `alpha * x` with a learned "
                                         "`alpha` per input value.",
          {
              # Keras writes the default as "Zeros", the class name of the same initializer.
              **shared.weight_args({"alpha": ("zeros", "the negative slopes alpha")}, activity=False),
              "shared_axes": args.integers("Axes (1 is the first after the batch) along which one alpha is "
                                           "shared, such as `[1, 2]` for one slope per channel of an image; "
                                           "null for one alpha per input value.", None, minimum=1),
          },
          meta={"example": {"args": {"shared_axes": [1]}, "input_shape": [3, 4]}}),
    Entry("softmax", "keras.layers:Softmax", "Softmax: turns values into probabilities that sum to 1 along an "
                                             "axis.",
          {"axis": shared.axes("Axis or axes the probabilities sum to 1 over.", -1)}, shorthand="axis",
          meta={"example": {"args": {"axis": -1}, "input_shape": [4]}}),
    Entry("batch_normalization", "keras.layers:BatchNormalization",
          "Normalizes features with the batch's mean and variance in training and moving averages of them at "
          "inference, then scales and shifts them.",
          _batch_normalization_args(),
          meta={"example": {"args": {"momentum": 0.9}, "input_shape": [4, 4, 3]}}),
    Entry("layer_normalization", "keras.layers:LayerNormalization",
          "Normalizes each example over its feature axes, then scales and shifts it.",
          _layer_normalization_args(),
          meta={"example": {"args": {"epsilon": 1e-6}, "input_shape": [5, 8]}}),
    Entry("reshape", "keras.layers:Reshape", "Reshapes each example to a new shape with the same number of "
                                             "values.",
          {"target_shape": args.integers("The new shape without the batch dimension; one entry may be -1 to "
                                         "take whatever size is left.", minimum=-1)},
          shorthand="target_shape",
          meta={"example": {"args": {"target_shape": [3, -1]}, "input_shape": [12]}}),
    Entry("permute", "keras.layers:Permute", "Reorders the axes of each example.",
          {"dims": args.integers("The new order of the axes, numbered from 1 (the batch axis stays first): "
                                 "`[2, 1]` swaps the first two.", minimum=1)},
          shorthand="dims",
          meta={"example": {"args": {"dims": [2, 1]}, "input_shape": [3, 4]}}),
    Entry("repeat_vector", "keras.layers:RepeatVector", "Repeats each feature vector `n` times, making a "
                                                        "sequence.",
          {"n": args.integer("Number of repetitions.", minimum=1)}, shorthand="n",
          meta={"example": {"args": {"n": 3}, "input_shape": [4]}, "input_rank": 2}),
    Entry("embedding", "keras.layers:Embedding", "Maps integer indices to learned dense vectors.",
          _embedding_args(),
          meta={"example": {"args": {"input_dim": 10, "output_dim": 4, "mask_zero": True}, "input_shape": [5],
                            "input_dtype": "int32"}}),
    Entry("identity", "keras.layers:Identity", "Returns its input unchanged (a named pass-through).", {},
          meta={"example": {"args": {}, "input_shape": [4]}}),
]
