"""Run folders: created by `modelctl train`, read by `eval`, `export` and `predict`.

    run_dir = create_run_dir(Path("runs"), "iris")          # runs/iris/20261123T101500Z/
    write_json(run_dir / "metrics.json", {...})             # written atomically
    run_dir, model_file = locate("runs/iris")               # the newest run and its model.keras
    document = load_run_spec(run_dir)                       # the spec it was trained with

`modelctl.runs.folder` lays out and reads the folder (see its docstring for
what a run holds); `modelctl.runs.spec` reads back the spec a run trained with.
Nothing here imports TensorFlow.
"""

from modelctl.runs.folder import (
    RunError,
    create_run_dir,
    explanation_section,
    find_run_dir,
    git_commit,
    locate,
    make_folder,
    read_json,
    spec_hash,
    spec_text,
    versions,
    write_json,
)
from modelctl.runs.spec import load_run_spec

__all__ = [
    "RunError", "create_run_dir", "explanation_section", "find_run_dir", "git_commit", "load_run_spec", "locate",
    "make_folder", "read_json", "spec_hash",
    "spec_text", "versions", "write_json",
]
