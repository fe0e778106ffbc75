"""Canonical JSON: the one text of a value that hashes the same whatever the order its keys were written in.

    canonical_json({"b": 1, "a": [1.5, None]})     # '{"a":[1.5,null],"b":1}'
    canonical_sha256(spec)                         # the spec hash a run keeps (`modelctl.runs.spec_hash`)

Keys are sorted, no spaces are written, values JSON cannot hold (paths, dates) are written as their `str()`,
and NaN and infinities are kept as JavaScript writes them (`NaN`, `Infinity`): a spec or a fitted statistic may
hold one, and refusing it would make the value unhashable rather than wrong. Used by the spec hash of a run,
the key of the prepared-data cache and the hash of the fitted preprocessing.
"""

from __future__ import annotations

import hashlib
import json


def canonical_json(value) -> str:
    """`value` as canonical JSON (see the module docstring)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, allow_nan=True)


def canonical_sha256(value) -> str:
    """The SHA-256 (hex) of `value`'s canonical JSON."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


__all__ = ["canonical_json", "canonical_sha256"]
