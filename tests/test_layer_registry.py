"""Every layer entry matches its Keras class: argument names, defaults, its example validates and builds."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest
from jsonschema import Draft202012Validator

from modelctl.registry.common import definitions
from modelctl.registry.layers import LAYERS

ENTRIES = list(LAYERS)
KERAS_ENTRIES = [entry for entry in ENTRIES if entry.target.startswith("keras.")]
META_KEYS = {"example", "inputs", "input_rank", "training_only", "needs_input_shape"}
"""Facts the builder reads; `needs_input_shape` is for blocks that are given their input's shape."""
POSITIONAL_INPUTS = {"multi_head_attention"}
"""Layers called as `layer(query, value, key)`; the other multi-input layers take a list."""


def ids(entries):
    return [entry.name for entry in entries]


def keras_parameters(entry) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(entry.load().__init__).parameters
    return {name: p for name, p in parameters.items() if name != "self" and p.kind is p.POSITIONAL_OR_KEYWORD}


def as_lists(value):
    """Keras writes sequence defaults as tuples, the schema as lists: compare them as lists."""
    if isinstance(value, (list, tuple)):
        return [as_lists(item) for item in value]
    return value


def same_default(entry, name: str, ours, theirs) -> bool:
    """Whether our default means the same as Keras's.

    Two spellings are allowed where Keras resolves both to the same object: activation
    `linear` for Keras's None, and initializer names Keras treats as aliases (`random_uniform`
    for `uniform`, `zeros` for `Zeros`).
    """
    if as_lists(ours) == as_lists(theirs):
        return True
    import keras

    ref = entry.args[name].get("$ref", "")
    if ref.endswith("/activation"):
        return keras.activations.get(ours) is keras.activations.get(theirs)
    if ref.endswith("/initializer"):
        ours, theirs = keras.initializers.get(ours), keras.initializers.get(theirs)
        return type(ours) is type(theirs) and ours.get_config() == theirs.get_config()
    return False


DEFS = {**definitions(), "wrapped_layer": {"type": "object", "minProperties": 1, "maxProperties": 1}}
"""The shared definitions; the spec schema builds `wrapped_layer` from the registry, stubbed here."""


def arg_validator(entry) -> Draft202012Validator:
    """A validator for an entry's argument mapping (the spec schema adds trainable and dtype)."""
    schema = {"type": "object", "properties": dict(entry.args), "required": list(entry.required),
              "additionalProperties": False, "$defs": DEFS}
    return Draft202012Validator(schema)


def keras_value(value):
    """What the builder passes to Keras for a plain value: lists become tuples."""
    if isinstance(value, list):
        return tuple(keras_value(item) for item in value)
    return value


def build_wrapped(written: dict):
    (kind, arguments), = written.items()
    entry = LAYERS.get(kind)
    return entry.load()(**{name: keras_value(value) for name, value in (arguments or {}).items()})


def keras_argument(entry, name: str, value):
    wraps = entry.args[name].get("$ref", "").endswith("/wrapped_layer")
    return build_wrapped(value) if wraps else keras_value(value)


def example_layer(entry):
    arguments = {name: keras_argument(entry, name, value) for name, value in entry.meta["example"]["args"].items()}
    return entry.load()(**arguments)


def example_shapes(entry) -> list[list]:
    example = entry.meta["example"]
    return example["input_shapes"] if "input_shapes" in example else [example["input_shape"]]


