"""The training registries match the Keras classes they build, and every entry builds and runs."""

from __future__ import annotations

import inspect
import math
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from modelctl.registry.callbacks import CALLBACKS
from modelctl.registry.exporters import EXPORTERS
from modelctl.registry.losses import LOSSES
from modelctl.registry.metrics import METRICS
from modelctl.registry.optimizers import OPTIMIZERS
from modelctl.registry.schedules import SCHEDULES, warmup_args

REGISTRIES = [OPTIMIZERS, SCHEDULES, LOSSES, METRICS, CALLBACKS, EXPORTERS]
ALL_ENTRIES = [entry for registry in REGISTRIES for entry in registry]
KERAS_ENTRIES = [entry for entry in ALL_ENTRIES if entry.target.startswith("keras.")]
LEFT_OUT = {"optimizer": {"name"}, "loss": {"name", "dtype", "reduction"}, "metric": {"name", "dtype"}}
"""Keras arguments each family leaves out on purpose (see the modules' docstrings)."""

LABEL_TYPES = {"binary", "categorical", "multi_label", "regression"}


def _id(entry) -> str:
    return entry.name


def _family(entry) -> str:
    return next(registry.family for registry in REGISTRIES if entry in list(registry))


def _same(a, b) -> bool:
    """Equal as a spec writes them: tuples as lists, and True never equal to 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return (list(a) if isinstance(a, tuple) else a) == (list(b) if isinstance(b, tuple) else b)


def test_entry_counts():
    assert (len(OPTIMIZERS), len(SCHEDULES), len(LOSSES), len(METRICS), len(CALLBACKS), len(EXPORTERS)) == \
           (10, 8, 21, 26, 5, 3)


def test_importing_the_registries_does_not_import_tensorflow():
    code = ("import sys\n"
            "import modelctl.registry.optimizers, modelctl.registry.schedules, modelctl.registry.losses\n"
            "import modelctl.registry.metrics, modelctl.registry.callbacks, modelctl.registry.exporters\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("entry", ALL_ENTRIES, ids=_id)
def test_arguments_are_documented_and_defaults_fit_their_schema(entry):
    assert "type" not in entry.args, "the schema adds `type`; entries must not declare it"
    for name, schema in entry.args.items():
        assert schema.get("description", "").strip(), f"{entry.name}.{name} has no description"
        if "default" in schema:
            Draft202012Validator(schema).validate(schema["default"])
    example = entry.meta.get("example")
    if entry.required:
        assert example is not None and set(entry.required) <= set(example)
    for name, value in (example or {}).items():
        Draft202012Validator(entry.args[name]).validate(value)


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=_id)
def test_arguments_and_defaults_match_keras(entry):
    parameters = inspect.signature(entry.load().__init__).parameters
    unknown = set(entry.args) - set(parameters)
    assert not unknown, f"{entry.name}: not arguments of {entry.target}: {sorted(unknown)}"
    keras_defaults = entry.meta.get("keras_defaults", {})
    for name, schema in entry.args.items():
        keras_default = parameters[name].default
        if keras_default is inspect.Parameter.empty:
            assert "default" not in schema, f"{entry.name}.{name} is required in Keras"
        elif name in keras_defaults:
            assert _same(keras_defaults[name], keras_default) and not _same(schema["default"], keras_default)
        else:
            assert _same(schema.get("default"), keras_default), \
                f"{entry.name}.{name}: default {schema.get('default')!r}, Keras {keras_default!r}"
    family = _family(entry)
    if family in LEFT_OUT:
        missing = set(parameters) - set(entry.args) - LEFT_OUT[family] - {"self", "kwargs"}
        assert not missing, f"{entry.name} does not offer Keras's {sorted(missing)}"


@pytest.mark.parametrize("entry", list(SCHEDULES), ids=_id)
def test_schedule_arguments_match_their_builder(entry):
    parameters = dict(inspect.signature(entry.load()).parameters)
    assert next(iter(parameters)) == "run"
    del parameters["run"]
    own = {name: schema for name, schema in entry.args.items() if name not in warmup_args()}
    assert list(own) == list(parameters)
    for name, schema in own.items():
        default = parameters[name].default
        assert schema.get("default", inspect.Parameter.empty) == default, f"{entry.name}.{name}"


@pytest.mark.parametrize("registry", [LOSSES, METRICS], ids=lambda registry: registry.family)
def test_label_meta(registry):
    for entry in registry:
        assert entry.meta["label_types"] and set(entry.meta["label_types"]) <= LABEL_TYPES, entry.name
        assert entry.meta.get("label_encoding", "value") in {"index", "one_hot", "value"}, entry.name
        if registry is LOSSES:
            assert "label_encoding" in entry.meta, entry.name
        if "alias_of" in entry.meta:
            original = registry.get(entry.meta["alias_of"])
            assert (entry.target, dict(entry.args)) == (original.target, dict(original.args))
            assert {**entry.meta, "alias_of": None} == {**original.meta, "alias_of": None}


def test_aliases():
    assert {entry.name: entry.meta["alias_of"] for entry in LOSSES if "alias_of" in entry.meta} == {
        "mse": "mean_squared_error", "mae": "mean_absolute_error", "mape": "mean_absolute_percentage_error",
        "msle": "mean_squared_logarithmic_error"}
    assert {entry.name: entry.meta["alias_of"] for entry in METRICS if "alias_of" in entry.meta} == {
        "mse": "mean_squared_error", "mae": "mean_absolute_error", "rmse": "root_mean_squared_error",
        "mape": "mean_absolute_percentage_error"}


def test_default_losses_fit_their_label_types():
    from modelctl.spec.checks import DEFAULT_LOSS

    for label_type, name in DEFAULT_LOSS.items():
        assert label_type in LOSSES.get(name).meta["label_types"]


def test_unknown_name_lists_the_known_ones():
    from modelctl.registry.base import UnknownNameError

    with pytest.raises(UnknownNameError) as error:
        OPTIMIZERS.get({"type": "adm"})
    assert str(error.value) == ("'adm' is not a known optimizer. Expected one of 'adadelta', 'adagrad', 'adam', "
                                "'adamax', 'adamw', 'ftrl', 'lion', 'nadam', 'rmsprop' or 'sgd'. Did you mean "
                                "'adam'?")


# Building and running: a small batch of labels and predictions for each way labels are written.

CLASSES = 6


def _batch(entry):
    """(labels, predictions) that fit the entry's label encoding and first label type."""
    import numpy as np

    probabilities = np.array([[0.1, 0.5, 0.1, 0.1, 0.1, 0.1], [0.7, 0.1, 0.05, 0.05, 0.05, 0.05],
                              [0.2, 0.2, 0.2, 0.2, 0.1, 0.1], [0.05, 0.05, 0.05, 0.05, 0.1, 0.7]], "float32")
    indices = np.array([1, 0, 3, 5])
    encoding = entry.meta.get("label_encoding", "value")
    if encoding == "index":
        return indices, probabilities
    if encoding == "one_hot":
        return np.eye(CLASSES, dtype="float32")[indices], probabilities
    if entry.meta["label_types"][0] == "regression":
        return (np.array([[1.0], [2.0], [3.0], [4.0]], "float32"),
                np.array([[1.5], [2.0], [2.5], [5.0]], "float32"))
    return np.array([[1.0], [0.0], [1.0], [0.0]], "float32"), np.array([[0.8], [0.3], [0.4], [0.1]], "float32")


