"""Run folders: where one training run keeps everything it made, and how later commands read it back.

    runs/<spec name>/<UTC timestamp>/
      spec.yaml            the spec as trained (merged from the bases it extends, after --set overrides)
      run.json             spec hash, the spec files it was merged from, package versions, hardware, strategy,
                           command line, git commit, status, the data seen (`data`: source files' fingerprints,
                           split counts, preprocessing hash)
      preprocessing.json   statistics, vocabularies and class names fitted on the training split
      history.csv          one row per epoch: losses and metrics
      metrics.json         the final metrics on each split
      checkpoints/         last.keras and last.json (the last completed epoch), best.keras
      model.keras          the trained model; it takes raw features (preprocessing inside)
      tensorboard/         TensorBoard logs, when `training.tensorboard` is on
      plots/               loss and metric curves
      mlflow.json          the run's MLflow run, when it is tracked (`modelctl.tracking`)
      eval/<split>/        `modelctl eval`: eval.json, report.md, plots
      explain/<split>/     `modelctl explain`: explain.json, report.md, figures, and section.md, the section
                           eval's report.md of the same split shows (`explanation_section`)

A run folder is created empty and never reused: an existing one is never
overwritten.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from modelctl.errors import ModelctlError, UsageError
from modelctl.util.files import write_text_atomic


class RunError(ModelctlError):
    """A run folder that cannot be created or read."""


def explanation_section(run_dir: Path, split: str) -> Path:
    """The Markdown section `modelctl explain` writes for `split`, which `modelctl eval` adds to its report.md of
    that split."""
    return Path(run_dir) / "explain" / split / "section.md"


def spec_text(spec: dict) -> str:
    """The spec as YAML, keys in the order written."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def spec_hash(spec: dict) -> str:
    """sha256 of the spec's canonical JSON: the same settings give the same hash, whatever the formatting."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_folder(folder: Path) -> Path:
    """Create `folder` and its parents when missing; return it.

    Raises:
        UsageError: it cannot be created (a parent is a file, or not writable).
    """
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{folder}: the run folder cannot be created: {error.strerror}") from None
    return Path(folder)


def create_run_dir(output: Path, name: str, minimum_free_bytes: int = 50 * 2**20, *,
                   checkpoints: bool = True) -> Path:
    """Create `output/name/<timestamp>/`, a new folder (a suffix is added if the timestamp is taken), with an
    empty `checkpoints/` unless `checkpoints` is False (a run that trains nothing).

    Raises:
        UsageError: the output folder cannot be created or written, or its disk has less than
            `minimum_free_bytes` free.
    """
    parent = make_folder(Path(output) / name)
    if not os.access(parent, os.W_OK):
        raise UsageError(f"{parent}: the output folder is not writable; choose another with --output")
    free = shutil.disk_usage(parent).free
    if free < minimum_free_bytes:
        raise UsageError(f"{parent}: only {free // 2**20} MiB free on its disk; training needs at least "
                         f"{minimum_free_bytes // 2**20} MiB for checkpoints and the model")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for attempt in range(1000):
        folder = parent / (stamp if attempt == 0 else f"{stamp}-{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as error:
            raise UsageError(f"{folder}: the run folder cannot be created: {error.strerror}") from None
        if checkpoints:
            (folder / "checkpoints").mkdir()
        return folder
    raise UsageError(f"{parent}: too many runs started in the same second")


def write_json(path: Path, value: object) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, default=str) + "\n")


def read_json(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: no such file; is {Path(path).parent} a run folder made by `modelctl train`?") \
            from None
    except (OSError, ValueError) as error:
        raise RunError(f"{path}: cannot be read: {error}") from None


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


def find_run_dir(path: str | Path) -> Path:
    """A run folder given on the command line; a spec's runs folder gives its newest run.

    Raises:
        UsageError: no such folder, or not a run folder.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise UsageError(f"{path}: no such run folder")
    if (folder / "run.json").is_file():
        return folder
    runs = sorted(child for child in folder.iterdir() if (child / "run.json").is_file())
    if runs:
        return runs[-1]
    raise UsageError(f"{path}: not a run folder (it has no run.json); give a folder made by `modelctl train`, "
                     "such as runs/<name>/<timestamp>")


def locate(target: str | Path) -> tuple[Path, Path]:
    """(run folder, model file) of a run folder (its `model.keras`; a spec's runs folder gives its newest run) or of
    a `.keras` file inside one.

    Raises:
        UsageError: no such folder, not a run folder, or a `.keras` file outside any run folder.
    """
    path = Path(target)
    if path.is_file() and path.suffix == ".keras":
        for parent in path.resolve().parents:
            if (parent / "run.json").is_file():
                return parent, path
        raise UsageError(f"{target}: a .keras file is evaluated with the data of its run, and this one is not "
                         "inside a run folder (none of its parents holds run.json)")
    run_dir = find_run_dir(path)
    return run_dir, run_dir / "model.keras"
