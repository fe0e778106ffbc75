"""TFRecord files of `tf.train.Example` records, parsed with the source's declared `schema`.

Each column is a fixed-length feature: `float32`, `int64` or `string` values of
the declared `shape` (`[]` for a scalar). A batch of records is parsed with
`tf.io.parse_example`; when that fails the records are parsed one by one so the
message can name the bad record (row N is the file's Nth record). `string`
values are object arrays of `bytes`, as stored. TensorFlow is imported only
when this reader is used.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data.errors import DataError
from modelctl.data.sources import BadRows, Source, resolve_files

COMPRESSION = {"none": "", "gzip": "GZIP", "zlib": "ZLIB"}


class TFRecordSource(Source):
    """A TFRecord file, or several read one after another (a glob).

    Options (from the spec's `data.source`):
        path: a file or a glob; matches are read in sorted order.
        compression: `none` (default), `gzip` or `zlib`.
        schema: column -> `{dtype, shape}` with dtype `float32`, `int64` or `string` and shape a list of
            sizes (default `[]`, a scalar); the columns are in this order.
    """

    format = "tfrecord"

    def __init__(self, options: dict, base_dir: Path):
        super().__init__(options, base_dir)
        self.files = resolve_files(options["path"], base_dir)
        self.compression = COMPRESSION[options["compression"]]
        self.schema = {name: {"dtype": feature["dtype"], "shape": list(feature.get("shape", []))}
                       for name, feature in options["schema"].items()}
        self.columns = list(self.schema)

    def read(self, names: list[str], rows: int, bad: BadRows) -> Iterator[dict[str, np.ndarray]]:
        from modelctl.util.tf import tensorflow

        tf = tensorflow()
        spec = {name: tf.io.FixedLenFeature(self.schema[name]["shape"], getattr(tf, self.schema[name]["dtype"]))
                for name in names}
        for file in self.files:
            yield from self.counted(file, self._file_batches(tf, file, spec, names=names, rows=rows, bad=bad))

    def _file_batches(self, tf, file: Path, spec: dict, *, names: list[str], rows: int, bad: BadRows):
        first_row = 1
        for serialized in self._records(tf, file, rows):
            try:
                parsed = tf.io.parse_example(serialized, spec)
                batch = {name: _numpy(parsed[name]) for name in names}
            except tf.errors.InvalidArgumentError:
                batch = self._one_by_one(tf, serialized, spec, names=names, file=file, first_row=first_row, bad=bad)
            first_row += int(serialized.shape[0])
            yield batch

    def count_rows(self) -> int:
        return sum(self.rows_in(file) for file in self.files)

    def rows_in(self, file: Path) -> int:
        from modelctl.util.tf import tensorflow

        return sum(int(batch.shape[0]) for batch in self._records(tensorflow(), file, 4096))

    def _records(self, tf, file: Path, rows: int):
        dataset = tf.data.TFRecordDataset([str(file)], compression_type=self.compression).batch(rows)
        iterator = iter(dataset)
        while True:
            try:
                yield next(iterator)
            except StopIteration:
                return
            except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as error:
                compression = self.options["compression"]
                raise DataError(f"cannot be read as TFRecord records with compression {compression!r}: "
                                f"{_first_line(error)}", file=file) from None

    def _one_by_one(self, tf, serialized, spec: dict, *, names: list[str], file: Path, first_row: int,
                    bad: BadRows) -> dict[str, np.ndarray]:
        """Parse records singly, reporting each that does not fit the schema."""
        kept: dict[str, list[np.ndarray]] = {name: [] for name in names}
        for position in range(int(serialized.shape[0])):
            try:
                parsed = tf.io.parse_single_example(serialized[position], spec)
            except tf.errors.InvalidArgumentError as error:
                problem = self._explain(tf, serialized[position].numpy(), names) or _first_line(error)
                bad.found(f"does not fit the declared schema: {problem}", "does not fit the schema", file,
                          row=first_row + position, record=first_row + position)
                continue
            for name in names:
                kept[name].append(_numpy(parsed[name]))
        result = {}
        for name in names:
            shape = self.schema[name]["shape"]
            if kept[name]:
                result[name] = np.stack(kept[name])
            else:
                dtype = object if self.schema[name]["dtype"] == "string" else self.schema[name]["dtype"]
                result[name] = np.empty((0, *shape), dtype=dtype)
        return result


    def _explain(self, tf, record: bytes, names: list[str]) -> str:
        """Say which declared feature a record lacks or stores differently; "" when none does."""
        try:
            features = tf.train.Example.FromString(record).features.feature
        except Exception:  # noqa: BLE001  (any protobuf decoding failure means the same thing here)
            return "the record is not a serialized tf.train.Example"
        problems = []
        for name in names:
            dtype, shape = self.schema[name]["dtype"], self.schema[name]["shape"]
            expected = math.prod(shape)
            if name not in features:
                problems.append(f"feature {name!r} is missing")
                continue
            kind = features[name].WhichOneof("kind")
            stored = {"float_list": "float32", "int64_list": "int64", "bytes_list": "string"}.get(kind)
            count = len(getattr(features[name], kind).value) if kind else 0
            if stored != dtype:
                problems.append(f"feature {name!r} stores {stored or 'nothing'} values; the schema declares {dtype}")
            elif count != expected:
                problems.append(f"feature {name!r} holds {count} value{'' if count == 1 else 's'}; the schema "
                                f"declares shape {shape} ({expected} value{'' if expected == 1 else 's'})")
        return "; ".join(problems)


def _numpy(tensor) -> np.ndarray:
    """A parsed tensor as numpy (`string` features become object arrays of bytes)."""
    return tensor.numpy()


def _first_line(error: Exception) -> str:
    """TensorFlow's message without the op and function names it wraps around it."""
    message = getattr(error, "message", None) or str(error)
    message = re.sub(r"\{\{function_node [^}]*\}\}|\[Op:\w+\]", "", message)
    message = " ".join(message.split())
    return message or type(error).__name__