def test_registry_import_does_not_import_keras():
    code = ("import sys, modelctl.registry.layers as layers; "
            "assert len(layers.LAYERS) > 50; "
            "loaded = [name for name in ('keras', 'tensorflow') if name in sys.modules]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_entry_is_well_formed(entry):
    assert entry.description.endswith("."), entry.description
    for name, schema in entry.args.items():
        assert schema.get("description"), f"{entry.name}.{name} has no description"
    if entry.shorthand:
        # `- dropout: 0.2` fills only the shorthand, so no other argument may be required.
        assert entry.shorthand in entry.args and set(entry.required) <= {entry.shorthand}
    assert set(entry.meta) <= META_KEYS, set(entry.meta) - META_KEYS
    shapes = example_shapes(entry)
    low, high = entry.meta.get("inputs", [1, 1])
    assert low <= len(shapes) and (high is None or len(shapes) <= high)
    if "input_rank" in entry.meta:
        assert all(len(shape) + 1 == entry.meta["input_rank"] for shape in shapes)


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=ids(KERAS_ENTRIES))
def test_arguments_match_keras(entry):
    parameters = keras_parameters(entry)
    unknown = set(entry.args) - set(parameters)
    assert not unknown, f"{entry.name}: not parameters of {entry.target}: {sorted(unknown)}"
    missing = {name for name, p in parameters.items() if p.default is p.empty} - set(entry.args)
    assert not missing, f"{entry.name}: Keras requires {sorted(missing)}"
    for name, schema in entry.args.items():
        theirs = parameters[name].default
        if theirs is inspect.Parameter.empty:
            assert "default" not in schema, f"{entry.name}.{name} is required by Keras"
            continue
        assert "default" in schema, f"{entry.name}.{name} has the Keras default {theirs!r}"
        assert same_default(entry, name, schema["default"], theirs), \
            f"{entry.name}.{name}: default {schema['default']!r}, Keras has {theirs!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_example_and_defaults_validate(entry):
    errors = [f"{error.json_path}: {error.message}"
              for error in arg_validator(entry).iter_errors(entry.meta["example"]["args"])]
    assert not errors, errors
    for name, default in entry.defaults().items():
        validator = Draft202012Validator({**entry.args[name], "$defs": DEFS})
        assert validator.is_valid(default), f"{entry.name}.{name}: default {default!r} fails its own schema"


@pytest.mark.parametrize("entry", ENTRIES, ids=ids(ENTRIES))
def test_example_builds(entry):
    import keras

    dtype = entry.meta["example"].get("input_dtype", "float32")
    tensors = [keras.Input(shape=shape, dtype=dtype) for shape in example_shapes(entry)]
    layer = example_layer(entry)
    if len(tensors) == 1:
        output = layer(tensors[0])
    elif entry.name in POSITIONAL_INPUTS:
        output = layer(*tensors)
    else:
        output = layer(tensors)
    assert output.shape[0] is None


@pytest.mark.parametrize("entry", KERAS_ENTRIES, ids=ids(KERAS_ENTRIES))
def test_defaults_are_accepted_by_keras(entry):
    """Every default written out explicitly (as a spec may) is accepted by the Keras class."""
    example = entry.meta["example"]["args"]
    written = {**entry.defaults(), **{name: example[name] for name in entry.required}}
    entry.load()(**{name: keras_argument(entry, name, value) for name, value in written.items()})


AUGMENTATION_AND_PREPROCESSING = [entry for entry in KERAS_ENTRIES if entry.meta.get("training_only")
                                  or entry.target.startswith("keras.layers:Random")
                                  or entry.name in ("rescaling", "normalization", "resizing", "center_crop")]
PROBES = [-2, -1, -0.5, 0, 0.5, 1, 1.5, 2, [-1.5, 0.5], [-0.5, 1.5], [-1, 1], [0.2, 0.1], [0, 2]]
"""Values fed to every numeric argument: inside, at and beyond the usual bounds, and ranges."""
CHECKED_TOGETHER = {("normalization", "mean"), ("normalization", "variance")}
"""Arguments whose constraint spans several arguments, checked by `modelctl.spec.checks` (specs/invalid cases)."""


@pytest.mark.parametrize("entry", AUGMENTATION_AND_PREPROCESSING, ids=ids(AUGMENTATION_AND_PREPROCESSING))
def test_keras_accepts_every_value_the_schema_accepts(entry):
    """What `validate` lets through, Keras builds: each numeric argument of the example gets each probe value."""
    example = entry.meta["example"]["args"]
    refused = []
    for name, schema in entry.args.items():
        if (entry.name, name) in CHECKED_TOGETHER or not {"number", "integer"} & set(_types(schema)):
            continue
        for value in PROBES:
            written = {**example, name: value}
            if not arg_validator(entry).is_valid(written):
                continue
            try:
                entry.load()(**{key: keras_argument(entry, key, item) for key, item in written.items()})
            except (ValueError, TypeError, NotImplementedError) as error:
                refused.append(f"{name}={value!r}: {error}")
    assert refused == []


def _types(schema: dict) -> list[str]:
    kinds = schema.get("type", [])
    found = list(kinds) if isinstance(kinds, list) else [kinds]
    for option in schema.get("anyOf", []):
        found += _types(option) + _types(option.get("items", {}))
    return found
