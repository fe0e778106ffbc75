"""Schema of the spec's `data` section: sources, features, labels, splits and batching."""

from __future__ import annotations

from modelctl.registry import args
from modelctl.spec.schema_parts import closed, discriminated, keyed_steps, prop

SOURCE_FORMATS = ["csv", "tsv", "parquet", "npy", "npz", "image_folder", "text_folder", "tfrecord"]
FEATURE_TYPES = ["numeric", "categorical", "text", "image"]
LABEL_TYPES = ["binary", "categorical", "multi_label", "regression"]
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


def _preprocessing_steps() -> dict:
    return {
        "standardize": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                            "Subtract the training mean and divide by the training standard deviation.", None),
        "min_max": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                        "Scale to [0, 1] with the training minimum and maximum.", None),
        "log": prop({"type": ["object", "null"], "additionalProperties": False, "properties": {}},
                    "Natural logarithm of `1 + x` (values must be > -1).", None),
        "clip": closed({"min": args.number("Lower bound; null for none.", None),
                        "max": args.number("Upper bound; null for none.", None)},
                       "Clip values into [min, max]."),
        "rescale": args.number("Multiply by this factor (for example 1/255 for 8-bit pixels)."),
    }


def feature_schema() -> dict:
    common = {
        "column": args.string("Column holding the feature.", None),
        "description": args.string("What the feature is, for people reading the spec.", ""),
    }
    augmentation = prop({"type": "array", "items": {"$ref": "#/$defs/augmentation_layer"}},
                        "Random layers applied to training batches only, the identity at inference: random_flip, "
                        "random_rotation, random_zoom, random_translation, random_contrast, random_brightness, "
                        "and the dropout and noise layers.", [])
    variants = {
        "numeric": {
            "columns": args.any_of([{"type": "string", "minLength": 1},
                                    {"type": "array", "items": {"type": "string"}, "minItems": 1},
                                    {"type": "null"}],
                                   "Several columns read as one vector: a list of names or a glob such as "
                                   "`pixel_*` (in file order).", None),
            "shape": args.shape("Shape each example is reshaped to, such as [8, 8, 1]; null keeps a vector.",
                                None),
            "preprocessing": keyed_steps(_preprocessing_steps(), "preprocessing step",
                                         "Steps applied in order; statistics come from the training split."),
            "missing": closed({
                "strategy": args.choice(["error", "mean", "median", "constant", "drop"],
                                        "What a missing value becomes: an error, the training mean or median, "
                                        "`value`, or the row is dropped.", "error"),
                "value": args.number("The value used by the `constant` strategy.", 0.0),
            }, "Handling of missing values.", default={"strategy": "error"}),
            "augmentation": augmentation,
        },
        "categorical": {
            "vocabulary": args.any_of([{"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 1},
                                       {"type": "null"}],
                                      "Fixed vocabulary; null learns it from the training split.", None),
            "max_tokens": args.integer("Largest vocabulary learned; null for no limit.", None, minimum=1),
            "num_oov_indices": args.integer("Buckets for values not in the vocabulary.", 1, minimum=0),
            "output_mode": args.choice(["one_hot", "index"], "One-hot vector, or an integer index for an "
                                       "embedding layer.", "one_hot"),
        },
        "text": {
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
        },
        "image": {
            "size": args.integers("Height and width images are resized to.", length=2, minimum=1),
            "channels": args.choice([1, 3, 4], "Color channels after decoding.", 3),
            "preprocessing": keyed_steps({"rescale": _preprocessing_steps()["rescale"]}, "preprocessing step",
                                         "Steps applied in order after decoding and resizing."),
            "augmentation": augmentation,
        },
    }
    return discriminated("type", variants, "One input feature: where it comes from and how it is prepared.",
                         "feature type", common=common)


def label_schema() -> dict:
    common = {"column": args.string("Column holding the label."),
              "description": args.string("What the label is.", "")}
    classes = args.any_of([{"type": "array", "items": {"type": ["string", "integer"]}, "minItems": 2,
                            "uniqueItems": True}, {"type": "null"}],
                          "Class names in index order; null learns them from the training split (sorted).", None)
    variants = {
        "binary": {"positive": args.any_of([{"type": ["string", "integer", "boolean"]}, {"type": "null"}],
                                           "The value counted as positive; null for 1/true.", None)},
        "categorical": {"num_classes": args.integer("Number of classes; null counts them.", None, minimum=2),
                        "classes": classes},
        "multi_label": {"classes": classes,
                        "separator": args.string("Separator between labels in one cell.", "|")},
        "regression": {},
    }
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
