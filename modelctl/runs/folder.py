"""Run folders: where one training run keeps everything it made, and the one type every command reads it with.

    runs/<spec name>/<UTC timestamp>/
      spec.yaml              the spec as trained (merged from the bases it extends, after --set overrides)
      run.json               the record (`modelctl.runs.record`): spec hash and files, versions, hardware,
                             strategy, command line, git commit, status, the data seen
      preprocessing.json     statistics, vocabularies and class names fitted on the training split
                             (`modelctl.runs.fitted`)
      history.csv            one row per epoch: losses and metrics
      metrics.json           the final metrics on each split
      checkpoints/           last.keras and last.json (the last completed epoch), best.keras
      model.keras            the trained model; it takes raw features (preprocessing inside)
      tensorboard/           TensorBoard logs, when `training.tensorboard` is on
      plots/                 loss and metric curves
      mlflow.json            the run's MLflow run, when it is tracked (`modelctl.tracking`)
      eval/<split>/          `modelctl eval`: eval.json, report.md, plots
      explain/<split>/       `modelctl explain`: explain.json, report.md, figures, and section.md, the section
                             eval's report.md of the same split shows (`explanation_section`)
      export/                `modelctl export`: the artifacts

    runs/<spec name>/<UTC timestamp>/        `modelctl train --folds K`: a cross-validation
      spec.yaml, run.json                    as above (run.json's `folds` is K)
      cross_validation.json                  each fold's metrics, their mean and spread
                                             (`modelctl.runs.cross_validation`)
      fold-1/ ... fold-K/                    one run folder per fold

    run = RunFolder(Path("runs/iris/20261123T101500Z"))
    run.record.status, run.fitted.labels, run.spec["model"], run.model_file

A run folder is created empty and never reused: an existing one is never overwritten. Every file name of the
layout is spelled here alone; other modules ask a `RunFolder` for the path.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import shutil
from pathlib import Path

import yaml

from modelctl.errors import UsageError
from modelctl.runs.checked import RunError, read_json
from modelctl.runs.fitted import Fitted
from modelctl.runs.record import RunRecord
from modelctl.util.files import write_text_atomic

SPEC = "spec.yaml"
RECORD = "run.json"
FITTED = "preprocessing.json"
MODEL = "model.keras"
METRICS = "metrics.json"
HISTORY = "history.csv"
CROSS_VALIDATION = "cross_validation.json"
CHECKPOINTS = "checkpoints"
PLOTS = "plots"
EVALUATIONS = "eval"
EXPLANATIONS = "explain"
EXPORTS = "export"
FOLD = "fold-{number}"
"""A fold's folder inside a cross-validation's, numbered from 1."""

LAST_CHECKPOINT = "last.keras"
"""In `checkpoints/`: the model as the last completed epoch left it (weights and optimizer state)."""
LAST_STATE = "last.json"
"""In `checkpoints/`: the counters of that epoch (random generators, callbacks) a resumed run restores."""
BEST_CHECKPOINT = "best.keras"
"""In `checkpoints/`: the model at the best epoch by the checkpoint's monitor."""
EARLY_STOPPING_BEST = "early_stopping_best.npz"
"""In `checkpoints/`: the weights early stopping would restore, for a resumed run."""


