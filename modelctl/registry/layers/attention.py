"""Attention layers. One input means self-attention; two or three are query, value and key."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared
from modelctl.registry.layers.shared import array

INPUTS = [1, 3]
"""query, value, key; a single input attends to itself and the key defaults to the value."""

EXAMPLE_SHAPES = [[6, 8], [4, 8]]


def _multi_head_args() -> dict:
    positive = {"type": "integer", "minimum": 1}
    return {
        "num_heads": args.integer("Number of attention heads.", minimum=1),
        "key_dim": args.integer("Size of each head's query and key projections.", minimum=1),
        "value_dim": args.integer("Size of each head's value projection; null uses `key_dim`.", None, minimum=1),
        "dropout": args.fraction("Fraction of the attention weights to drop in training.", 0.0),
        "use_bias": args.boolean("Whether the projections add bias vectors.", True),
        "output_shape": shared.options([positive, array(positive)],
                                       "Shape of each output position's features, without the batch and "
                                       "sequence axes; null projects back to the query's last dimension.", None),
        "attention_axes": shared.axes("Axes attention is computed over, such as `[2, 3]` for the height and "
                                      "width of an image; null for every axis but batch, heads and features.",
                                      None),
        "sliding_window": args.integer("Lets each query position attend only to key positions less than this "
                                       "far away (a banded mask); null for full attention.", None, minimum=1),
        "flash_attention": args.boolean("Whether to use flash attention; null uses it when the backend and "
                                        "inputs allow.", None),
        **shared.kernel_and_bias(),
        "use_gate": args.boolean("Whether to gate the attention output with a sigmoid projection of the query "
                                 "(gated attention).", False),
        "seed": shared.seed("the attention dropout"),
    }


ENTRIES = [
    Entry("multi_head_attention", "keras.layers:MultiHeadAttention",
          "Multi-head scaled dot-product attention with learned query, key, value and output projections.",
          _multi_head_args(),
          meta={"example": {"args": {"num_heads": 2, "key_dim": 4}, "input_shapes": EXAMPLE_SHAPES},
                "inputs": INPUTS}),
    Entry("attention", "keras.layers:Attention",
          "Dot-product (Luong-style) attention without projections: query and value share their last size.",
          {
              "use_scale": args.boolean("Whether to learn a scalar that scales the attention scores.", False),
              "score_mode": args.choice(["dot", "concat"], "How scores are computed: `dot` product of query and "
                                                           "key, or `concat` (tanh of their sum).", "dot"),
              "dropout": args.fraction("Fraction of the attention weights to drop in training.", 0.0),
              "seed": shared.seed("the attention dropout"),
          },
          meta={"example": {"args": {"use_scale": True}, "input_shapes": EXAMPLE_SHAPES}, "inputs": INPUTS}),
    Entry("additive_attention", "keras.layers:AdditiveAttention",
          "Additive (Bahdanau-style) attention without projections: query and value share their last size.",
          {
              "use_scale": args.boolean("Whether to learn a vector that scales the attention scores.", True),
              "dropout": args.fraction("Fraction of the attention weights to drop in training.", 0.0),
          },
          meta={"example": {"args": {"dropout": 0.1}, "input_shapes": EXAMPLE_SHAPES}, "inputs": INPUTS}),
]
