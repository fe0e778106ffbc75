"""What data is: one fingerprint of a file (its content hash, size and modification time), and what data a run
saw (each source file's fingerprint, the examples of each split and a hash of the fitted preprocessing, kept in the
run's record under `data`); and how two such records differ.

    fingerprint(Path("iris.csv"))                   # Fingerprint('/abs/iris.csv', 4551, mtime_ns, digest '3f..')
    content_digest(Path("teacher/saved_model"))     # the content hash of a file, or of every file of a folder
    record = data_record(fingerprints, counts, fitted)   # {"sources": ..., "counts": ..., "preprocessing_sha256": ..}
    differences(old, new)                     # ["iris.csv: content changed (4551 -> 4560 bytes, ...)", ...]
    data_identity(spec["data"], base_dir)     # the data section as what identifies its examples

This module is the one owner of a fingerprint: the prepared-data cache keys its entries by it
(`modelctl.data.cache`), a run records it for the data it saw, and distillation for its teacher's model files. The
content hash is BLAKE2b over 32 MiB segments, a few threads at once, remembered (in the cache's `hashes/` folder)
with the file's device, inode, size, modification and status-change times, as DVC and git keep theirs: while none
of them changes the file is not read again. With the cache off (`--no-cache`) source files are not read for it,
and the record holds size and modification time only (`blake2b: null`); comparisons then rest on those. Files named
inside a column (image paths) are not fingerprinted, as the cache does not use them.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import time
import uuid
from pathlib import Path
from typing import NamedTuple

FILES_LISTED = 100
"""Most files of one source listed one by one in a run's record (an image folder may hold thousands); a source of
more is recorded by its count, total size and a digest over every file's fingerprint."""

_BLOCK = 8 * 2**20
_SEGMENT = 32 * 2**20
_SETTLED_NS = 2 * 10**9
"""A content hash is remembered only for a file last changed at least this long (ns) before it was hashed."""


class Fingerprint(NamedTuple):
    """What identifies a file's content: its resolved path, size, modification time (ns) and content hash (None
    when it was not read). A tuple, so that it is written to JSON as `[path, size, mtime_ns, digest]`."""

    path: str
    size: int
    mtime_ns: int
    digest: str | None


def fingerprint(path: Path, memo: Path | None = None, *, content: bool = True) -> Fingerprint:
    """The fingerprint of a file.

    The content hash is the BLAKE2b of the BLAKE2b digests of the file's consecutive 32 MiB segments, hashed by
    a few threads at once (hashing and reading release the GIL); the same for any number of threads.

    A staged copy of an object on object storage (`modelctl.util.storage.staged`) is fingerprinted as the
    object: its URL, size and modification time, with the copy's content hash.

    Args:
        path: the file.
        memo: a folder where content hashes are remembered with the file's stat (device, inode, size,
            modification and status-change times); default None hashes the file every time. A hash is
            remembered only when the file was last changed more than `_SETTLED_NS` before it was hashed, so a
            file written again within the file system's clock resolution is never taken for the one hashed.
        content: read the file for its content hash (default True); False gives size and time alone (digest
            None), without reading it.
    """
    from modelctl.util.storage import origin

    path = Path(path).resolve()
    before = path.stat()
    # A staged copy of an object on object storage is named as the object: its URL, size and modification time.
    named = origin(path) or [str(path), before.st_size, before.st_mtime_ns]
    if not content:
        return Fingerprint(*named[:3], None)
    remembered = _remembered(memo, path, before)
    if remembered is not None:
        return Fingerprint(*named[:3], remembered)
    hashed_at = time.time_ns()
    combined = _content_hash(path, before.st_size)
    after = path.stat()
    if memo is not None and _stat_key(after) == _stat_key(before) \
            and hashed_at - max(before.st_mtime_ns, before.st_ctime_ns) > _SETTLED_NS:
        _remember(memo, path, before, digest=combined)
    return Fingerprint(*named[:3], combined)


def content_digest(path: Path) -> str:
    """The content hash of a file (its `fingerprint`'s), or of a folder: the BLAKE2b over each of its files' path
    relative to it and content hash, in path order. The same content gives the same digest wherever it is copied
    and whenever it was written."""
    path = Path(path)
    if path.is_file():
        return fingerprint(path).digest
    digest = hashlib.blake2b(digest_size=20)
    for file in sorted(item for item in path.rglob("*") if item.is_file()):
        digest.update(f"{file.relative_to(path).as_posix()}\0{fingerprint(file).digest}\n".encode())
    return digest.hexdigest()


