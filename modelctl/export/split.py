"""Converting a model, leaving out the string encoders a format cannot hold.

A converter reports the ops it cannot convert (`Unconvertible`); when all of
them lie in string encoders applied to inputs (`StringLookup`,
`TextVectorization`, `Hashing`), those encoders are cut off and conversion is
tried again from their outputs on. Ops in any other layer are an error that
names the layer.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from modelctl.export.errors import UnsupportedLayerError
from modelctl.export.graph import rebuild, string_encoders
from modelctl.export.locate import all_layer_names, by_layer

OUTSIDE = "(outside any layer)"


class Unconvertible(Exception):
    """Raised by a converter function: op name -> op type of each op it cannot convert."""

    def __init__(self, ops: dict[str, str]):
        self.ops = ops
        super().__init__(", ".join(sorted(set(ops.values()))))


@dataclasses.dataclass
class Converted:
    """The outcome: the model actually converted, what the converter returned and what was cut off.

    Args:
        model: the (possibly rebuilt) model that was converted.
        value: what `convert` returned.
        cut: feature -> encoder layer left outside.
        reasons: encoder layer name -> why it was left outside.
    """

    model: object
    value: object
    cut: dict
    reasons: dict[str, str]


def text_encoders(model, export_format: str) -> dict[str, str]:
    """Feature -> reason, for the TextVectorization layers that standardize or split strings.

    Neither TFLite builtins nor ONNX have the string ops these need (StringSplitV2, StaticRegexReplace,
    StringLower), so they are left outside from the start instead of after a conversion that fails on them.
    """
    found = {}
    for feature, layer in string_encoders(model).items():
        config = layer.get_config()
        if type(layer).__name__ == "TextVectorization" and (config.get("standardize") or config.get("split")):
            found[feature] = (f"{export_format} has no string ops to standardize and split text "
                              f"(standardize={config.get('standardize')!r}, split={config.get('split')!r})")
    return found


def convert_leaving_out(model, export_format: str, convert: Callable, *, cut_first: dict[str, str] | None = None,
                        replace: Callable | None = None, rebuild_always: bool = False, hint: str = "") -> Converted:
    """Call `convert(prepared_model)`, cutting off encoders whose ops it cannot convert.

    Args:
        model: the Keras model.
        export_format: format name for messages.
        convert: `convert(prepared_model, cut)` converts, raising `Unconvertible` for ops it lacks; `cut` maps
            feature -> encoder layer left outside so far.
        cut_first: feature -> reason, for encoders to leave outside from the start. Default: none.
        replace: layer replacement passed to `rebuild` (such as unrolling). Default: none.
        rebuild_always: rebuild the model even with nothing cut (so that `replace` applies).
        hint: what the user can do, appended to the error for layers that are not encoders.

    Raises:
        UnsupportedLayerError: ops the converter lacks lie outside the string encoders.
    """
    encoders = string_encoders(model)
    names = all_layer_names(model)
    cut = {feature: encoders[feature] for feature in (cut_first or {}) if feature in encoders}
    reasons = {encoders[feature].name: reason for feature, reason in (cut_first or {}).items() if feature in encoders}
    while True:
        prepared = rebuild(model, cut, replace) if (cut or rebuild_always) else model
        try:
            return Converted(prepared, convert(prepared, dict(cut)), cut, reasons)
        except Unconvertible as failure:
            culprits = by_layer(failure.ops, names)
        pending = {feature: layer for feature, layer in encoders.items()
                   if feature not in cut and layer.name in culprits}
        others = {name: ops for name, ops in culprits.items()
                  if name not in {layer.name for layer in pending.values()}}
        if others or not pending:
            raise UnsupportedLayerError(export_format, others or culprits, hint)
        for feature, layer in pending.items():
            cut[feature] = layer
            reasons[layer.name] = f"{export_format} cannot hold the ops {', '.join(culprits[layer.name])}"
