"""Schema of the spec's `data` section: sources, features, labels, splits and batching."""

from __future__ import annotations

from modelctl.features import LABEL_TYPES
from modelctl.registry import args
from modelctl.registry.schema_parts import closed, discriminated, prop

SPLITS = ["train", "validation", "test"]


def source_schema() -> dict:
    """`data.source`: `format` picks a source format of the registry, whose entry gives the other keys."""
    from modelctl.registry.sources import source_names, sources

    variants = {name: dict(sources().get(name).args) for name in source_names()}
    return discriminated("format", variants, "Where examples are read from.", title="source format")


def feature_schema() -> dict:
    """One feature: `type` picks the feature type, whose class gives the rest (`FeatureType.schema`)."""
    from modelctl.features import feature_type, feature_types

    common = {
        "column": args.string("Column holding the feature.", None),
        "description": args.string("What the feature is, for people reading the spec.", ""),
    }
    variants = {name: feature_type(name).schema() for name in feature_types()}
    return discriminated("type", variants, "One input feature: where it comes from and how it is prepared.",
                         title="feature type", common=common)


def label_schema() -> dict:
    """One label: `type` picks the label type, whose class gives the rest (`LabelType.schema`)."""
    from modelctl.features import label_type

    common = {"column": args.string("Column holding the label."),
              "description": args.string("What the label is.", "")}
    variants = {name: label_type(name).schema() for name in LABEL_TYPES}
    return discriminated("type", variants, "One target the model predicts.", title="label type", common=common,
                         required=["column"])


def split_schema() -> dict:
    fraction = {"type": "number", "minimum": 0, "maximum": 1}
    return closed({
        "train": prop(fraction, "Fraction of rows for training.", 0.8),
        "validation": prop(fraction, "Fraction of rows for validation.", 0.1),
        "test": prop(fraction, "Fraction of rows for the final test.", 0.1),
        "stratify": args.boolean("Keep each label's class balance in every split (classification).", False),
        "seed": args.integer("Seed of the split; null uses the spec's seed. The same seed and rows give the "
                             "same split.", None, minimum=0),
    }, "How rows are divided between training, validation and test.", default={})


def data_schema() -> dict:
    return closed({
        "source": prop({"$ref": "#/$defs/source"}, "One source, divided by `split`; null when `sources` is "
                                                   "given.", None),
        "sources": closed({name: prop({"$ref": "#/$defs/source"}, f"The {name} split's source; null for none.",
                                      ... if name == "train" else None) for name in SPLITS},
                          "An explicit source per split instead of fractions; null when `source` is given.",
                          required=["train"], default=None),
        "features": prop({"type": "object", "minProperties": 1,
                          "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                          "additionalProperties": {"$ref": "#/$defs/feature"}},
                         "Model inputs by name."),
        "labels": prop({"type": "object", "minProperties": 1,
                        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        "additionalProperties": {"$ref": "#/$defs/label"}},
                       "Model targets by name; each names an output of the model. Null for a model without "
                       "targets.", None),
        "split": split_schema(),
        "batch_size": args.integer("Examples per training step (global, across replicas).", 32, minimum=1),
        "shuffle_buffer": args.integer("Fewest examples shuffled together when the training split streams: each "
                                       "epoch reads it in pieces in a permuted order and shuffles them in windows "
                                       "of at least this many examples and 64 pieces. Held data is permuted whole.",
                                       10000, minimum=1),
        "cache": args.boolean("Keep prepared examples in memory when all splits together fit in 128 MiB; larger "
                              "data streams every epoch, from the prepared-data cache on disk (or the source with "
                              "--no-cache).", True),
        "on_bad_rows": args.choice(["error", "skip"], "A bad row stops with an error naming it, or is skipped "
                                   "and counted.", "error"),
    }, "Where the examples come from and how they are prepared; null for a spec that only describes a model.",
        required=["features"], oneOf=[{"required": ["source"]}, {"required": ["sources"]}], default=None)
