"""Ready-made blocks: a transformer encoder, positional embeddings, a residual block, pretrained backbones.

Each is one spec item in place of several layers; their Keras classes live in
`modelctl.model.blocks`.
"""

from modelctl.registry import args
from modelctl.registry.base import Entry

BACKBONE_ARCHITECTURES = [
    "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large", "resnet50", "resnet101",
    *[f"efficientnet_b{index}" for index in range(8)],
    "vgg16", "vgg19", "xception", "inception_v3", "densenet121", "densenet169", "densenet201",
    "convnext_tiny", "convnext_small",
]
"""The `keras.applications` networks `backbone` offers (kept equal to `modelctl.model.blocks.backbone.ARCHITECTURES`
by a test, so that reading the registry never imports Keras)."""


def _transformer_encoder_args() -> dict:
    return {
        "num_heads": args.integer("Number of attention heads.", minimum=1),
        "key_dim": args.integer("Size of each attention head's query and key vectors.", minimum=1),
        "ff_dim": args.integer("Width of the hidden layer of the feed-forward network.", minimum=1),
        "dropout": args.fraction("Fraction dropped from the attention weights and from each branch's output "
                                 "before it is added back.", 0.1),
        "activation": args.ref("activation", "Activation of the feed-forward hidden layer.", "relu"),
        "norm_first": args.boolean("Whether layer normalization comes before each branch (pre-norm, steadier "
                                   "when many blocks are stacked) instead of after each residual sum.", False),
        "epsilon": args.number("Small constant of the layer normalizations.", 1e-6, exclusive_minimum=0),
    }


def _positional_embedding_args() -> dict:
    return {
        "sequence_length": args.integer("The longest sequence the layer takes; shorter ones use the first "
                                        "positions.", minimum=1),
        "output_dim": args.integer("Size of each vector; without `input_dim` it must equal the input's last "
                                   "axis.", minimum=1),
        "mode": args.choice(["learned", "sinusoidal"],
                            "`learned`: a trained vector per position; `sinusoidal`: the fixed sine and cosine "
                            "encoding of the original transformer (no weights).", "learned"),
        "input_dim": args.integer("Vocabulary size: the input is then token ids in [0, input_dim), embedded "
                                  "before positions are added. Null when the input is already a sequence of "
                                  "vectors.", None, minimum=1),
        "mask_zero": args.boolean("With `input_dim`, whether token id 0 is padding, masked for the following "
                                  "layers (the vocabulary must then leave 0 unused).", False),
    }


def _residual_block_args() -> dict:
    return {
        "filters": args.integer("Number of output channels.", minimum=1),
        "kernel_size": args.int_or_tuple(2, "Size of both convolution windows: one integer or "
                                            "`[height, width]`.", 3),
        "strides": args.int_or_tuple(2, "Stride of the first convolution and of the shortcut; 2 halves the "
                                        "height and width.", 1),
        "activation": args.ref("activation", "Activation after the first convolution and after the sum.", "relu"),
        "batch_norm": args.boolean("Whether each convolution is followed by batch normalization.", True),
        "momentum": args.number("Momentum of the batch normalizations' moving mean and variance, used at "
                                "inference; lower it (0.9) when an epoch has few steps, so the moving statistics "
                                "keep up with training.", 0.99, minimum=0.0, maximum=1.0),
    }


def _backbone_args() -> dict:
    return {
        "architecture": args.choice(BACKBONE_ARCHITECTURES,
                                    "The `keras.applications` network. Pretrained weights expect each network's "
                                    "own pixel scale: efficientnet, convnext and mobilenet_v3 take [0, 255] and "
                                    "rescale themselves; mobilenet_v2, xception and inception_v3 take [-1, 1]; "
                                    "resnet and vgg take BGR [0, 255] minus the ImageNet channel means; densenet "
                                    "takes [0, 1] normalized by the ImageNet channel means and deviations."),
        "weights": args.any_of([{"const": "imagenet"}, {"type": "string", "pattern": r"\.h5$"}, {"type": "null"}],
                               "`imagenet` for weights pretrained on ImageNet (downloaded once into the Keras "
                               "cache, ~/.keras/models), the path of a local `.h5` or `.weights.h5` file "
                               "saved from the same architecture (relative to the working directory), or "
                               "null for random initial weights.", "imagenet"),
        "include_top": args.boolean("Whether to keep the 1000-class ImageNet classifier; it then needs the "
                                    "architecture's own input size (224x224 for most).", False),
        "pooling": args.choice(["avg", "max"], "Global pooling of the last feature map: `avg` or `max` give "
                                               "(batch, channels); null keeps (batch, h, w, channels). Only "
                                               "without the classifier (`include_top: false`).", None),
        "trainable": args.boolean("Whether every weight of the backbone is trained; false freezes it as a "
                                  "feature extractor.", False),
        "fine_tune_last": args.integer("With `trainable: false`, how many of the backbone's last layers to "
                                       "unfreeze for fine-tuning; batch normalization layers among them stay "
                                       "frozen.", 0, minimum=0),
    }


ENTRIES = [
    Entry("transformer_encoder", "modelctl.model.blocks.transformer:TransformerEncoder",
          "Transformer encoder block: multi-head self-attention and a feed-forward network, each with a residual "
          "connection, layer normalization and dropout; keeps the shape (batch, sequence, dim).",
          _transformer_encoder_args(),
          meta={"example": {"args": {"num_heads": 2, "key_dim": 4, "ff_dim": 16}, "input_shape": [6, 8]},
                "input_rank": 3}),
    Entry("positional_embedding", "modelctl.model.blocks.positional:PositionalEmbedding",
          "Adds a vector for each step's position to a sequence; with `input_dim` it first embeds token ids, "
          "the usual front of a text transformer.",
          _positional_embedding_args(),
          meta={"example": {"args": {"sequence_length": 6, "output_dim": 8, "input_dim": 20},
                            "input_shape": [6], "input_dtype": "int32"}}),
    Entry("residual_block", "modelctl.model.blocks.residual:ResidualConvBlock",
          "ResNet block for images: two convolutions with batch normalization and a shortcut (projected by a "
          "1x1 convolution when the shape changes) added to their output.",
          _residual_block_args(), shorthand="filters",
          meta={"example": {"args": {"filters": 8, "strides": 2}, "input_shape": [8, 8, 4]}, "input_rank": 4}),
    Entry("backbone", "modelctl.model.blocks.backbone:backbone",
          "A `keras.applications` image network such as mobilenet_v2 or resnet50, with ImageNet weights or not, "
          "frozen, fine-tuned in its last layers, or fully trained.",
          _backbone_args(), shorthand="architecture",
          meta={"example": {"args": {"architecture": "mobilenet_v2", "weights": None, "pooling": "avg"},
                            "input_shape": [32, 32, 3]},
                "input_rank": 4, "needs_input_shape": True}),
]
