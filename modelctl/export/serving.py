"""TensorFlow Serving's model layout beside a SavedModel export: `<export>/serving/<name>/<version>/`.

TensorFlow Serving serves the highest numbered version folder under a model's
base path. `modelctl export` writes the verified SavedModel there too (hard
links where the file system allows, else a copy), numbered by the run's
timestamp (`20261126T182346Z` -> 20261126182346), so that a later run's
export into the same base path is the newer version:

    tensorflow_model_server --rest_api_port=8501 --model_name=iris --model_base_path=$PWD/runs/iris/<run>/export/serving/iris
    docker run -p 8501:8501 -v $PWD/runs/iris/<run>/export/serving/iris:/models/iris -e MODEL_NAME=iris tensorflow/serving

`modelctl serve` and `modelctl predict` take the same folders (a model's base
path means its highest numbered version); `serve` numbers its version the same way.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from modelctl.errors import UsageError

FOLDER = "serving"
"""The layout's folder in the export folder."""


def newest_version(path: Path) -> Path | None:
    """The highest numbered version folder of a TensorFlow Serving model base folder (`serving/<name>/`), or
    None when `path` is not one."""
    path = Path(path)
    if not path.is_dir() or (path / "saved_model.pb").is_file():
        return None
    versions = [child for child in path.iterdir() if child.name.isdigit() and (child / "saved_model.pb").is_file()]
    return max(versions, key=lambda child: int(child.name)) if versions else None


def resolve(target: str | Path) -> Path:
    """`target` as the model it means: a model base folder's highest version, else `target` itself.

    Raises:
        UsageError: `target` is the layout's `serving/` folder, which holds models rather than being one.
    """
    path = Path(target)
    newest = newest_version(path)
    if newest is not None:
        return newest
    models = sorted(child for child in path.iterdir() if child.is_dir() and newest_version(child) is not None) \
        if path.is_dir() else []
    if models:
        raise UsageError(f"{target}: a TensorFlow Serving folder holding {len(models)} model"
                         f"{'s' if len(models) != 1 else ''} ({', '.join(model.name for model in models)}); give "
                         f"a model's folder, such as {models[0]}")
    return path


def run_version(run_dir: Path | None) -> int:
    """The version number of a run's models: the digits of its folder's name (its UTC timestamp), or 1."""
    digits = re.sub(r"\D", "", run_dir.name) if run_dir is not None else ""
    return int(digits) if digits else 1


def write_serving_layout(saved_model: Path, output: Path, name: str, *, version: int) -> Path:
    """Put the SavedModel folder `saved_model` at `output/serving/<name>/<version>/` (replacing what is there).

    Returns:
        The model's base path, `output/serving/<name>`.
    """
    base = Path(output) / FOLDER / name
    target = base / str(version)
    if target.exists():
        shutil.rmtree(target)
    base.mkdir(parents=True, exist_ok=True)
    shutil.copytree(saved_model, target, copy_function=_link_or_copy)
    return base


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system, or links not allowed
        shutil.copy2(source, destination)


__all__ = ["FOLDER", "run_version", "write_serving_layout"]
