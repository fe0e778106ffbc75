"""What a run folder gives MLflow: parameters, tags, per-epoch and final metrics, and files.

Parameters are the resolved spec (the run's spec.yaml, as trained after `--set`, with every default the schema
states filled in, so that runs that leave a setting out compare with runs that write it) flattened to the
paths `--set` takes, list items by their index (`model.layers.0.dense.units`: MLflow's names allow no brackets);
a list of scalars is one parameter written as YAML (`[64, 32]`), so every value can be given back to `--set`.
Per-epoch metrics are the history's columns with `step` the epoch; final metrics are the run's, named
`<split>/<metric>` (`test/accuracy`); an evaluation's scalar metrics are `eval/<split>/<label>/<metric>`.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import yaml

from modelctl.runs import RunFolder, read_json
from modelctl.runs.folder import CROSS_VALIDATION, FITTED, HISTORY, METRICS, RECORD, SPEC

PARAM_VALUE_LIMIT = 6000
"""Longest parameter value MLflow stores; longer values are cut and end with `...`."""

FILES = (SPEC, RECORD, HISTORY, METRICS, FITTED, CROSS_VALIDATION)
"""Files of a run folder logged as artifacts, when present; `plots/` is logged too."""


def resolved_spec(spec: dict) -> dict:
    """`spec` with every default its schema states filled in where it is left out (a copy)."""
    from modelctl.data.cache import with_defaults
    from modelctl.spec.schema import build_schema

    schema = build_schema()
    return with_defaults(spec, schema, schema.get("$defs") or {})


NOT_PARAMETERS = ("search",)
"""Top-level sections that are not settings of the run: a `search` section describes a search over runs (its
parameter names hold brackets, which MLflow refuses in a key); each trial logs its drawn values under the keys
they set."""


def spec_values(spec: dict) -> dict[str, object]:
    """The spec flattened to `--set` paths -> its scalar values as they are (numbers, strings, booleans, None);
    a list of scalars or an empty mapping is one value written as YAML (`[64, 32]`, `{}`)."""
    values: dict[str, object] = {}

    def walk(value, prefix: str) -> None:
        if isinstance(value, dict) and value:
            for key, inner in value.items():
                walk(inner, f"{prefix}.{key}" if prefix else str(key))
        elif isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
            for index, inner in enumerate(value):
                walk(inner, f"{prefix}.{index}")
        else:
            values[prefix] = _yaml_value(value) if isinstance(value, (dict, list)) else value

    walk({key: value for key, value in spec.items() if key not in NOT_PARAMETERS}, "")
    return values


def spec_params(spec: dict) -> dict[str, str]:
    """The spec flattened to `--set` paths -> values written as YAML scalars (`5`, `adam`, `true`, `null`)."""
    params = {}
    for key, value in spec_values(spec).items():
        text = _yaml_value(value)
        params[key] = text if len(text) <= PARAM_VALUE_LIMIT else text[:PARAM_VALUE_LIMIT - 3] + "..."
    return params


def _yaml_value(value) -> str:
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, width=10**9).strip().removesuffix("...").strip()


def run_tags(record: dict, folder: Path) -> dict[str, str]:
    """Tags of a run from its record: spec name and hash, versions, git commit, hardware and strategy."""
    versions = record.get("versions") or {}
    hardware = record.get("hardware") or {}
    strategy = record.get("strategy") or {}
    gpus = hardware.get("gpus") or []
    tags = {
        "mlflow.runName": f"{record.get('name')}/{folder.name}",
        "modelctl.spec_name": record.get("name"),
        "modelctl.spec_hash": record.get("spec_hash"),
        "modelctl.run_dir": str(folder.resolve()),
        "modelctl.version": versions.get("modelctl"),
        "tensorflow.version": versions.get("tensorflow"),
        "keras.version": versions.get("keras"),
        "python.version": versions.get("python"),
        "git.commit": record.get("git_commit"),
        "hardware.cpu": (hardware.get("cpu") or {}).get("model"),
        "hardware.gpus": ", ".join(str(gpu.get("name", gpu)) if isinstance(gpu, dict) else str(gpu)
                                   for gpu in gpus) or "none",
        "strategy.distribution": strategy.get("distribution"),
        "strategy.devices": ", ".join(strategy.get("devices") or []),
        "strategy.replicas": strategy.get("replicas"),
        "strategy.mixed_precision": strategy.get("mixed_precision"),
    }
    if record.get("git_commit"):
        tags["mlflow.source.git.commit"] = str(record["git_commit"]).removesuffix("+dirty")
    if record.get("fold"):
        tags["modelctl.fold"] = f"{record['fold']['index'] + 1}/{record['fold']['folds']}"
    return {key: str(value) for key, value in tags.items() if value is not None}


def history_rows(folder: Path) -> list[dict[str, float]]:
    """The run's history (one row per epoch) as rows of floats (an empty cell is NaN); [] when there is none."""
    path = RunFolder(folder).history_file
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [{key: _number(value) for key, value in row.items()} for row in csv.DictReader(handle)]


def epoch_metrics(row: dict) -> tuple[int, dict[str, float]]:
    """(epoch, finite metric values) of one history row; MLflow stores no NaN it can show on a chart."""
    epoch = int(row["epoch"])
    return epoch, {key: float(value) for key, value in row.items()
                   if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value)}


def final_metrics(folder: Path) -> dict[str, float]:
    """The run's final metrics (split -> metric -> value) as `<split>/<metric>` -> value; {} when there are none."""
    path = RunFolder(folder).metrics_file
    if not path.is_file():
        return {}
    return flat_metrics(read_json(path))


def eval_metrics(folder: Path) -> dict[str, float]:
    """The scalar metrics of an evaluation folder's eval.json, as `eval/<split>/<label>/<metric>`."""
    record = read_json(Path(folder) / "eval.json")
    return flat_metrics(record.get("metrics") or {}, prefix=f"eval/{record.get('split', Path(folder).name)}")


def flat_metrics(values: dict, prefix: str = "") -> dict[str, float]:
    """Nested metrics as `a/b/c` -> value, numbers only (matrices and lists are left to the files)."""
    found: dict[str, float] = {}
    for key, value in values.items():
        name = f"{prefix}/{key}" if prefix else str(key)
        if isinstance(value, dict):
            found.update(flat_metrics(value, name))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            found[name] = float(value)
    return found


def artifacts(folder: Path) -> list[tuple[Path, str | None]]:
    """(local path, artifact folder) of every file or folder of a run logged to MLflow: `FILES`, `plots/`, each
    evaluation (`eval/<split>/`) and the exported files (`export/`)."""
    folder = Path(folder)
    found: list[tuple[Path, str | None]] = [(folder / name, None) for name in FILES if (folder / name).is_file()]
    for name in ("plots", "export"):
        if (folder / name).is_dir():
            found.append((folder / name, name))
    if (folder / "eval").is_dir():
        found += [(child, f"eval/{child.name}") for child in sorted((folder / "eval").iterdir()) if child.is_dir()]
    return found


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "") else math.nan
    except ValueError:
        return math.nan
