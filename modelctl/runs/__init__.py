"""Run folders: the one owner of what a run keeps, created by `modelctl train` and read by every later command.

    run = find_run("runs/iris")                   # the newest completed run (newest.py: the one rule)
    run.record.status, run.record.base_dir        # run.json, schema-checked (record.py)
    run.fitted.labels["species"].classes          # preprocessing.json, schema-checked (fitted.py)
    run.spec, run.model_file, run.metrics          # spec.yaml as trained, model.keras, metrics.json
    read_cross_validation(run)                    # cross_validation.json of a k-fold run (cross_validation.py)

`folder` lays out the folder (every file name is spelled there alone) and writes it atomically; `record` and
`fitted` are the typed records of run.json and preprocessing.json; `cross_validation` the record of a k-fold
run; `newest` decides which run a command-line argument means; `checked` reads JSON against a schema. Nothing
here imports TensorFlow, or any modelctl package but `errors` and `util`, so that every layer above reads runs
the same way (`modelctl.spec.run.load_run_spec` validates a run's spec; `modelctl.model.trained` opens a run for
evaluation, export, explanation, prediction and ensembles).
"""

from modelctl.runs.checked import RunError, read_json
from modelctl.runs.cross_validation import CrossValidation, read_cross_validation, summarize, write_cross_validation
from modelctl.runs.fitted import Fitted, FittedFeature, FittedLabel
from modelctl.runs.folder import EVALUATIONS, EXPLANATIONS, EXPORTS, RunFolder, create_run_dir, explanation_section, \
    make_folder, spec_text, write_json
from modelctl.runs.newest import check_has_model, find_run, locate, model_target, newest, note
from modelctl.runs.record import RunRecord, git_commit, spec_hash, versions

__all__ = [
    "EVALUATIONS", "EXPLANATIONS", "EXPORTS", "CrossValidation", "Fitted", "FittedFeature", "FittedLabel",
    "RunError", "RunFolder", "RunRecord",
    "check_has_model", "create_run_dir", "explanation_section", "find_run", "git_commit", "locate", "make_folder",
    "model_target",
    "newest", "note", "read_cross_validation", "read_json", "spec_hash", "spec_text", "summarize", "versions",
    "write_cross_validation", "write_json",
]
