"""Feature types and label types as classes: each one's schema fragment is in the spec schema, it fits on a
training stream, encodes raw values, gives the model input the core model takes, and its Keras layers survive a
save and reload."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelctl.data.columns import Columns
from modelctl.data.errors import DataError
from modelctl.features import BUILT_IN, LABEL_TYPES, feature_type, feature_types, label_type
from modelctl.features.base import FeatureType
from modelctl.model.inputs import InputSpec
from modelctl.registry.base import UnknownNameError
from modelctl.spec.schema import build_schema


LAYERS = {"numeric": [("x_preprocess", "NumericPreprocessing")], "categorical": [("x_lookup", "StringLookup")],
          "text": [("x_vectorize", "TextVectorization")], "image": [("x_preprocess", "NumericPreprocessing")]}
"""The preprocessing layers of feature `x` of each type, after its input."""

FITTED_KEYS = {
    "numeric": ["type", "columns", "width", "shape", "augmentation", "steps"],
    "categorical": ["type", "column", "vocabulary", "num_oov_indices", "output_mode"],
    "text": ["type", "column", "max_tokens", "standardize", "split", "ngrams", "output_mode", "sequence_length",
             "vocabulary", "idf_weights"],
    "image": ["type", "column", "size", "channels", "steps", "augmentation"],
}
"""The layout of each type's entry in a run's preprocessing.json, which runs of earlier releases hold."""


def _fit(kind: str, options: dict, values: np.ndarray, columns=("x",)) -> dict:
    """Fit a feature of type `kind` on `values` (the raw column of one batch) as training does."""
    item = Columns("x", kind, tuple(columns), {"type": kind, **options})
    encoded, _ = feature_type(kind).encode(item, item.options, {column: values for column in columns},
                                          numbers=np.arange(1, len(values) + 1), on_bad_rows="error", skipped={})
    fit = feature_type(kind).fitter(item)
    while not fit.done:
        fit.add(encoded)
        fit.end_pass()
    return fit.fitted()


def _image(path: Path, colour: tuple[int, int, int]) -> str:
    Image.new("RGB", (6, 4), colour).save(path)
    return str(path)


def _cases(tmp_path: Path) -> dict:
    """Feature type -> (spec options, raw column values, expected model input)."""
    images = np.array([_image(tmp_path / f"{index}.png", (index * 40, 10, 200)) for index in range(3)],
                      dtype=object)
    return {
        "numeric": ({"preprocessing": ["standardize"]}, np.array([1.0, 2.0, 3.0, 6.0]), InputSpec("x", (1,))),
        "categorical": ({}, np.array(["red", "blue", "red", "green"], dtype=object), InputSpec("x", (4,))),
        "text": ({"sequence_length": 5}, np.array(["a good day", "a bad day", "good"], dtype=object),
                 InputSpec("x", (5,), "int64")),
        "image": ({"size": [2, 3], "preprocessing": [{"rescale": 0.5}]}, images, InputSpec("x", (2, 3, 3))),
    }


def test_the_built_in_types_are_found_by_name_in_order():
    assert feature_types()[:4] == list(BUILT_IN) == ["numeric", "categorical", "text", "image"]
    assert all(isinstance(feature_type(name), FeatureType) and feature_type(name).name == name for name in BUILT_IN)
    assert [label_type(name).name for name in LABEL_TYPES] == list(LABEL_TYPES)


def test_an_unknown_type_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as raised:
        feature_type("txt")
    assert str(raised.value) == ("'txt' is not a known feature type. Expected one of 'categorical', 'image', "
                                 "'numeric' or 'text'. Did you mean 'text'?")


@pytest.mark.parametrize("kind", BUILT_IN)
def test_each_feature_schema_fragment_is_in_the_spec_schema(kind):
    feature = build_schema()["$defs"]["feature"]
    assert kind in feature["properties"]["type"]["enum"]
    [branch] = [branch for branch in feature["allOf"] if branch["if"]["properties"]["type"]["const"] == kind]
    allowed = branch["then"]["properties"]
    assert set(allowed) == {"type", "column", "description", *feature_type(kind).schema()}
    assert allowed["type"] == {"const": kind}


@pytest.mark.parametrize("kind", LABEL_TYPES)
def test_each_label_schema_fragment_is_in_the_spec_schema(kind):
    label = build_schema()["$defs"]["label"]
    [branch] = [branch for branch in label["allOf"] if branch["if"]["properties"]["type"]["const"] == kind]
    assert set(branch["then"]["properties"]) == {"type", "column", "description", *label_type(kind).schema()}


@pytest.mark.parametrize("kind", BUILT_IN)
def test_each_feature_fits_gives_its_input_and_raw_shape(kind, tmp_path):
    options, values, expected = _cases(tmp_path)[kind]
    fitted = _fit(kind, options, values)
    assert list(fitted) == FITTED_KEYS[kind]
    assert feature_type(kind).model_input("x", fitted) == expected
    shape, _ = feature_type(kind).raw_shape(fitted)
    item = Columns("x", kind, ("x",), {"type": kind, **options})
    encoded, keep = feature_type(kind).encode(item, fitted, {"x": values}, numbers=np.arange(1, len(values) + 1),
                                              on_bad_rows="error", skipped={})
    assert encoded.shape == (len(values), *shape)
    assert keep is None or keep.all()


def test_numeric_fit_and_encode():
    fitted = _fit("numeric", {"preprocessing": ["standardize"], "missing": {"strategy": "mean"}},
                  np.array([1.0, np.nan, 3.0]))
    assert fitted == {"type": "numeric", "columns": ["x"], "width": 1, "shape": None, "augmentation": [],
                      "steps": [{"op": "fill", "values": [2.0]},
                                {"op": "standardize", "mean": [2.0], "std": [pytest.approx(np.sqrt(2 / 3))]}]}
    item = Columns("x", "numeric", ("x",), {"type": "numeric"})
    with pytest.raises(DataError) as raised:
        feature_type("numeric").encode(item, item.options, {"x": np.array([1.0, np.nan])}, numbers=np.array([7, 8]),
                                       on_bad_rows="error", skipped={})
    assert str(raised.value) == ("example 8: column 'x': numeric feature 'x' has a missing value; set `missing: "
                                 "{strategy: mean}` (or median, constant, drop) to fill or drop missing values")


def test_categorical_fit_and_encode():
    fitted = _fit("categorical", {"max_tokens": 2}, np.array(["red", "blue", "red", 3.0], dtype=object))
    assert fitted == {"type": "categorical", "column": "x", "vocabulary": ["red", "3"], "num_oov_indices": 1,
                      "output_mode": "one_hot"}
    item = Columns("x", "categorical", ("x",), {"type": "categorical"})
    encoded, keep = feature_type("categorical").encode(item, fitted, {"x": np.array([2, None], dtype=object)},
                                                       numbers=np.array([1, 2]), on_bad_rows="error", skipped={})
    assert encoded.tolist() == [["2"], [""]] and keep is None


def test_image_encode_skips_a_file_that_cannot_be_decoded(tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    paths = np.array([_image(tmp_path / "good.png", (255, 0, 0)), str(tmp_path / "bad.png")], dtype=object)
    item = Columns("x", "image", ("x",), {"type": "image", "size": [4, 6], "channels": 1})
    skipped: dict[str, int] = {}
    images, keep = feature_type("image").encode(item, item.options, {"x": paths}, numbers=np.array([1, 2]),
                                                on_bad_rows="skip", skipped=skipped)
    assert images.shape == (2, 4, 6, 1) and keep.tolist() == [True, False]
    assert skipped == {"image cannot be decoded": 1}


@pytest.mark.parametrize("kind", BUILT_IN)
def test_each_feature_layers_survive_save_and_reload(kind, tmp_path):
    import keras

    from modelctl.model.preprocessing import predict_raw

    options, values, expected = _cases(tmp_path)[kind]
    fitted = _fit(kind, options, values)
    item = Columns("x", kind, ("x",), {"type": kind, **options})
    encoded, _ = feature_type(kind).encode(item, fitted, {"x": values}, numbers=np.arange(1, len(values) + 1),
                                           on_bad_rows="error", skipped={})
    raw = feature_type(kind).raw_input("x", fitted)
    tensor = raw
    for layer in feature_type(kind).layers("x", fitted):
        tensor = layer(tensor)
    assert tuple(tensor.shape[1:]) == expected.shape
    model = keras.Model({"x": raw}, tensor)
    # Saved models of earlier runs name these layers and classes: they stay as they are.
    assert [(layer.name, type(layer).__name__) for layer in model.layers[1:]] == LAYERS[kind]
    path = tmp_path / "model.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    before = predict_raw(model, {"x": encoded})
    np.testing.assert_allclose(predict_raw(again, {"x": encoded}), before)
    assert before.shape == (len(values), *expected.shape)


@pytest.mark.parametrize("kind, values, targets", [
    ("binary", ["yes", "no", "Yes"], [1.0, 0.0, 1.0]),
    ("categorical", ["b", "a", "b"], [1, 0, 1]),
    ("multi_label", ["a|b", "b", "a"], [[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]),
    ("regression", [1.5, 2.0, -1.0], [1.5, 2.0, -1.0]),
])
def test_each_label_learns_and_encodes(kind, values, targets):
    encoder = label_type(kind)(Columns("y", kind, ("y",), {"type": kind}))
    column = np.array(values, dtype=object if isinstance(values[0], str) else np.float64)
    encoder.fit([{"y": column}])
    assert encoder.encode(column, np.arange(1, 4)).tolist() == targets
    shape, dtype = encoder.spec()
    assert np.asarray(encoder.encode(column, np.arange(1, 4))).shape[1:] == shape


def test_label_predictions_name_classes_and_probabilities():
    assert label_type("binary").predictions("y", np.array([0.8]), ["no", "yes"]) == \
        {"y": "yes", "y_probability": 0.8}
    assert label_type("categorical").predictions("y", np.array([0.1, 0.9]), ["a", "b"]) == \
        {"y": "b", "y_a": 0.1, "y_b": 0.9}
    assert label_type("multi_label").predictions("y", np.array([0.6, 0.7]), ["a", "b"]) == \
        {"y": "a|b", "y_a": 0.6, "y_b": 0.7}
    assert label_type("regression").predictions("y", np.array([2.5]), []) == {"y": 2.5}
