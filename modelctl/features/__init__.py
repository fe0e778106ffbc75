"""Feature types and label types: one class per type, found by name.

    from modelctl.features import feature_type, label_type

    numeric = feature_type("numeric")          # a `FeatureType` (modelctl.features.numeric.NumericFeature)
    numeric.model_input("age", fitted)         # InputSpec("age", (1,))

Each feature type (numeric, categorical, text, image) is one module of this
package holding everything about it: its schema fragment, how it is fitted on
the training split, how a batch of raw values is encoded, the model input it
gives, the Keras preprocessing layers baked into the model and how `predict`
reads raw inputs. Label types (binary, categorical, multi_label, regression)
live in `modelctl.features.labels` the same way.

Entries are plain data whose target names the class, imported when first asked
for; plug-ins add feature types through the `modelctl.features` entry-point
group (see docs/plugins.md). Finding feature types never imports TensorFlow.
"""

from __future__ import annotations

import functools

from modelctl.registry.base import Entry, Registry
from modelctl.registry.plugins import TARGET, Group, PluginError, load_plugins

GROUP = Group("modelctl.features", TARGET, "'package.module:ClassName', the feature type's class",
              "my_feature")
"""The entry-point group plug-in feature types are declared in; each target is a `FeatureType` subclass."""

FEATURES = Registry("feature type", [
    Entry("numeric", "modelctl.features.numeric:NumericFeature", "Numbers from one or more columns."),
    Entry("categorical", "modelctl.features.categorical:CategoricalFeature", "One value from a fixed set."),
    Entry("text", "modelctl.features.text:TextFeature", "Free text, tokenized."),
    Entry("image", "modelctl.features.image:ImageFeature", "An image file, decoded and resized."),
])
"""The built-in feature types; `feature_registry()` adds those of installed plug-ins."""

BUILT_IN = ("numeric", "categorical", "text", "image")
"""The built-in feature types in the order the schema and docs list them."""

LABELS = Registry("label type", [
    Entry("binary", "modelctl.features.labels.binary:BinaryLabel", "Two classes, one probability."),
    Entry("categorical", "modelctl.features.labels.categorical:CategoricalLabel", "One class of several."),
    Entry("multi_label", "modelctl.features.labels.multi_label:MultiLabel", "Any number of classes at once."),
    Entry("regression", "modelctl.features.labels.regression:RegressionLabel", "A number."),
])
"""The label types, in the order the schema and docs list them."""

LABEL_TYPES = ("binary", "categorical", "multi_label", "regression")
"""The built-in label types in the order the schema and docs list them."""


@functools.cache
def feature_registry() -> Registry:
    """`FEATURES` with the feature types of every installed plug-in added (looked up once per process).

    Raises:
        PluginError: a plug-in cannot be loaded or clashes with a known feature type (see `load_plugins`).
    """
    load_plugins(FEATURES, GROUP)
    return FEATURES


def feature_types() -> list[str]:
    """Every feature type's name: the built-in ones in their order, then plug-ins' sorted."""
    registry = feature_registry()
    return [*BUILT_IN, *(name for name in registry.names() if name not in BUILT_IN)]


def feature_type(name: str):
    """The `FeatureType` of a feature type name (its class is imported on first use).

    Args:
        name: a feature type such as `numeric`; plug-ins may add more.

    Raises:
        UnknownNameError: no feature type has that name; the message lists the known ones.
        PluginError: a plug-in's target cannot be imported or is not a `FeatureType` subclass.
    """
    from modelctl.registry.plugins import plugin_names

    registry = feature_registry()
    target = registry.get(name).target
    owner = plugin_names(registry).get(name)
    if owner is None:
        return _instance(target)
    try:
        return _instance(target)
    except _NotAFeatureType:
        raise PluginError(f"plug-in {owner}: feature type '{name}' names target {target!r}, which is not a "
                          "subclass of modelctl.features.base.FeatureType") from None
    except Exception as error:  # a plug-in's module can fail in any way; its traceback stays chained
        raise PluginError(f"plug-in {owner}: feature type '{name}' names target {target!r}, which cannot be "
                          f"imported: {type(error).__name__}: {error}") from error


def fitted_type(entry: dict):
    """The `FeatureType` of a fitted feature entry (a feature of a run's fitted preprocessing, or of
    `FeatureType.spec_fitted`): the type it names. The entry's other keys are the type's own to read.

    Raises:
        UnknownNameError: no feature type has its name.
    """
    return feature_type(entry["type"])


def label_types() -> list[str]:
    """Every label type's name in `LABELS`: the built-in ones in their order, then others sorted."""
    return [*LABEL_TYPES, *(name for name in LABELS.names() if name not in LABEL_TYPES)]


def label_type(name: str):
    """The `LabelType` class of a label type name: binary, categorical, multi_label or regression.

    Everything that differs between label types is asked of this class (encoding targets, the loss, and what
    evaluation computes and draws), never decided by comparing names.

    Raises:
        UnknownNameError: no label type has that name; the message lists the known ones.
    """
    from modelctl.registry.base import import_target

    return import_target(LABELS.get(name).target)


class _NotAFeatureType(TypeError):
    """A target that is not a `FeatureType` subclass."""


@functools.cache
def _instance(target: str):
    """The one instance of the `FeatureType` subclass `target` names.

    Raises:
        _NotAFeatureType: the target is something else.
    """
    from modelctl.features.base import FeatureType
    from modelctl.registry.base import import_target

    cls = import_target(target)
    if not (isinstance(cls, type) and issubclass(cls, FeatureType)):
        raise _NotAFeatureType(f"{target!r} is not a subclass of modelctl.features.base.FeatureType")
    return cls()


__all__ = ["BUILT_IN", "FEATURES", "GROUP", "LABELS", "LABEL_TYPES", "feature_registry", "feature_type",
           "feature_types", "fitted_type", "label_type", "label_types"]
