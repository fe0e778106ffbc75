"""Several trained models as one Keras model whose outputs combine theirs.

    model = ensemble_model([first, second, third], method="weighted", weights=[0.5, 0.3, 0.2],
                           votes={"species": "argmax"})

Each member is a model `modelctl train` saved (raw features in, its preprocessing inside), so the ensemble
is a functional model: one raw `keras.Input` per feature, shared by every member (each a nested model named
`member_1`, `member_2`, ...), then one `Combine` layer per output, named after the output:

    method     each output is
    mean       the mean of the members' outputs
    weighted   the weighted sum of the members' outputs (weights >= 0, summing to 1)
    vote       the share of members voting for each class: a member votes for its highest-scoring class
               (`argmax`, categorical labels), or for every class it scores at least 0.5 (`threshold`,
               binary and multi-label); classification only

`Combine` is registered with `keras.saving`, so a saved ensemble reloads with `modelctl.load_model` or
`keras.saving.load_model` in any process that imported this module (`modelctl.model.saving` does).
"""

from __future__ import annotations

from modelctl.util.tf import tensorflow

tensorflow()
import keras  # noqa: E402  (after the quiet TensorFlow import)
from keras import ops  # noqa: E402

METHODS = ("mean", "weighted", "vote")
"""The ways `Combine` merges the members' outputs."""

VOTES = ("argmax", "threshold")
"""How a member votes with `method="vote"`: for its highest-scoring class, or for every class scored >= 0.5."""


def member_name(index: int) -> str:
    """The layer name of member `index` (0-based) inside an ensemble: `member_1`, `member_2`, ..."""
    return f"member_{index + 1}"


@keras.saving.register_keras_serializable(package="modelctl")
class Combine(keras.layers.Layer):
    """Merges a list of same-shaped member outputs into one output.

    Args:
        method: one of `METHODS`: "mean" (default), "weighted" or "vote".
        member_weights: with "weighted", one weight per member, each >= 0, summing to 1; default None
            (required by "weighted", refused by the others).
        vote: with "vote", one of `VOTES`: "argmax" (default; one class per example, categorical outputs) or
            "threshold" (each class scored >= 0.5; binary and multi-label outputs).

    Raises:
        ValueError: an unknown method or vote, or weights that do not fit the method.
    """

    def __init__(self, method: str = "mean", member_weights: list[float] | None = None, vote: str = "argmax",
                 **kwargs):
        super().__init__(**kwargs)
        if method not in METHODS:
            raise ValueError(f"Invalid value for argument `method`. Expected one of {METHODS}. Received: "
                             f"method={method!r}")
        if vote not in VOTES:
            raise ValueError(f"Invalid value for argument `vote`. Expected one of {VOTES}. Received: vote={vote!r}")
        if (method == "weighted") != (member_weights is not None):
            raise ValueError(f"`member_weights` go with method='weighted' only. Received: method={method!r}, "
                             f"member_weights={member_weights!r}")
        self.method = method
        self.member_weights = None if member_weights is None else [float(weight) for weight in member_weights]
        self.vote = vote

    def call(self, inputs):
        stacked = ops.stack([ops.cast(tensor, "float32") for tensor in inputs], axis=0)
        if self.method == "vote":
            if self.vote == "argmax":
                # The first highest score of each member, without argmax: Keras's argmax on TensorFlow bitcasts
                # its input (to order -0.0 before 0.0), which neither TFLite builtins nor tf2onnx convert.
                highest = ops.cast(ops.equal(stacked, ops.max(stacked, axis=-1, keepdims=True)), "float32")
                votes = highest * ops.cast(ops.equal(ops.cumsum(highest, axis=-1), 1.0), "float32")
            else:
                votes = ops.cast(ops.greater_equal(stacked, 0.5), "float32")
            return ops.mean(votes, axis=0)
        if self.method == "weighted":
            if len(self.member_weights) != len(inputs):
                raise ValueError(f"Combine has {len(self.member_weights)} member weights and received "
                                 f"{len(inputs)} inputs")
            weights = ops.reshape(ops.convert_to_tensor(self.member_weights, dtype="float32"),
                                  (len(inputs),) + (1,) * (len(stacked.shape) - 1))
            return ops.sum(stacked * weights, axis=0)
        return ops.mean(stacked, axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "method": self.method, "member_weights": self.member_weights,
                "vote": self.vote}


def ensemble_model(members: list, *, method: str = "mean", weights: list[float] | None = None,
                   votes: dict[str, str] | None = None, output_names: list[str], name: str = "ensemble"):
    """One functional model feeding the same raw inputs to every member and combining their outputs.

    Args:
        members: loaded member models with the same inputs (names, dtypes, shapes) and outputs (structure and
            shapes); they are renamed `member_1`, `member_2`, ... (see `member_name`).
        method: one of `METHODS`; default "mean".
        weights: with "weighted", one weight per member, >= 0 and summing to 1; default None.
        votes: with "vote", output name -> one of `VOTES`; default None.
        output_names: the names of the outputs, in the order of the members' outputs (one per label).
        name: the model's name; default "ensemble".
    """
    inputs = {tensor.name: keras.Input(shape=tuple(tensor.shape[1:]), dtype=tensor.dtype, name=tensor.name)
              for tensor in members[0].inputs}
    outputs = []
    for index, member in enumerate(members):
        member.name = member_name(index)
        result = member(inputs)
        outputs.append(list(result.values()) if isinstance(result, dict) else
                       list(result) if isinstance(result, (list, tuple)) else [result])
    combined = {}
    for position, output in enumerate(output_names):
        layer = Combine(method=method, member_weights=weights,
                        vote=(votes or {}).get(output, "argmax"), name=output)
        combined[output] = layer([parts[position] for parts in outputs])
    result = combined if len(combined) > 1 else next(iter(combined.values()))
    return keras.Model(inputs=inputs, outputs=result, name=name)


__all__ = ["METHODS", "VOTES", "Combine", "ensemble_model", "member_name"]