@dataclasses.dataclass(frozen=True)
class RunFolder:
    """One run folder (see the module docstring); a path-like object, so `Path(run)` is its folder.

    Reading a file that is missing or does not fit its schema raises `RunError`, naming it.
    """

    path: Path

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    # Paths -----------------------------------------------------------------------------------------------------

    @property
    def spec_file(self) -> Path:
        return self.path / SPEC

    @property
    def record_file(self) -> Path:
        return self.path / RECORD

    @property
    def fitted_file(self) -> Path:
        return self.path / FITTED

    @property
    def model_file(self) -> Path:
        """The trained model, `model.keras` (a cross-validation has none: its folds do)."""
        return self.path / MODEL

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY

    @property
    def checkpoints(self) -> Path:
        """The folder of checkpoints (`LAST_CHECKPOINT`, `LAST_STATE`, `BEST_CHECKPOINT`)."""
        return self.path / CHECKPOINTS

    # Contents --------------------------------------------------------------------------------------------------

    @property
    def is_run(self) -> bool:
        """Whether the folder holds a run (its record)."""
        return self.record_file.is_file()

    @property
    def record(self) -> RunRecord:
        """`run.json`, schema-checked (read anew each time: training updates it)."""
        return RunRecord.from_json(read_json(self.record_file), source=self.record_file)

    @property
    def fitted(self) -> Fitted:
        """`preprocessing.json`, schema-checked."""
        return Fitted.from_json(read_json(self.fitted_file), source=self.fitted_file)

    @property
    def spec(self) -> dict:
        """`spec.yaml` as trained, as written (a mapping; `modelctl.spec.run.load_run_spec` validates it)."""
        try:
            value = yaml.safe_load(self.spec_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunError(f"{self.spec_file}: no such file; is {self.path} a run folder made by "
                           "`modelctl train`?") from None
        except (OSError, yaml.YAMLError) as error:
            raise RunError(f"{self.spec_file}: cannot be read: {error}") from None
        if not isinstance(value, dict):
            raise RunError(f"{self.spec_file}: holds a {type(value).__name__}, not a spec")
        return value

    @property
    def metrics(self) -> dict:
        """`metrics.json`: split -> metric -> value."""
        return read_json(self.metrics_file)

    def history(self) -> dict[str, list[float]]:
        """`history.csv` as column -> one value per epoch (an empty cell is NaN); {} when there is none."""
        import csv

        if not self.history_file.is_file():
            return {}
        with self.history_file.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        history: dict[str, list[float]] = {}
        for row in rows:
            for key, value in row.items():
                if key != "epoch":
                    history.setdefault(key, []).append(float(value) if value not in ("", None) else math.nan)
        return history

    def fold(self, number: int) -> "RunFolder":
        """Fold `number` (from 1) of a cross-validation."""
        return RunFolder(self.path / FOLD.format(number=number))

    # Writing ---------------------------------------------------------------------------------------------------

    def write_record(self, record: RunRecord | dict) -> RunRecord:
        """Write `run.json` atomically, after checking it against its schema; returns it."""
        checked = record if isinstance(record, RunRecord) else RunRecord.from_json(record, source=self.record_file)
        write_json(self.record_file, checked.to_json())
        return checked

    def write_fitted(self, fitted: Fitted | dict) -> Fitted:
        """Write `preprocessing.json` atomically, after checking it against its schema; returns it."""
        checked = Fitted.from_json(fitted, source=self.fitted_file)
        write_json(self.fitted_file, checked.to_json())
        return checked


def explanation_section(run: RunFolder | Path, split: str) -> Path:
    """The Markdown section `modelctl explain` writes for `split`, which `modelctl eval` adds to its report.md of
    that split."""
    return Path(run) / EXPLANATIONS / split / "section.md"


def spec_text(spec: dict) -> str:
    """The spec as YAML, keys in the order written."""
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


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
            (folder / CHECKPOINTS).mkdir()
        return folder
    raise UsageError(f"{parent}: too many runs started in the same second")


def write_json(path: Path, value: object) -> None:
    """Write `value` as indented JSON, atomically (a reader never sees half a file)."""
    write_text_atomic(path, json.dumps(value, indent=2, default=str) + "\n")


__all__ = ["BEST_CHECKPOINT", "CHECKPOINTS", "CROSS_VALIDATION", "EARLY_STOPPING_BEST", "EVALUATIONS",
           "EXPLANATIONS", "EXPORTS", "FITTED", "HISTORY", "LAST_CHECKPOINT", "LAST_STATE", "METRICS", "MODEL",
           "PLOTS", "RECORD", "SPEC", "RunError", "RunFolder", "create_run_dir", "explanation_section",
           "make_folder", "read_json", "spec_text", "write_json"]
