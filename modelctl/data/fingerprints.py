"""What data a run saw: each source file's size, modification time and content hash, the examples of each
split and a hash of the fitted preprocessing, kept in run.json under `data`; and how two such records differ.

    record = data_record(prepared)            # {"sources": {...}, "counts": {...}, "preprocessing_sha256": ...}
    differences(old, new)                     # ["iris.csv: content changed (4551 -> 4560 bytes, ...)", ...]

The content hash is the one the prepared-data cache keys its entries by (`modelctl.data.cache.fingerprint`:
BLAKE2b over 32 MiB segments, a few threads at once), computed once per run for both: recording it costs no
pass over the data of its own. With the cache off (`--no-cache`) files are not read for it, and the record
holds size and modification time only (`blake2b: null`); comparisons then rest on those. Files named inside a
column (image paths) are not fingerprinted, as the cache does not.
"""

from __future__ import annotations

import datetime
import hashlib
from pathlib import Path

FILES_LISTED = 100
"""Most files of one source listed one by one in run.json (an image folder may hold thousands); a source of more
is recorded by its count, total size and a digest over every file's fingerprint."""


def quick_fingerprint(path: Path) -> list:
    """[resolved path, size, modification time (ns), None]: a fingerprint without reading the file. A staged
    copy of an object on object storage is fingerprinted as the object: its URL, size and modification time."""
    from modelctl.util.storage import origin

    remote = origin(path)
    if remote is not None:
        return [remote[0], remote[1], remote[2], None]
    path = Path(path).resolve()
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns, None]


def source_record(fingerprints: list[list]) -> dict:
    """The record of one source from its files' fingerprints ([path, size, mtime_ns, hash] each)."""
    files = [{"path": path, "bytes": size, "modified": _stamp(mtime_ns), "mtime_ns": mtime_ns, "blake2b": digest}
             for path, size, mtime_ns, digest in fingerprints]
    hashed = all(item["blake2b"] is not None for item in files)
    digest = hashlib.sha256()
    for item in files:
        digest.update(f"{item['path']}\0{item['bytes']}\0{item['blake2b'] if hashed else item['mtime_ns']}\n"
                      .encode())
    return {"count": len(files), "bytes": sum(item["bytes"] for item in files), "hashed": hashed,
            "digest": digest.hexdigest(), "files": files[:FILES_LISTED]}


def data_record(fingerprints: dict[str, list[list]], counts: dict, fitted: dict) -> dict:
    """run.json's `data` record: source key (`all`, or a split of `data.sources`) -> its files, the examples of
    each split, and the SHA-256 of the fitted preprocessing (canonical JSON)."""
    from modelctl.data.cache import canonical

    return {"sources": {key: source_record(items) for key, items in fingerprints.items()},
            "counts": dict(counts),
            "preprocessing_sha256": hashlib.sha256(canonical(fitted).encode()).hexdigest()}


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
        for split in dict.fromkeys([*(old.get("counts") or {}), *(new.get("counts") or {})]):
            a, b = (old.get("counts") or {}).get(split), (new.get("counts") or {}).get(split)
            if a != b:
                found.append(f"{split} split: {a} -> {b} examples")
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
