"""The spec a run was trained with, read back from its folder."""

from __future__ import annotations

from pathlib import Path

from modelctl.runs.folder import read_json


def load_run_spec(run_dir: Path):
    """The spec a run was trained with (its spec.yaml), reading relative paths from the original spec's folder.

    Raises:
        RunError: the run folder has no readable run.json.
        SpecError: the spec no longer validates.
    """
    from modelctl.spec.validate import load_spec

    record = read_json(Path(run_dir) / "run.json")
    base = Path(record["base_dir"]) if record.get("base_dir") else None
    return load_spec(Path(run_dir) / "spec.yaml", base_dir=base)