def _build(entry):
    return entry.load()(**{**entry.defaults(), **entry.meta.get("example", {})})


@pytest.mark.parametrize("entry", list(OPTIMIZERS), ids=_id)
def test_optimizer_builds_and_steps(entry):
    import keras
    import numpy as np

    optimizer = _build(entry)
    variable = keras.Variable(np.ones((2,), "float32"))
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.array([0.5, -0.5], "float32")), variable)])
    assert int(optimizer.iterations) == 1
    assert np.all(variable.numpy() != 1.0)


@pytest.mark.parametrize("entry", list(LOSSES), ids=_id)
def test_loss_builds_and_computes(entry):
    labels, predictions = _batch(entry)
    value = float(_build(entry)(labels, predictions))
    assert math.isfinite(value)


@pytest.mark.parametrize("entry", list(METRICS), ids=_id)
def test_metric_builds_and_computes(entry):
    import numpy as np

    metric = _build(entry)
    metric.update_state(*_batch(entry))
    assert np.all(np.isfinite(np.asarray(metric.result())))


@pytest.mark.parametrize("entry", [entry for entry in CALLBACKS if entry.target.startswith("keras.")], ids=_id)
def test_keras_callback_builds(entry, tmp_path):
    paths = {name: str(tmp_path / name) for name in entry.meta.get("set_by_trainer", ())}
    callback = entry.load()(**entry.defaults(), **paths)
    assert type(callback).__name__ == entry.target.rpartition(":")[2]
