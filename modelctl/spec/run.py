"""The spec a run was trained with, read back from its folder and validated.

    document = load_run_spec(RunFolder(Path("runs/iris/20261123T101500Z")))
    document.spec.data.features           # the typed spec, as for a spec file

The run keeps the spec as trained (merged and overridden) and the folder its relative paths were read from (its
record's `base_dir`), so the data is found wherever the command runs.
"""

from __future__ import annotations

from pathlib import Path

from modelctl.runs import RunFolder


def load_run_spec(run: RunFolder | Path):
    """The spec a run was trained with, reading relative paths from the original spec's folder.

    Raises:
        RunError: the run folder has no readable record.
        SpecError: the spec no longer validates.
    """
    from modelctl.spec.validate import load_spec

    run = run if isinstance(run, RunFolder) else RunFolder(Path(run))
    return load_spec(run.spec_file, base_dir=run.record.base_dir)


__all__ = ["load_run_spec"]
