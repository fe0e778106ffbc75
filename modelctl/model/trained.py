"""A completed run opened for use: the one preamble of every command that uses a trained model.

    trained = open_trained("runs/iris", command="evaluate")     # locate -> spec -> fitted preprocessing
    trained.document.spec           # the spec it trained with, loaded and validated once
    trained.fitted.labels           # its fitted preprocessing (`modelctl.runs.Fitted`)
    prepared = trained.prepare(cache=cache)     # its data, read with that preprocessing (not fitted again)
    model = trained.load_model()

`modelctl eval`, `explain`, `export`, `predict`, `serve` and `ensemble` open runs here, so that they take the
same run (`modelctl.runs.newest`'s rule), read its spec once and refuse a cross-validation's folder the same way
(it has no model: `modelctl.runs.check_has_model` names the fold to give).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from modelctl.runs import Fitted, RunFolder, check_has_model, locate


@dataclasses.dataclass
class TrainedRun:
    """A run with a model: its folder, the model file used (its own model, or another `.keras` file of the
    run such as a checkpoint), its spec (a loaded `Document`) and its fitted preprocessing."""

    run: RunFolder
    model_file: Path
    document: object
    fitted: Fitted

    def prepare(self, *, cache=None, document=None):
        """The run's data (`modelctl.data.pipeline.Prepared`), split as it trained and encoded with its fitted
        preprocessing.

        Args:
            cache: the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder.
            document: another spec to read the data of (such as the run's spec reading a file given with
                `eval --data`); default None: the run's own.
        """
        from modelctl.data.pipeline import prepare

        return prepare(document if document is not None else self.document, fitted=self.fitted,
                       cache=cache)

    def load_model(self):
        """The Keras model (`modelctl.model.saving.load_model`)."""
        from modelctl.model.saving import load_model

        return load_model(self.model_file)


def open_trained(target: str | Path | RunFolder, *, command: str) -> TrainedRun:
    """The run `target` names, opened: a run folder, a spec's runs folder (its newest completed run), a `.keras`
    file inside a run, or a `RunFolder` already found (`modelctl.runs.model_target`).

    Args:
        command: what opens it, for the message a cross-validation gets (`export`, `serve`, ...).

    Raises:
        UsageError: no such run.
        RunError: a run that has not completed, a cross-validation (no model of its own), a damaged record.
        SpecError: its spec no longer validates.
    """
    from modelctl.spec.run import load_run_spec

    if isinstance(target, RunFolder):
        run, model_file = target, target.model_file
    else:
        run, model_file = locate(target)
    if model_file == run.model_file:
        check_has_model(run, command=command)
    return TrainedRun(run, model_file, load_run_spec(run), run.fitted)


__all__ = ["TrainedRun", "open_trained"]
