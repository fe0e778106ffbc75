"""Per-epoch logging of a tracked run: each history row, as the run recorder wrote it, sent to MLflow."""

from __future__ import annotations

import keras


class TrackEpochs(keras.callbacks.Callback):
    """After each epoch, logs the row the run's recorder just added to its history to the MLflow run, so the
    tracking server shows exactly the file's values, with `step` the epoch.

    Args:
        tracked: the run's `modelctl.tracking.MlflowRun`.
        recorder: the run's `RunRecorder`, which must come before this callback in the callback list.
    """

    def __init__(self, tracked, recorder):
        super().__init__()
        self.tracked = tracked
        self.recorder = recorder
        self._logged = len(recorder.rows)

    def on_epoch_end(self, epoch, logs=None):
        for row in self.recorder.rows[self._logged:]:
            self.tracked.log_epoch(row)
        self._logged = len(self.recorder.rows)