def _stat_key(stat) -> list[int]:
    return [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns]


def _memo_file(memo: Path, path: Path) -> Path:
    return memo / f"{hashlib.blake2b(str(path).encode(), digest_size=16).hexdigest()}.json"


def _remembered(memo: Path | None, path: Path, stat) -> str | None:
    if memo is None:
        return None
    try:
        record = json.loads(_memo_file(memo, path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("path") != str(path) or record.get("stat") != _stat_key(stat):
        return None
    digest = record.get("hash")
    return digest if isinstance(digest, str) else None


def _remember(memo: Path, path: Path, stat, *, digest: str) -> None:
    """Write the memo whole or not at all (a temporary file renamed into place); a memo that cannot be written
    costs only a hash next time."""
    target = _memo_file(memo, path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    try:
        memo.mkdir(parents=True, exist_ok=True)
        temporary.write_text(json.dumps({"path": str(path), "stat": _stat_key(stat), "hash": digest}),
                             encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)


def _content_hash(path: Path, size: int) -> str:
    from concurrent.futures import ThreadPoolExecutor

    starts = range(0, max(size, 1), _SEGMENT)
    if len(starts) == 1:
        digests = [_segment_digest(path, 0)]
    else:
        with ThreadPoolExecutor(max_workers=min(len(starts), os.cpu_count() or 1, 4)) as pool:
            digests = list(pool.map(lambda start: _segment_digest(path, start), starts))
    return hashlib.blake2b(b"".join(digests), digest_size=20).hexdigest()


def _segment_digest(path: Path, start: int) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as handle:
        handle.seek(start)
        left = _SEGMENT
        while left and (block := handle.read(min(_BLOCK, left))):
            digest.update(block)
            left -= len(block)
    return digest.digest()


BATCHING = ("batch_size", "shuffle_buffer")
"""Keys of the `data` section that batch or shuffle the examples without changing which they are."""


def data_identity(data: dict, base_dir: Path) -> dict:
    """The spec's `data` section as what identifies the examples it gives (a copy): each source's `path` resolved
    against `base_dir` (the spec's folder), so that `../data/x.csv` and `../../data/x.csv` naming the same file
    are the same data, and the keys that only batch or shuffle them (`BATCHING`) left out, with the split's `seed`:
    the seed that splits the rows is `effective_split_seed` (`data.split.seed`, else the spec's `seed`), which
    whoever compares data compares beside this."""
    import copy

    identity = {key: copy.deepcopy(value) for key, value in data.items() if key not in BATCHING}
    if isinstance(identity.get("split"), dict):
        identity["split"].pop("seed", None)
    sources = [identity.get("source")] + list((identity.get("sources") or {}).values())
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("path"), str):
            source["path"] = str(Path(base_dir, source["path"]).resolve())
    return identity


def effective_split_seed(spec) -> int | None:
    """The seed that splits a typed spec's (`modelctl.spec.typed.Spec`) rows: `data.split.seed`, else the spec's
    `seed`; None for a spec whose splits are separate sources (`data.sources`)."""
    if spec.data is None or not spec.data.source:
        return None
    return spec.seed if spec.data.split.seed is None else spec.data.split.seed


def source_record(fingerprints: list[Fingerprint]) -> dict:
    """The record of one source from its files' fingerprints."""
    files = [{"path": path, "bytes": size, "modified": _stamp(mtime_ns), "mtime_ns": mtime_ns, "blake2b": digest}
             for path, size, mtime_ns, digest in fingerprints]
    hashed = all(item["blake2b"] is not None for item in files)
    digest = hashlib.sha256()
    for item in files:
        digest.update(f"{item['path']}\0{item['bytes']}\0{item['blake2b'] if hashed else item['mtime_ns']}\n"
                      .encode())
    return {"count": len(files), "bytes": sum(item["bytes"] for item in files), "hashed": hashed,
            "digest": digest.hexdigest(), "files": files[:FILES_LISTED]}


def data_record(fingerprints: dict[str, list[Fingerprint]], counts: dict, fitted, *, split_seed: int | None = None,
                split_rows: dict[str, str] | None = None) -> dict:
    """The `data` of a run's record: source key (`all`, or a split of `data.sources`) -> its files, the examples of
    each split, the SHA-256 of the fitted preprocessing (`modelctl.runs.Fitted`, its canonical JSON), and the split
    as it was made: `seed` (`effective_split_seed`) and `rows`, split -> a digest of the rows it kept
    (`modelctl.data.fitting.Fitting.split_rows`; None when not known, as for a cache entry written before)."""
    return {"sources": {key: source_record(items) for key, items in fingerprints.items()},
            "counts": dict(counts),
            "preprocessing_sha256": fitted.sha256,
            "split": {"seed": split_seed, "rows": split_rows}}


def differences(old: dict | None, new: dict | None, *, preprocessing: bool = True) -> list[str]:
    """How the data of record `new` differs from that of `old` (both `data_record`s), one line each; [] when
    they are the same or either was never recorded (runs trained before records were kept).

    Args:
        preprocessing: also compare the split counts and the fitted preprocessing; default True. False compares
            the files alone (an evaluation reuses the run's own preprocessing).
    """
    if not old or not new or "sources" not in old or "sources" not in new:
        return []
    found = []
    for key in dict.fromkeys([*old["sources"], *new["sources"]]):
        before, after = old["sources"].get(key), new["sources"].get(key)
        where = "data.source" if key == "all" else f"data.sources.{key}"
        if before is None or after is None:
            found.append(f"{where}: {'added' if before is None else 'removed'}")
            continue
        found += [f"{where}: {line}" for line in _file_changes(before, after)]
    if preprocessing:
        before, after = old.get("split") or {}, new.get("split") or {}
        if None not in (before.get("seed"), after.get("seed")) and before["seed"] != after["seed"]:
            found.append(f"split seed: {before['seed']} -> {after['seed']} (data.split.seed, else the spec's seed)")
        for split in dict.fromkeys([*(old.get("counts") or {}), *(new.get("counts") or {})]):
            a, b = (old.get("counts") or {}).get(split), (new.get("counts") or {}).get(split)
            rows = [(record.get("rows") or {}).get(split) for record in (before, after)]
            if a != b:
                found.append(f"{split} split: {a} -> {b} examples")
            elif None not in rows and rows[0] != rows[1]:
                found.append(f"{split} split: the same number of examples ({a}), other rows")
        if old.get("preprocessing_sha256") != new.get("preprocessing_sha256"):
            found.append("the fitted preprocessing differs (statistics, vocabularies or classes)")
    return found


def _file_changes(before: dict, after: dict) -> list[str]:
    by_hash = before.get("hashed") and after.get("hashed")
    if by_hash and before["digest"] == after["digest"]:
        return []
    old = {item["path"]: item for item in before.get("files") or []}
    new = {item["path"]: item for item in after.get("files") or []}
    lines = []
    for path in dict.fromkeys([*old, *new]):
        a, b = old.get(path), new.get(path)
        name = Path(path).name
        if a is None or b is None:
            lines.append(f"{name} {'added' if a is None else 'removed'}")
        elif by_hash and a["blake2b"] != b["blake2b"]:
            lines.append(f"{name}: content changed ({a['bytes']} -> {b['bytes']} bytes, modified {a['modified']} "
                         f"-> {b['modified']})")
        elif not by_hash and (a["bytes"], a["mtime_ns"]) != (b["bytes"], b["mtime_ns"]):
            lines.append(f"{name}: size or modification time changed ({a['bytes']} -> {b['bytes']} bytes, "
                         f"modified {a['modified']} -> {b['modified']}; contents not hashed with the cache off)")
    # Digests over hashes and over modification times cannot be compared with each other.
    comparable = by_hash or not (before.get("hashed") or after.get("hashed"))
    if not lines and ((comparable and before["digest"] != after["digest"])
                      or (before["count"], before["bytes"]) != (after["count"], after["bytes"])):
        lines.append(f"{before['count']} -> {after['count']} files ({before['bytes']} -> {after['bytes']} bytes) "
                     "differ beyond the ones listed")
    return lines


def _stamp(mtime_ns: int) -> str:
    return datetime.datetime.fromtimestamp(mtime_ns / 1e9, datetime.timezone.utc).isoformat(timespec="seconds")
