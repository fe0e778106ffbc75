"""A run's record (`run.json`): what ran, how, on what data, and how it ended.

    record = RunRecord.from_json(value, source=path)   # schema-checked: RunError names every problem
    record.status          # running, completed, interrupted or diverged
    record.completed       # status completed
    record.kind            # train, cross_validation, ensemble or search
    record.base_dir        # the folder the spec's relative paths are read from
    record.values          # the whole JSON, for the keys no property names (hardware, strategy, versions ...)

The keys (those written by `modelctl train`; an ensemble and a cross-validation add theirs):

    name, spec_hash, spec_file, spec_files, base_dir   the spec, its hash and the files it was merged from
    command, started, versions, git_commit             how it was started
    hardware, strategy, execution                      where and how it trained (`--dry-run` says the same)
    status, epochs_completed, best_epoch, seconds ...  how it ended
    seed, fold, data                                   the data seen (`modelctl.data.fingerprints`)
    distillation, ensemble, folds                      a student, an ensemble, a cross-validation's folds
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from modelctl.runs.checked import checked
from modelctl.util.canonical import canonical_sha256

STATUSES = ("running", "completed", "interrupted", "diverged")
"""How a run ended: `running` while it trains (or when it stopped without saying why: killed, power lost)."""

_FOLD = {"type": ["object", "null"], "required": ["index", "folds"],
         "properties": {"index": {"type": "integer", "minimum": 0}, "folds": {"type": "integer", "minimum": 2}}}

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "status"],
    "properties": {
        "name": {"type": "string"},
        "status": {"enum": list(STATUSES)},
        "spec_hash": {"type": ["string", "null"]},
        "base_dir": {"type": ["string", "null"]},
        "seed": {"type": ["integer", "null"]},
        "fold": _FOLD,
        "folds": {"type": "integer", "minimum": 2},
        "folds_completed": {"type": "integer", "minimum": 0},
        "epochs_completed": {"type": ["integer", "null"], "minimum": 0},
        "data": {"type": ["object", "null"]},
        "ensemble": {"type": ["object", "null"], "required": ["members"],
                     "properties": {"members": {"type": "array", "items": {"type": "object"}}}},
        "distillation": {"type": ["object", "null"]},
        "search": {"type": ["string", "null"]},
    },
}
"""What `run.json` must hold; it may hold more (see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """A run's `run.json` (see the module docstring); `values` is the whole of it."""

    values: dict

    @classmethod
    def from_json(cls, value: object, *, source: str | Path) -> "RunRecord":
        """The record of a parsed `run.json`.

        Raises:
            RunError: it does not fit `SCHEMA`; every problem is named.
        """
        return cls(dict(checked(value, SCHEMA, source=source)))

    def to_json(self) -> dict:
        return dict(self.values)

    def updated(self, **changes) -> "RunRecord":
        """This record with `changes` made (keys of run.json)."""
        return RunRecord({**self.values, **changes})

    @property
    def name(self) -> str:
        return self.values["name"]

    @property
    def status(self) -> str:
        return self.values["status"]

    @property
    def completed(self) -> bool:
        return self.status == "completed"

    @property
    def kind(self) -> str:
        """`cross_validation` (a folder of folds), `ensemble`, `search` (a study's folder) or `train`."""
        if self.values.get("folds"):
            return "cross_validation"
        if self.values.get("ensemble"):
            return "ensemble"
        if self.values.get("search"):
            return "search"
        return "train"

    @property
    def base_dir(self) -> Path | None:
        """The folder the spec's relative paths (data files, a teacher) are read from; None when not kept."""
        written = self.values.get("base_dir")
        return Path(written) if written else None

    @property
    def fold(self) -> tuple[int, int] | None:
        """(index from 0, folds) of a fold of cross-validation; None for another run."""
        fold = self.values.get("fold")
        return None if not fold else (fold["index"], fold["folds"])

    @property
    def data(self) -> dict | None:
        """The data seen (`modelctl.data.fingerprints.data_record`); None when not recorded."""
        return self.values.get("data")

    @property
    def epochs_completed(self) -> int | None:
        return self.values.get("epochs_completed")


def opening_record(document, *, command_line: list[str] | None, status: str = "running") -> dict:
    """The keys every run's record starts with: the spec's name and hash, the files it was merged from and the
    folder its relative paths are read from, the command as typed (default `sys.argv`), the UTC start time,
    `status`, package versions, the git commit and the seed.

    Args:
        document: the loaded spec (`modelctl.spec.loader.Document`: `spec`, `data`, `source`, `files`,
            `base_dir`).
    """
    import datetime

    return {
        "name": document.spec.name,
        "spec_hash": spec_hash(document.data),
        "spec_file": str(Path(document.source).resolve()),
        "spec_files": [str(Path(file).resolve()) for file in document.files or [document.source]],
        "base_dir": str(document.base_dir),
        "command": command_line if command_line is not None else sys.argv,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "status": status,
        "versions": versions(),
        "git_commit": git_commit(document.base_dir),
        "seed": document.spec.seed,
    }


def spec_hash(spec: dict) -> str:
    """sha256 of the spec's canonical JSON: the same settings give the same hash, whatever the formatting."""
    return canonical_sha256(spec)


def versions() -> dict:
    """Versions of the packages a run depends on."""
    from importlib import metadata

    found = {"python": sys.version.split()[0]}
    for package in ("modelctl", "tensorflow", "keras", "numpy", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def git_commit(folder: Path) -> str | None:
    """The commit checked out in the git repository holding `folder`, with `+dirty` for local changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True,
                                timeout=5)
        if commit.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=folder, capture_output=True, text=True,
                               timeout=5)
        return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


__all__ = ["SCHEMA", "STATUSES", "RunRecord", "git_commit", "opening_record", "spec_hash", "versions"]
