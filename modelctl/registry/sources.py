"""The source formats a spec's `data.source` can name: one entry per format, the schema of its keys with it.

    data:
      source: {format: csv, path: iris.csv}
      source: {format: parquet, path: "data/part-*.parquet"}

Each `Entry` names its reader, a `modelctl.data.sources.Source` subclass
(`module:ClassName`, imported only when a source of that format is opened), and
says in `args` which keys the format takes besides `format`, with their
defaults: the spec schema's `data.source` (`modelctl.spec.data_schema`),
`modelctl.data.sources.open_source` and the docs read them here.
`meta["suffixes"]` lists the file extensions of one file of the format that
`modelctl predict` reads as a table (a format with a `path` key); empty for a
format `predict` does not read.

Plug-ins add formats through the entry-point group `modelctl.sources`; see
docs/plugins.md.
"""

from __future__ import annotations

import functools

from modelctl.registry import args
from modelctl.registry.base import Entry, Registry
from modelctl.registry.plugins import TARGET, Group, load_plugins
from modelctl.registry.schema_parts import closed, prop

GROUP = Group("modelctl.sources", TARGET, "'package.module:ClassName', the format's reader (a Source subclass)",
              "my_format")
"""The entry-point group plug-in source formats are declared in; each target is the format's reader class."""


def path(description: str) -> dict:
    """The schema of a `path` key: `description`, and that relative paths are read from the spec's folder."""
    return args.string(description + " Relative paths are read from the spec's folder.")


GLOB_PATH = path("File path; a glob such as `data/part-*.csv` reads every match in order.")
"""The schema of a `path` key that takes one file or a glob of files read one after another."""


def _delimited(delimiter: str) -> dict:
    return {
        "path": GLOB_PATH,
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
        "delimiter": args.string("Field separator.", delimiter),
    }


BUILT_IN = [
    Entry("csv", "modelctl.data.formats.delimited:DelimitedSource", "Comma-separated text with a header row.",
          _delimited(","), meta={"suffixes": [".csv"]}),
    Entry("tsv", "modelctl.data.formats.delimited:DelimitedSource", "Tab-separated text with a header row.",
          _delimited("\t"), meta={"suffixes": [".tsv"]}),
    Entry("parquet", "modelctl.data.formats.parquet:ParquetSource", "Parquet files read with pyarrow.",
          {"path": GLOB_PATH}, meta={"suffixes": [".parquet"]}),
    Entry("npy", "modelctl.data.formats.arrays:NpySource", "One `.npy` array per column.",
          {"arrays": prop({"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
                           "minProperties": 1}, "Column name -> `.npy` file; every array has one row per example.")}),
    Entry("npz", "modelctl.data.formats.arrays:NpzSource", "One `.npz` file whose arrays are the columns.",
          {"path": path("The `.npz` file; its array names are the columns.")}, meta={"suffixes": [".npz"]}),
    Entry("image_folder", "modelctl.data.formats.folders:ImageFolderSource",
          "A folder of images with a sub-folder per class.", {
              "path": path("Folder with one sub-folder of images per class; gives columns `image` (the file "
                           "path) and `label` (the sub-folder name)."),
              "extensions": prop({"type": "array", "items": {"type": "string"}, "minItems": 1},
                                 "File extensions read as images.", ["png", "jpg", "jpeg", "bmp", "gif"]),
          }),
    Entry("text_folder", "modelctl.data.formats.folders:TextFolderSource",
          "A folder of text files with a sub-folder per class.", {
              "path": path("Folder with one sub-folder of `.txt` files per class; gives columns `text` and "
                           "`label`."),
              "extensions": prop({"type": "array", "items": {"type": "string"}, "minItems": 1},
                                 "File extensions read as text.", ["txt"]),
              "encoding": args.string("Text encoding of the files.", "utf-8"),
          }),
    Entry("tfrecord", "modelctl.data.formats.tfrecord:TFRecordSource", "TFRecord files of `tf.train.Example`s.", {
        "path": GLOB_PATH,
        "compression": args.choice(["none", "gzip", "zlib"], "Compression of the record files.", "none"),
        "schema": prop({"type": "object", "minProperties": 1, "additionalProperties": closed({
            "dtype": args.choice(["float32", "int64", "string"], "Stored type of the feature."),
            "shape": args.integers("Shape of the stored value; [] for a scalar.", [], min_items=0),
        }, "One stored feature.", required=["dtype"])}, "Declared feature spec: column name -> {dtype, shape}."),
    }),
]
"""The built-in source formats, in the order the schema and messages list them."""

SOURCES = Registry("source format", BUILT_IN)
"""The built-in source formats; `sources()` adds those of installed plug-ins."""


@functools.cache
def sources() -> Registry:
    """`SOURCES` with the formats of every installed plug-in added (looked up once per process).

    Raises:
        PluginError: a plug-in cannot be loaded or clashes with a known format (see `load_plugins`).
    """
    load_plugins(SOURCES, GROUP)
    return SOURCES


def source_names() -> list[str]:
    """Every source format: the built-in ones in their order, then the plug-ins' by name."""
    built_in = [entry.name for entry in BUILT_IN]
    return [*built_in, *(name for name in sources().names() if name not in built_in)]


def table_suffixes() -> dict[str, str]:
    """File extension (`.csv`) -> the source format that reads one such file as a table, for `predict`."""
    return {suffix: entry.name for entry in map(sources().get, source_names())
            for suffix in entry.meta.get("suffixes", ())}


__all__ = ["BUILT_IN", "GLOB_PATH", "GROUP", "SOURCES", "path", "source_names", "sources", "table_suffixes"]
