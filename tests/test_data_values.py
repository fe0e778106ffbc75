"""Values turned into text, labels and statistics a whole array at a time give what value-by-value code gives."""

from __future__ import annotations

import numpy as np
import pytest

from modelctl.data.columns import Columns, factorize, strings
from modelctl.data.errors import DataError
from modelctl.data.labels import label_encoder
from modelctl.features.numeric_steps import NumericFit, apply_numeric


def _one_by_one(values) -> list[str]:
    """The rule of `strings`, value by value."""
    texts = []
    for value in np.asarray(values).tolist():
        if value is None or (isinstance(value, float) and np.isnan(value)):
            texts.append("")
        elif isinstance(value, float) and value.is_integer():
            texts.append(str(int(value)))
        elif isinstance(value, bytes):
            texts.append(value.decode("utf-8", "replace"))
        else:
            texts.append(str(value))
    return texts


@pytest.mark.parametrize("values", [
    np.array([1.0, 2.5, np.nan, 1e20, -0.0, 1e-7, np.inf, 3.0, -12.0]),
    np.array([0.1, 2.0, np.nan], dtype=np.float32),
    np.array([1, 2, -3], dtype=np.int64),
    np.array([True, False]),
    np.array(["a", None, "b", ""], dtype=object),
    np.array(["x", "y"]),
    np.array([b"a", b"\xff"], dtype=object),
    np.array(["a", 1.5, None, np.nan, 2.0], dtype=object),
    np.array([], dtype=object),
])
def test_strings_and_factorize_give_each_value_as_text(values):
    texts = strings(values)
    assert texts.shape == (len(values), 1) and texts.dtype == object
    assert texts[:, 0].tolist() == _one_by_one(values)
    assert all(type(text) is str for text in texts[:, 0])
    codes, distinct = factorize(values)
    assert distinct[codes].tolist() == _one_by_one(values)


def _encoder(kind: str, **options):
    return label_encoder(Columns("y", kind, ("y",), {"type": kind, **options}))


def test_labels_are_encoded_a_distinct_value_at_a_time():
    numbers = np.arange(1, 7)
    categorical = _encoder("categorical")
    categorical.observe(np.array([3, 1, 2, 1]))
    categorical.finish()
    assert categorical.classes == ["1", "2", "3"]
    assert categorical.encode(np.array([3, 3, 1, 2, 1, 2]), numbers).tolist() == [2, 2, 0, 1, 0, 1]
    with pytest.raises(DataError, match=r"^example 5: column 'y': label 'y' has value '7', which"):
        categorical.encode(np.array([3, 3, 1, 2, 7, 8]), numbers)
    multi = _encoder("multi_label", classes=["a", "b", "c"])
    targets = multi.encode(np.array(["a|c", "", "b", "c|a|c", None, "b"], dtype=object)[[0, 2, 3, 5]], numbers[:4])
    assert targets.tolist() == [[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 0]]
    with pytest.raises(DataError, match=r"^example 2: column 'y': label 'y' is missing$"):
        multi.encode(np.array(["a", None], dtype=object), numbers[:2])
    binary = _encoder("binary")
    binary.observe(np.array(["yes", "no", "Yes"], dtype=object))
    binary.finish()
    assert binary.encode(np.array(["Yes", "no", "YES", "no"], dtype=object), numbers[:4]).tolist() == [1, 0, 1, 0]
    with pytest.raises(DataError, match=r"^example 3: column 'y': label 'y' has value 'true', which is not one of "
                                        r"its classes: 'no', 'yes'"):
        binary.encode(np.array(["yes", "no", "true"], dtype=object), numbers[:3])


def test_a_value_outside_learned_classes_is_reported_after_the_training_split_is_seen():
    encoder = _encoder("categorical")
    encoder.survey(np.array(["a", "b", "z", "a"], dtype=object), np.array([1, 2, 3, 4]))
    encoder.survey(np.array(["w", "z"], dtype=object), np.array([5, 6]))
    encoder.observe(np.array(["a", "b"], dtype=object))
    encoder.finish()
    with pytest.raises(DataError, match=r"^example 3: column 'y': label 'y' has value 'z'"):
        encoder.check_seen()


@pytest.mark.parametrize("options", [
    {"preprocessing": ["standardize", {"clip": {"min": -1.0}}, "min_max"]},
    {"missing": {"strategy": "mean"}, "preprocessing": ["log", {"rescale": 2.0}, "standardize"]},
    {"missing": {"strategy": "median"}, "preprocessing": ["min_max"]},
    {"missing": {"strategy": "constant", "value": -1}, "preprocessing": ["standardize", "min_max"]},
])
def test_numeric_statistics_equal_those_of_the_whole_transformed_split(options):
    rng = np.random.default_rng(1)
    data = rng.uniform(0.5, 10, size=(500, 3)).astype(np.float32)
    if "missing" in options:
        data[rng.random(data.shape) < 0.1] = np.nan
    fit = NumericFit(options, 3)
    passes = 0
    while not fit.done:
        passes += 1
        for start in range(0, 500, 64):
            fit.add(data[start:start + 64])
        fit.end_pass()
    assert passes == sum(1 for step in fit.steps if step["op"] in ("standardize", "min_max"))
    values = data
    for index, step in enumerate(fit.steps):
        if step["op"] == "standardize":
            np.testing.assert_allclose(step["mean"], values.astype(np.float64).mean(axis=0), rtol=1e-6)
            np.testing.assert_allclose(step["std"], values.astype(np.float64).std(axis=0), rtol=1e-5)
        elif step["op"] == "min_max":
            np.testing.assert_allclose(step["min"], values.min(axis=0), rtol=1e-6)
            np.testing.assert_allclose(step["max"], values.max(axis=0), rtol=1e-6)
        elif step["op"] == "fill" and options["missing"]["strategy"] != "constant":
            statistic = np.nanmedian if options["missing"]["strategy"] == "median" else np.nanmean
            np.testing.assert_allclose(step["values"], statistic(data.astype(np.float64), axis=0), rtol=1e-6)
        values = apply_numeric([step], values)


def test_a_tf_idf_text_feature_keeps_one_weight_per_token():
    from modelctl.features.text import text_vocabulary

    fitted = text_vocabulary({"output_mode": "tf_idf", "max_tokens": 10},
                             [np.array(["a b c", "a b", "a"], dtype=object)])
    assert fitted["vocabulary"][:1] == ["a"]
    assert len(fitted["idf_weights"]) == len(fitted["vocabulary"])
    assert fitted["idf_weights"][0] < fitted["idf_weights"][-1]
