"""Prepared data kept on disk between runs, so that a second run on the same data skips reading and fitting.

    cache = DataCache()                            # $MODELCTL_CACHE_DIR, else ~/.cache/modelctl
    slot = open_slot(cache, data=..., seed=..., training=..., fold=None, fitted=None, sources=...)
    slot.entry                                     # an Entry written by an earlier run, or None
    writer = slot.writer()                         # otherwise: the splits go here as they are read ...
    writer.add("train", rows)
    entry = writer.finish({"fitted": ..., "counts": ...})   # ... and become an entry when every split is in

An entry is a folder named by a key: a hash of the spec's `data` section with
its defaults filled in and its sources' paths resolved (canonical JSON), the seed that splits its rows, the training
settings that change the examples (`sample_weight`, `class_weight`), the
k-fold fold, the preprocessing given from an earlier run, and each source
file's path, size, modification time and content hash (BLAKE2b over 32 MiB
segments, hashed by a few threads at once). A file that changed in any of them, or a changed data section, gives
another key: nothing stale is ever read. The content hash of a file is remembered under `hashes/` beside the
entries with the file's device, inode, size, modification and status-change times, as DVC and git keep theirs:
while none of them changes, the file is not read again (a write, `touch` or `utime` changes the status-change
time, which no program can set back). The entry holds `entry.json` (the
fitted preprocessing, the examples of each split, the rows skipped) and one
Arrow IPC file per split, one record batch per chunk of examples as read
(model inputs plus the label and weight columns as read), so that data larger
than memory is written and read back a chunk at a time.

Entries are written into a temporary folder and renamed into place when
complete; a folder that cannot be read back as a whole entry is ignored and
written again. Least recently used entries are removed when all of them take
more than `LIMIT_BYTES`. The Arrow format is pyarrow's; only the choice of what
goes into a key and the folder layout are written here.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np

from modelctl.data.errors import DataError, shown
from modelctl.data.fingerprints import fingerprint
from modelctl.data.fitting import Rows
from modelctl.data.splits import SPLITS
from modelctl.util.canonical import canonical_json

FORMAT = 2
"""The layout of an entry; entries of another layout are not read. 2: binary labels' classes are named by the
data, and label values outside known classes may be skipped, so entries fitted before are not reused."""

ENVIRONMENT = "MODELCTL_CACHE_DIR"
"""The environment variable that names the cache folder."""

LIMIT_BYTES = 20 * 2**30
"""Most bytes all entries together take; the least recently used ones are removed past it."""

_STALE_SECONDS = 24 * 3600
_NOT_IN_KEY = ("batch_size", "shuffle_buffer")
"""Data settings that do not change the prepared examples (they act when batches are made)."""


def default_folder() -> Path:
    """`$MODELCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/modelctl`, else `~/.cache/modelctl`."""
    written = os.environ.get(ENVIRONMENT)
    if written:
        return Path(written).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "modelctl"


@dataclasses.dataclass(frozen=True)
class DataCache:
    """Where prepared data is kept between runs, and whether it is.

    Args:
        folder: the cache folder; default None: `$MODELCTL_CACHE_DIR`, else `$XDG_CACHE_HOME/modelctl`, else
            `~/.cache/modelctl` (see `default_folder`).
        enabled: False reads and fits the data every time and writes nothing; default True.
    """

    folder: Path | None = None
    enabled: bool = True

    @property
    def root(self) -> Path:
        """The folder entries are kept in: `<folder>/data`."""
        return (Path(self.folder).expanduser() if self.folder is not None else default_folder()) / "data"

    @property
    def hashes(self) -> Path:
        """The folder source files' content hashes are remembered in (`modelctl.data.fingerprints.fingerprint`):
        `<folder>/hashes`."""
        return self.root.parent / "hashes"


# Keys -----------------------------------------------------------------------------------------------------------


def with_defaults(value, schema: dict, definitions: dict):
    """`value` with every default its JSON Schema states filled in where it is left out (a copy).

    Follows `$ref` into `definitions`, `properties`, `additionalProperties` and `allOf` branches whose `if`
    names constant values; any other construct is left as written (such a key tells apart more specs, never
    fewer).
    """
    schema = _resolve(schema, definitions)
    if not isinstance(value, dict) or not isinstance(schema, dict):
        return copy.deepcopy(value)
    properties = dict(schema.get("properties") or {})
    for branch in schema.get("allOf") or []:
        condition = branch.get("if") or {}
        constants = {name: rule.get("const") for name, rule in (condition.get("properties") or {}).items()}
        if constants and all(value.get(name) == constant for name, constant in constants.items()):
            properties.update((branch.get("then") or {}).get("properties") or {})
    result = {}
    for name, inner in value.items():
        if name in properties:
            result[name] = with_defaults(inner, properties[name], definitions)
        elif isinstance(schema.get("additionalProperties"), dict):
            result[name] = with_defaults(inner, schema["additionalProperties"], definitions)
        else:
            result[name] = copy.deepcopy(inner)
    for name, rule in properties.items():
        rule = _resolve(rule, definitions)
        if name not in result and isinstance(rule, dict) and "default" in rule:
            result[name] = with_defaults(copy.deepcopy(rule["default"]), rule, definitions)
    return result


def _resolve(schema, definitions: dict):
    while isinstance(schema, dict) and "$ref" in schema and schema["$ref"].startswith("#/$defs/"):
        inner = definitions.get(schema["$ref"][len("#/$defs/"):])
        if inner is None:
            break
        schema = {**inner, **{key: rule for key, rule in schema.items() if key != "$ref"}}
    return schema


def cache_key(*, data: dict, seed: int | None, training: dict, fold: tuple[int, int] | None, fitted: dict | None,
              files: dict[str, list], reading: dict) -> str:
    """The name of the entry for these settings and source files (see the module docstring); `reading` holds
    the pipeline's own sizes (rows a chunk, bytes held in memory), which decide the chunks and whether the
    examples are held."""
    from modelctl.version import __version__
    from modelctl.spec.schema import build_schema

    schema = build_schema()
    filled = with_defaults(data, schema["properties"]["data"], schema.get("$defs") or {})
    for name in _NOT_IN_KEY:
        filled.pop(name, None)
    parts = {"format": FORMAT, "modelctl": __version__, "data": filled, "seed": seed,
             "sample_weight": training.get("sample_weight"), "class_weight": training.get("class_weight"),
             "fold": None if fold is None else list(fold), "fitted": fitted, "files": files, "reading": reading}
    return hashlib.blake2b(canonical_json(parts).encode(), digest_size=16).hexdigest()


# Entries --------------------------------------------------------------------------------------------------------


class Entry:
    """A complete entry: its record (`entry.json`) and the chunks of each split.

    The split files stay open while the entry is in use, so an entry that another run removes (pruning) can
    still be read to the end.

    Args:
        folder: the entry's folder.
        record: what `entry.json` holds.
        readers: split -> its open Arrow IPC file reader.
    """

    def __init__(self, folder: Path, record: dict, readers: dict):
        self.folder = folder
        self.record = record
        self._readers = readers

    @classmethod
    def open(cls, folder: Path, key: str) -> "Entry | None":
        """The entry in `folder` when it is complete and of this `key`; None otherwise (missing, half written,
        of another layout, damaged)."""
        import pyarrow

        readers = {}
        try:
            record = json.loads((folder / "entry.json").read_text(encoding="utf-8"))
            if record.get("format") != FORMAT or record.get("key") != key:
                return None
            for split, written in record["splits"].items():
                path = folder / f"{split}.arrow"
                if path.stat().st_size != written["bytes"]:
                    return None
                reader = pyarrow.ipc.open_file(pyarrow.OSFile(str(path)))
                if reader.num_record_batches != written["batches"]:
                    return None
                readers[split] = reader
        except (OSError, ValueError, KeyError, TypeError, AttributeError, pyarrow.ArrowException):
            return None
        try:
            os.utime(folder / "entry.json")  # most recently used: pruned last
        except OSError:
            pass
        return cls(folder, record, readers)

    def parts(self, split: str) -> Iterator[Rows]:
        """The chunks of one split in source order, as written.

        Raises:
            DataError: the entry was damaged after it was opened.
        """
        import pyarrow

        reader = self._readers.get(split)
        if reader is None:
            return
        try:
            for index in range(reader.num_record_batches):
                yield _rows(reader.get_batch(index))
        except (OSError, ValueError, pyarrow.ArrowException) as error:
            raise DataError(f"the prepared data in {shown(self.folder)} cannot be read ({error}); delete that "
                            "folder, or run with --no-cache") from None

    def every_part(self) -> Iterator[tuple[str, Rows]]:
        """(split, chunk) of every split, split after split."""
        for split in SPLITS:
            yield from ((split, part) for part in self.parts(split))


class Writer:
    """Writes the chunks of every split into a temporary folder that `finish` renames into the entry.

    A chunk that cannot be stored (a column whose type changes between files, say) gives up quietly: `finish`
    then returns None and `note` says why. Call `abandon` when preparing the data fails.
    """

    def __init__(self, root: Path, key: str):
        self.root = root
        self.key = key
        self.folder = root / f".writing-{key}-{uuid.uuid4().hex[:8]}"
        self.folder.mkdir(parents=True)
        self._files: dict[str, tuple] = {}
        self._batches: dict[str, int] = {}
        self.written = 0
        self.note: str | None = None

    @property
    def failed(self) -> bool:
        return self.note is not None

    def add(self, split: str, part: Rows) -> None:
        """Append one chunk of `split` (source order)."""
        if self.failed:
            return
        import pyarrow

        try:
            batch = _record_batch(part)
            if split not in self._files:
                sink = pyarrow.OSFile(str(self.folder / f"{split}.arrow"), "wb")
                self._files[split] = (sink, pyarrow.ipc.new_file(sink, batch.schema), batch.schema)
                self._batches[split] = 0
            _, writer, schema = self._files[split]
            if not batch.schema.equals(schema, check_metadata=True):
                raise ValueError("the columns' types change between chunks")
            writer.write_batch(batch)
            self._batches[split] += 1
            self.written += batch.nbytes
            if self.written > LIMIT_BYTES:
                raise ValueError(f"the prepared data takes more than {LIMIT_BYTES // 2**30} GiB")
        except (OSError, ValueError, TypeError, pyarrow.ArrowException) as error:
            self.abandon(f"not kept: {error}")

    def finish(self, record: dict) -> Entry | None:
        """Close the split files, write `entry.json` and rename the folder into place. Returns the entry, or
        None when it could not be kept (see `note`)."""
        if self.failed:
            return None
        try:
            splits = {}
            for split, (sink, writer, _) in self._files.items():
                writer.close()
                sink.close()
                splits[split] = {"bytes": (self.folder / f"{split}.arrow").stat().st_size,
                                 "batches": self._batches[split]}
            self._files = {}
            record = {"format": FORMAT, "key": self.key, "written": time.time(), **record, "splits": splits}
            (self.folder / "entry.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            target = self.root / self.key
            if target.exists():
                written = Entry.open(target, self.key)
                if written is not None:  # another run wrote the same entry meanwhile
                    self._discard()
                    return written
                _remove(target)  # an entry that did not open: damaged
            os.rename(self.folder, target)
        except OSError as error:
            self.abandon(f"not kept: {error}")
            return None
        prune(self.root, keep=self.key)
        entry = Entry.open(target, self.key)
        if entry is None:
            self.note = "not kept: the entry could not be read back"
        return entry

    def abandon(self, note: str = "not kept") -> None:
        """Delete what was written; `note` says why."""
        self.note = note
        self._discard()

    def _discard(self) -> None:
        import pyarrow

        for sink, writer, _ in self._files.values():
            try:
                writer.close()
            except (OSError, pyarrow.ArrowException):
                pass
            sink.close()
        self._files = {}
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclasses.dataclass
class Slot:
    """The place of one spec's prepared data in the cache.

    Attributes:
        root: the cache folder the entry is in.
        key: the entry's name.
        entry: the entry, when an earlier run wrote it; else None.
    """

    root: Path
    key: str
    entry: Entry | None

    def writer(self) -> Writer | None:
        """A writer for the entry; None when the cache folder cannot be written."""
        try:
            return Writer(self.root, self.key)
        except OSError:
            return None


def open_slot(cache: DataCache | None, *, data: dict, seed: int | None, training: dict, fold: tuple[int, int] | None,
              fitted: dict | None, sources: dict, reading: dict, files: dict | None = None) -> Slot | None:
    """Find the entry of these settings and sources; None when the cache is off.

    With `fitted` given (a run being evaluated, exported or resumed), the entry of the same settings fitted
    from scratch is read when its preprocessing is the same as `fitted`, so a run's own training entry serves
    its evaluation.

    Args:
        cache: where and whether; default None: `DataCache()`.
        data: the spec's `data` section as written.
        seed: the seed that splits the rows (`modelctl.data.fingerprints.effective_split_seed`).
        training: the spec's `training` section.
        fold: (index, k) of a k-fold run, or None.
        fitted: the preprocessing of an earlier fit, or None.
        sources: source key -> the opened `Source`, whose `files` are fingerprinted.
        reading: the pipeline's sizes that shape what is written, such as rows a chunk.
        files: source key -> the `fingerprint` of each of its files, when already computed; default None: they
            are computed here.
    """
    cache = cache if cache is not None else DataCache()
    if not cache.enabled:
        return None
    if files is None:
        files = {key: [fingerprint(path, cache.hashes) for path in source.files] for key, source in sources.items()}
    settings = dict(data=data, seed=seed, training=training, fold=fold, files=files, reading=reading)
    root = cache.root
    key = cache_key(fitted=fitted, **settings)
    entry = Entry.open(root / key, key)
    if entry is None and fitted is not None:
        fresh = cache_key(fitted=None, **settings)
        found = Entry.open(root / fresh, fresh)
        if found is not None and canonical_json(found.record.get("fitted")) == canonical_json(fitted):
            entry = found
    return Slot(root, key, entry)


def prune(root: Path, keep: str | None = None, limit: int = LIMIT_BYTES) -> None:
    """Remove the least recently used entries until all of them take at most `limit` bytes (never `keep`), and
    temporary folders a day old (left by a run that was killed)."""
    try:
        folders = list(root.iterdir())
    except OSError:
        return
    entries = []
    now = time.time()
    for folder in folders:
        try:
            if folder.name.startswith(".writing-"):
                if now - folder.stat().st_mtime > _STALE_SECONDS:
                    _remove(folder)
                continue
            used = (folder / "entry.json").stat().st_mtime
            size = sum(path.stat().st_size for path in folder.iterdir())
        except OSError:
            continue
        entries.append((used, size, folder))
    total = sum(size for _, size, _ in entries)
    for _, size, folder in sorted(entries, key=lambda item: item[0]):
        if total <= limit:
            break
        if folder.name != keep:
            _remove(folder)
            total -= size


def _remove(folder: Path) -> None:
    """Rename first, so that nobody opens a half-removed entry."""
    doomed = folder.with_name(f".writing-removed-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(folder, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


# Chunks as Arrow record batches -------------------------------------------------------------------------------


def _record_batch(part: Rows):
    """A chunk as one record batch: `f:` features, `c:` label and weight columns, `keep`, `numbers`; each
    field's metadata keeps the numpy dtype and the shape of one example."""
    import pyarrow

    arrays, fields = [], []
    named = [*((f"f:{name}", values) for name, values in part.features.items()),
             *((f"c:{name}", values) for name, values in part.columns.items()),
             ("keep", part.keep), ("numbers", part.numbers)]
    for name, values in named:
        values = np.asarray(values)
        inner = values.shape[1:]
        width = int(np.prod(inner)) if inner else 0
        flat = values.reshape(-1)
        if values.dtype.kind in "OUS":
            array = pyarrow.array(flat, pyarrow.string() if values.dtype.kind != "S" else pyarrow.binary())
        else:
            array = pyarrow.array(flat)
        if inner:
            if width == 0:
                raise ValueError(f"column {name} has no values")
            array = pyarrow.FixedSizeListArray.from_arrays(array, width)
        metadata = {"dtype": values.dtype.str, "shape": json.dumps(list(inner))}
        fields.append(pyarrow.field(name, array.type, metadata=metadata))
        arrays.append(array)
    return pyarrow.RecordBatch.from_arrays(arrays, schema=pyarrow.schema(fields))


def _rows(batch) -> Rows:
    features, columns = {}, {}
    keep = numbers = None
    for field, column in zip(batch.schema, batch.columns):
        dtype = np.dtype(field.metadata[b"dtype"].decode())
        inner = json.loads(field.metadata[b"shape"])
        values = column.flatten() if inner else column
        values = values.to_numpy(zero_copy_only=False)
        values = values.astype(dtype, copy=False).reshape(len(column), *inner)
        if field.name.startswith("f:"):
            features[field.name[2:]] = values
        elif field.name.startswith("c:"):
            columns[field.name[2:]] = values
        elif field.name == "keep":
            keep = values
        else:
            numbers = values
    return Rows(features, columns, keep, numbers)


__all__ = ["DataCache", "ENVIRONMENT", "Entry", "LIMIT_BYTES", "Slot", "Writer", "cache_key", "default_folder",
           "open_slot", "prune", "with_defaults"]
