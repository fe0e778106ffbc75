"""Schema of the spec's `data` section: sources, features, labels, splits and batching."""

from __future__ import annotations

from modelctl.features import LABEL_TYPES
from modelctl.registry import args
from modelctl.registry.schema_parts import closed, discriminated, prop

SOURCE_FORMATS = ["csv", "tsv", "parquet", "npy", "npz", "image_folder", "text_folder", "tfrecord"]
SPLITS = ["train", "validation", "test"]


def _path(description: str) -> dict:
    return args.string(description + " Relative paths are read from the spec's folder.")


def source_schema() -> dict:
    glob_path = _path("File path; a glob such as `data/part-*.csv` reads every match in order.")
    csv_options = {
        "path": glob_path,
        "header": args.boolean("Whether the first row names the columns.", True),
        "column_names": args.any_of([{"type": "array", "items": {"type": "string"}, "minItems": 1},
                                     {"type": "null"}],
                                    "Column names when the file has no header row; null reads them from the header.",
                                    None),
        "column_types": prop({"type": "object", "additionalProperties": {"enum": ["float", "int", "string"]}},
                             "Type of chosen columns (`float`, `int` or `string`); the rest are inferred "
                             "from the first rows.", {}),
        "na_values": prop({"type": "array", "items": {"type": "string"}},
                          "Strings read as missing values.", ["", "NA", "NaN", "nan", "null"]),
    }
    variants = {
        "csv": {**csv_options, "delimiter": args.string("Field separator.", ",")},
        "tsv": {**csv_options, "delimiter": args.string("Field separator.", "\t")},
        "parquet": {"path": glob_path},
        "npy": {"arrays": prop({"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
                                "minProperties": 1},
                               "Column name -> `.npy` file; every array has one row per example.")},
        "npz": {"path": _path("The `.npz` file; its array names are the columns.")},
        "image_folder": {
            "path": _path("Folder with one sub-folder of images per class; gives columns `image` (the file "
                          "path) and `label` (the sub-folder name)."),
            "extensions": prop({"type": "array", "items": {"type": "string"}, "minItems": 1},
                               "File extensions read as images.", ["png", "jpg", "jpeg", "bmp", "gif"]),
        },
        "text_folder": {
            "path": _path("Folder with one sub-folder of `.txt` files per class; gives columns `text` and "
                          "`label`."),
            "extensions": prop({"type": "array", "items": {"type": "string"}, "minItems": 1},
                               "File extensions read as text.", ["txt"]),
            "encoding": args.string("Text encoding of the files.", "utf-8"),
        },
        "tfrecord": {
            "path": glob_path,
            "compression": args.choice(["none", "gzip", "zlib"], "Compression of the record files.", "none"),
            "schema": prop({"type": "object", "minProperties": 1, "additionalProperties": closed({
                "dtype": args.choice(["float32", "int64", "string"], "Stored type of the feature."),
                "shape": args.integers("Shape of the stored value; [] for a scalar.", [], min_items=0),
            }, "One stored feature.", required=["dtype"])},
                "Declared feature spec: column name -> {dtype, shape}."),
        },
    }
    return discriminated("format", variants, "Where examples are read from.", "source format")


def feature_schema() -> dict:
    """One feature: `type` picks the feature type, whose class gives the rest (`FeatureType.schema`)."""
    from modelctl.features import feature_type, feature_types

    common = {
        "column": args.string("Column holding the feature.", None),
        "description": args.string("What the feature is, for people reading the spec.", ""),
    }
    variants = {name: feature_type(name).schema() for name in feature_types()}
    return discriminated("type", variants, "One input feature: where it comes from and how it is prepared.",
                         "feature type", common=common)


def label_schema() -> dict:
    """One label: `type` picks the label type, whose class gives the rest (`LabelType.schema`)."""
    from modelctl.features import label_type

    common = {"column": args.string("Column holding the label."),
              "description": args.string("What the label is.", "")}
    variants = {name: label_type(name).schema() for name in LABEL_TYPES}
    return discriminated("type", variants, "One target the model predicts.", "label type", common=common,
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
        "shuffle_buffer": args.integer("Examples held for shuffling the training split.", 10000, minimum=1),
        "cache": args.boolean("Keep prepared examples in memory after the first epoch when all splits together fit in 128 MiB; larger data streams from the source every epoch.", True),
        "on_bad_rows": args.choice(["error", "skip"], "A bad row stops with an error naming it, or is skipped "
                                   "and counted.", "error"),
    }, "Where the examples come from and how they are prepared; null for a spec that only describes a model.",
        required=["features"], oneOf=[{"required": ["source"]}, {"required": ["sources"]}], default=None)
