"""The JSON Schema validator every part of a spec is checked with.

Draft 2020-12 counts `1.0` as an integer, since its value is whole. YAML reads `1.0`
as a float, and Keras refuses a float where it takes a count or a size (units,
filters, a shape), so modelctl counts as integers only numbers written without a
fraction. Booleans are not integers either, as in the draft.
"""

from __future__ import annotations

import functools


def _is_integer(checker, instance) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.lru_cache(maxsize=1)
def validator_class():
    """`Draft202012Validator` with integers written without a fraction."""
    from jsonschema import Draft202012Validator, validators

    checker = Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer)
    return validators.extend(Draft202012Validator, type_checker=checker)


def validator(schema: dict):
    """A validator of `schema` (see the module docstring for what counts as an integer)."""
    return validator_class()(schema)
