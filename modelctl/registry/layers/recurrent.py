"""Recurrent layers (simple RNN, LSTM, GRU) and the wrappers bidirectional and time_distributed."""

from modelctl.registry import args
from modelctl.registry.base import Entry
from modelctl.registry.layers import shared

WRAPPED_LAYER = "The layer to wrap, written like a layer item: `{lstm: {units: 32}}`."


def rnn_args(gated: bool) -> dict:
    """Arguments of simple_rnn (`gated` False), lstm and gru (`gated` True), in Keras's order."""
    arguments = {
        "units": args.integer("Size of the hidden state (and of the output at each step).", minimum=1),
        "activation": shared.activation("tanh", "the candidate state and output"),
    }
    if gated:
        arguments["recurrent_activation"] = shared.activation("sigmoid", "the gates")
    arguments.update({
        "use_bias": shared.use_bias(),
        **shared.weight_args({"kernel": ("glorot_uniform", "the input kernel"),
                              "recurrent": ("orthogonal", "the recurrent kernel"),
                              "bias": ("zeros", "the bias")}),
        "dropout": args.fraction("Fraction of the input units to drop at each step in training.", 0.0),
        "recurrent_dropout": args.fraction("Fraction of the recurrent state units to drop at each step in "
                                           "training (prevents the fast cuDNN kernel).", 0.0),
        "seed": shared.seed("the dropout masks"),
        "return_sequences": args.boolean("Whether to output the whole sequence of hidden states rather than "
                                         "only the last one.", False),
        "go_backwards": args.boolean("Whether to process the sequence backwards (the output sequence is then "
                                     "reversed too).", False),
        "unroll": args.boolean("Whether to unroll the loop: faster for short sequences, more memory; needs a "
                               "fixed sequence length.", False),
    })
    if gated:
        arguments["use_cudnn"] = args.choice(["auto", True, False], "Whether to use the fast cuDNN kernel on "
                                                                    "GPU: `auto` uses it when the arguments allow "
                                                                    "it.", "auto")
    return arguments


def _lstm_args() -> dict:
    arguments = rnn_args(gated=True)
    arguments["unit_forget_bias"] = args.boolean("Whether to add 1 to the forget gate's bias at initialization "
                                                 "(bias_initializer then becomes zeros).", True)
    return arguments


def _gru_args() -> dict:
    arguments = rnn_args(gated=True)
    arguments["reset_after"] = args.boolean("Whether the reset gate applies after the recurrent matrix "
                                            "multiplication (the cuDNN-compatible variant).", True)
    return arguments


def _meta(example: dict) -> dict:
    return {"example": {"args": example, "input_shape": [5, 3]}, "input_rank": 3}


ENTRIES = [
    Entry("simple_rnn", "keras.layers:SimpleRNN",
          "Fully connected recurrent layer: the output is fed back as the next step's state.",
          rnn_args(gated=False), shorthand="units", meta=_meta({"units": 4, "return_sequences": True})),
    Entry("lstm", "keras.layers:LSTM", "Long short-term memory recurrent layer.",
          _lstm_args(), shorthand="units", meta=_meta({"units": 4, "dropout": 0.1})),
    Entry("gru", "keras.layers:GRU", "Gated recurrent unit layer.",
          _gru_args(), shorthand="units", meta=_meta({"units": 4, "go_backwards": True})),
    Entry("bidirectional", "keras.layers:Bidirectional",
          "Runs a recurrent layer forwards and a copy of it backwards over the sequence and merges the outputs.",
          {
              "layer": args.ref("wrapped_layer", WRAPPED_LAYER),
              "merge_mode": args.choice(["concat", "sum", "mul", "ave"], "How the forward and backward outputs "
                                                                         "are combined.", "concat"),
          },
          meta=_meta({"layer": {"lstm": {"units": 4, "return_sequences": True}}, "merge_mode": "sum"})),
    Entry("time_distributed", "keras.layers:TimeDistributed",
          "Applies a layer to every step of a sequence separately (axis 1 of the input).",
          {"layer": args.ref("wrapped_layer", WRAPPED_LAYER)},
          meta={"example": {"args": {"layer": {"dense": {"units": 2}}}, "input_shape": [5, 3]}}),
]
