"""Text features: free text, tokenized by a vocabulary learned from the training split.

    features:
      review: {type: text, max_tokens: 20000, sequence_length: 200}           # token ids for an embedding
      review_words: {type: text, column: review, output_mode: tf_idf}          # a bag of words

The raw value is one string per example (shape ()). `TextVectorization` learns
the vocabulary (and idf weights for `tf_idf`) from the training split; inside
the model the same layer, named `<name>_vectorize`, gives `sequence_length`
token ids, or a bag of words padded to `max_tokens` so that the spec alone
fixes the model's input width. `predict` reads `.txt` files as one example each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from modelctl.util.lazy import numpy as np

from modelctl.errors import DataError
from modelctl.features.base import FeatureType, Fit, InputSpec, SourceView, one_column
from modelctl.features.values import strings
from modelctl.registry import args


def text_settings(options: dict) -> dict:
    """A text feature's settings from its spec options, defaults filled (from `TextFeature.schema`)."""
    options = TextFeature().with_defaults(options)
    return {key: options[key] for key in ("max_tokens", "standardize", "split", "ngrams", "output_mode",
                                          "sequence_length")}


def text_vocabulary(options: dict, texts: Iterable[np.ndarray]) -> dict:
    """A text feature's settings and the vocabulary `keras.layers.TextVectorization` learns from the training
    split's texts (and its idf weights for the `tf_idf` output mode)."""
    from modelctl.util.tf import tensorflow

    tf = tensorflow()
    import keras

    settings = text_settings(options)
    layer = keras.layers.TextVectorization(
        max_tokens=settings["max_tokens"],
        standardize=None if settings["standardize"] == "none" else settings["standardize"],
        split=settings["split"], ngrams=settings["ngrams"], output_mode=settings["output_mode"],
        output_sequence_length=settings["sequence_length"])
    texts = [values.astype(str) for values in texts]
    layer.adapt(tf.data.Dataset.from_tensor_slices(np.concatenate(texts) if texts else np.array([""])).batch(256))
    vocabulary = [str(token) for token in layer.get_vocabulary(include_special_tokens=False)]
    idf = None
    if settings["output_mode"] == "tf_idf":
        saved: dict = {}
        layer.save_own_variables(saved)
        idf = [float(value) for value in saved["idf_weights"][1:]]
    return {**settings, "vocabulary": vocabulary, "idf_weights": idf}


class TextFit(Fit):
    """Keeps the training split's texts for `TextVectorization.adapt`."""

    def __init__(self, item):
        super().__init__(item)
        self.texts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        self.texts.append(values)

    def fitted(self) -> dict:
        return {"type": "text", "column": self.item.columns[0], **text_vocabulary(self.item.options, self.texts)}


class TextFeature(FeatureType):
    """Free text; see the module docstring."""

    name = "text"
    description = "Free text, tokenized."
    documents = frozenset({".txt"})
    document_noun = "a text document"
    documents_noun = "text documents"

    def schema(self) -> dict:
        return {
            "max_tokens": args.integer("Largest vocabulary learned from the training split, and the width of a "
                                       "bag-of-words output (multi_hot, count, tf_idf).", 20000, minimum=2),
            "sequence_length": args.integer("Tokens kept per example (padded or cut); null with a bag-of-words "
                                            "output mode.", None, minimum=1),
            "ngrams": args.integer("Largest n-gram; null for single tokens.", None, minimum=1),
            "standardize": args.choice(["lower_and_strip_punctuation", "lower", "strip_punctuation", "none"],
                                       "Text normalization before splitting.", "lower_and_strip_punctuation"),
            "split": args.choice(["whitespace", "character"], "How text is split into tokens.", "whitespace"),
            "output_mode": args.choice(["int", "multi_hot", "count", "tf_idf"],
                                       "Token ids (for an embedding) or a bag of words.", "int"),
        }

    def fitter(self, item) -> Fit:
        return TextFit(item)

    def encode(self, item, feature, batch, *, numbers, on_bad_rows, skipped):
        return strings(one_column(batch, item))[:, 0], None

    def spec_fitted(self, name: str, options: dict, source: SourceView) -> tuple[dict, str]:
        settings = text_settings(options)
        return {"type": self.name, "output_mode": settings["output_mode"],
                "sequence_length": settings["sequence_length"], "max_tokens": settings["max_tokens"]}, ""

    def model_input(self, name: str, fitted: dict):
        if fitted["output_mode"] == "int":
            return InputSpec(name, (fitted["sequence_length"],), "int64")
        return InputSpec(name, (fitted["max_tokens"],))  # bag-of-words vectors are padded to max_tokens

    def raw_shape(self, fitted: dict) -> tuple[tuple, str]:
        return (), "string"

    def layers(self, name: str, fitted: dict, seed: int = 0) -> list:
        import keras

        standardize = None if fitted["standardize"] == "none" else fitted["standardize"]
        bag_of_words = fitted["output_mode"] != "int"
        # A bag of words is max_tokens wide whatever the vocabulary learned, so the spec alone fixes the model's
        # input width (see `model_input`).
        return [keras.layers.TextVectorization(
            max_tokens=fitted["max_tokens"] if bag_of_words else None, pad_to_max_tokens=bag_of_words,
            standardize=standardize, split=fitted["split"], ngrams=fitted["ngrams"],
            output_mode=fitted["output_mode"], output_sequence_length=fitted["sequence_length"],
            vocabulary=fitted["vocabulary"],
            idf_weights=fitted.get("idf_weights") if fitted["output_mode"] == "tf_idf" else None,
            name=f"{name}_vectorize")]

    def read_document(self, path: Path) -> str:
        """The file's text, decoded as UTF-8.

        Raises:
            DataError: the file is not valid UTF-8.
        """
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise DataError(f"cannot be decoded as utf-8: {error.reason}", file=path) from None

    def describe(self, fitted: dict, summary: dict | None = None) -> dict:
        return {"column": fitted["column"], "vocabulary_size": len(fitted["vocabulary"]),
                "vocabulary": fitted["vocabulary"][:10]}

    def attributions(self, attributions: np.ndarray, values: np.ndarray, fitted: dict, *, raw=None) -> dict:
        """`{"kind": "tokens", "total": 0.9, "tokens": [["motor", 0.02], ...], "padding": 0.0}`: the tokens in
        order (token ids), or each token present (bag-of-words modes); tokens outside the vocabulary show as
        `OOV_TOKEN`, and `padding` is what the padding positions were given."""
        flat = np.asarray(attributions, dtype=np.float64).reshape(-1)
        vocabulary = [str(token) for token in fitted["vocabulary"]]
        if fitted.get("output_mode", "int") == "int":
            table = ["", OOV_TOKEN, *vocabulary]
            ids = np.asarray(values).reshape(-1).astype(int)
            tokens = [[table[index] if index < len(table) else OOV_TOKEN, float(value)]
                      for index, value in zip(ids, flat) if index != 0]
            return {"kind": "tokens", "total": float(flat.sum()), "tokens": tokens,
                    "padding": float(flat[ids == 0].sum())}
        table = [OOV_TOKEN, *vocabulary]
        present = np.flatnonzero(np.asarray(values).reshape(-1))
        return {"kind": "tokens", "total": float(flat.sum()), "padding": 0.0,
                "tokens": [[table[index] if index < len(table) else OOV_TOKEN, float(flat[index])]
                           for index in present]}


OOV_TOKEN = "[UNK]"
"""How a token outside the vocabulary is shown (Keras's `TextVectorization` name for it)."""

__all__ = ["OOV_TOKEN", "TextFeature", "TextFit", "text_settings", "text_vocabulary"]
