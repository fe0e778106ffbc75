"""Experiment tracking: each run also logged to MLflow, beside its run folder.

    settings = mlflow_settings(document.spec, track="mlflow")  # tracking.mlflow of the spec, or --track mlflow
    tracked = MlflowRun.start(settings, run_dir, console)   # parameters and tags (a warning when unreachable)
    tracked.log_epoch(row)                                  # one history row, step = its epoch
    tracked.finish()                                        # final metrics of each split and the run's files
    upload_run(run_dir, settings, console)                  # `modelctl track RUN`: a whole run folder, afterwards

The run folder stays the record: everything logged is read from it (its spec, record, history, final
metrics, plots, eval/ and export/, through `modelctl.runs.RunFolder`), so a run
trained while the tracking server was down is uploaded whole later. The MLflow
run of a run folder is kept in its `mlflow.json`. MLflow is an optional extra
(`pip install 'modelctl[mlflow]'`); nothing here imports it until a run is
tracked, and nothing here imports TensorFlow.
"""

from modelctl.tracking.client import TrackingError
from modelctl.tracking.run import MlflowRun, add_files, track_training, tracked_run
from modelctl.tracking.register import register_model
from modelctl.tracking.settings import DEFAULT_URI, MlflowSettings, mlflow_settings
from modelctl.tracking.upload import upload_run

__all__ = ["DEFAULT_URI", "MlflowRun", "MlflowSettings", "TrackingError", "add_files", "mlflow_settings",
           "register_model", "track_training", "tracked_run", "upload_run"]
