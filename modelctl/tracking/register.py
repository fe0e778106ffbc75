"""`--register NAME`: the exported model of a tracked run as a new version in MLflow's model registry."""

from __future__ import annotations

import json
from pathlib import Path

from modelctl.runs import RunFolder
from modelctl.tracking.client import TrackingError, write_errors
from modelctl.tracking.run import read_state, tracked_run


def register_model(folder: Path, name: str, results: list, *, console, artifact_path: str = "export",
                   strict: bool = False):
    """Register the run's exported files (already logged under `artifact_path` of its MLflow run) as a new
    version of the registered model `name`, created when missing. Returns the `ModelVersion`, or None when the
    registry could not be reached (a warning; with `strict` a TrackingError).

    The version's tags: `modelctl.spec_hash`, `modelctl.run_dir`, and per artifact `verified.<format>` with its
    verification (largest difference from the Keras model, class agreement, examples compared, tolerance).

    Args:
        folder: the run folder (tracked: its `mlflow.json` names a logged MLflow run).
        name: the registered model's name.
        results: the export's verification results (`modelctl.export.artifact.Result`).
        console: where a warning goes.
        artifact_path: where the exported files are in the MLflow run; default `export`.
        strict: a registry that cannot be reached is an error; default False.

    Raises:
        TrackingError: the run was never tracked in MLflow (registering needs its MLflow run); or, with
            `strict`, its upload is pending.
    """
    tracked = tracked_run(folder, console, strict)
    if tracked is None:
        state = read_state(folder)
        why = "its MLflow upload is pending" if state else "it was not tracked"
        message = (f"--register {name}: {folder} has no MLflow run to register from ({why}); train with --track "
                   f"mlflow, or upload it with `modelctl track {folder}`, then export again with --force")
        if state and not strict:
            # The tracking server was down: a warning, as for every other write of a run being tracked.
            console.print(f"warning: {message}", markup=False)
            return None
        raise TrackingError(message)
    record = RunFolder(folder).record.to_json()
    tags = {"modelctl.spec_hash": record.get("spec_hash"), "modelctl.spec_name": record.get("name"),
            "modelctl.run_dir": str(Path(folder).resolve())}
    for result in results:
        label = result.format if result.quantization == "none" else f"{result.format}.{result.quantization}"
        tags[f"verified.{label}"] = json.dumps({
            "path": result.path.name, "max_abs_diff": result.max_abs_diff, "class_agreement": result.class_agreement,
            "examples": result.examples, "tolerance": result.tolerance}, sort_keys=True)
    from mlflow.exceptions import MlflowException

    try:
        try:
            tracked.client.create_registered_model(name)
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = tracked.client.create_model_version(
            name, source=f"runs:/{tracked.run_id}/{artifact_path}", run_id=tracked.run_id,
            tags={key: str(value) for key, value in tags.items() if value is not None})
    except write_errors() as error:
        message = f"registering {name} in MLflow at {tracked.settings.uri} failed: {error}"
        if strict:
            raise TrackingError(message) from None
        console.print(f"warning: {message}", markup=False)
        return None
    console.print(f"registered {name} version {version.version} (MLflow run {tracked.run_id})", markup=False)
    return version
