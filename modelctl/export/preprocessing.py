"""Preprocessing steps left outside an artifact: what they do, as JSON, and running them for verification.

An artifact that cannot hold a string encoder takes its output instead; the
file `<artifact>.preprocessing.json` beside it tells the app how to compute
that output:

    {"format": "tflite", "steps": [{"feature": "color", "layer": "color_lookup", "class": "StringLookup",
      "vocabulary": ["[UNK]", "red", "green", "blue"], "num_oov_indices": 1, "output_mode": "one_hot",
      "encoded": {"shape": [null, 4], "dtype": "float32"}, ...}]}

`vocabulary` lists tokens by index: token `vocabulary[i]` encodes to index i
(mask and out-of-vocabulary tokens included, as Keras's `get_vocabulary()` gives them).
"""

from __future__ import annotations

import numpy as np

from modelctl.export.artifact import SkippedStep

STRIP_PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
"""The regular expression Keras's TextVectorization removes for `*strip_punctuation` standardization."""

_LEFT_OUT_OF_CONFIG = ("name", "trainable", "dtype", "vocabulary", "idf_weights", "sparse", "ragged")


def describe(layer) -> dict:
    """A JSON-ready description of an encoder layer: its class, configuration and full vocabulary."""
    config = {key: value for key, value in layer.get_config().items() if key not in _LEFT_OUT_OF_CONFIG}
    for key, value in list(config.items()):
        if callable(value) or isinstance(value, dict):
            config[key] = f"custom ({getattr(value, '__name__', type(value).__name__)}); not describable"
    description = {"class": type(layer).__name__, **config}
    if hasattr(layer, "get_vocabulary"):
        description["vocabulary"] = [str(token) for token in layer.get_vocabulary()]
        lookup = dict(config)
        if type(layer).__name__ == "TextVectorization":  # its inner StringLookup masks "" in int mode
            lookup.update(num_oov_indices=1, mask_token="" if config.get("output_mode") == "int" else None)
        description["out_of_vocabulary_rule"] = _oov_rule(lookup)
    if type(layer).__name__ == "Hashing":
        description["hash_rule"] = ("FarmHash64 of the UTF-8 bytes modulo num_bins (tf.strings.to_hash_bucket_fast)"
                                    if config.get("salt") is None else
                                    "SipHash-2-4 keyed by `salt`, modulo num_bins (tf.strings.to_hash_bucket_strong)")
    if type(layer).__name__ == "TextVectorization":
        standardize = config.get("standardize")
        description["standardize_steps"] = _standardize_steps(standardize)
        description["split_rule"] = {
            "whitespace": "split on runs of whitespace, dropping leading and trailing whitespace",
            "character": "split into Unicode characters",
            None: "no split: each string is one token",
        }.get(config.get("split"), config.get("split"))
        if config.get("output_mode") == "int":
            description["padding"] = ("token ids are padded with 0 (the mask) or truncated to "
                                      f"output_sequence_length={config.get('output_sequence_length')}")
    idf = getattr(layer, "idf_weights", None)
    if idf is not None and config.get("output_mode") == "tf_idf":
        description["idf_weights"] = np.asarray(idf).tolist()
    return description


def _oov_rule(config: dict) -> str:
    oov_indices = config.get("num_oov_indices", 1)
    first = 1 if config.get("mask_token") is not None and config.get("output_mode") == "int" else 0
    if oov_indices == 0:
        return "none: every token must be in the vocabulary"
    if oov_indices == 1:
        return f"unknown tokens give index {first}"
    if config.get("salt") is not None:
        hashed = "SipHash-2-4 keyed by `salt` (tf.strings.to_hash_bucket_strong)"
    else:
        hashed = "FarmHash64 (tf.strings.to_hash_bucket_fast)"
    return f"unknown tokens give index {first} + ({hashed} of the token mod {oov_indices})"


def _standardize_steps(standardize) -> list[str]:
    steps = []
    if standardize in ("lower", "lower_and_strip_punctuation"):
        steps.append("lowercase (Unicode)")
    if standardize in ("strip_punctuation", "lower_and_strip_punctuation"):
        steps.append(f"remove every match of the regular expression {STRIP_PUNCTUATION}")
    if standardize is None:
        steps.append("none")
    elif not steps:
        steps.append(str(standardize))
    return steps


def skipped_steps(encoders: dict, reasons: dict[str, str]) -> list[SkippedStep]:
    """SkippedStep for each feature -> encoder layer, with the reason by layer name."""
    steps = []
    for feature, layer in encoders.items():
        output = layer.output
        steps.append(SkippedStep(feature=feature, layer=layer.name, description=describe(layer),
                                 reason=reasons.get(layer.name, ""), shape=(None, *output.shape[1:]),
                                 dtype=str(output.dtype)))
    return steps


def document(export_format: str, steps: list[SkippedStep]) -> dict:
    """The content of `<artifact>.preprocessing.json`."""
    return {
        "format": export_format,
        "note": "These steps are not inside the artifact: run them in the app and feed their output to the "
                "artifact's input of the same name (shape and dtype under `encoded`).",
        "steps": [{"feature": step.feature, "layer": step.layer, "reason": step.reason,
                   "encoded": {"shape": list(step.shape), "dtype": step.dtype}, **step.description}
                  for step in steps],
    }


def encode(examples: dict[str, np.ndarray], encoders: dict, dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """Run the left-out encoders on raw examples; other features pass through unchanged.

    Args:
        examples: feature -> raw values.
        encoders: feature -> encoder layer (only the left-out ones).
        dtypes: feature -> the dtype the artifact's input takes.
    """
    if not encoders:  # nothing to run: no TensorFlow import (`modelctl serve` on an ONNX model starts without it)
        return dict(examples)
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    encoded = dict(examples)
    for feature, layer in encoders.items():
        values = layer(tf.convert_to_tensor(examples[feature]))
        encoded[feature] = np.asarray(values).astype(dtypes[feature])
    return encoded
