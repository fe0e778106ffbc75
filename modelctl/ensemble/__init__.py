"""Ensembles: several trained runs as one model in a run folder of its own (`modelctl ensemble`).

    from modelctl.ensemble import create_ensemble

    result = create_ensemble(["runs/iris/A", "runs/iris/B"], method="weighted", weights=[0.7, 0.3])
    result.run_dir       # evaluated, exported, predicted and served like any run

`members` reads and checks the runs (same data split, same inputs and outputs), `weights` checks `--method`
and `--weights`, `create` builds the model (`modelctl.model.ensemble`) and writes the folder.
"""

from modelctl.ensemble.create import EnsembleResult, create_ensemble
from modelctl.ensemble.errors import EnsembleError

__all__ = ["EnsembleError", "EnsembleResult", "create_ensemble"]
