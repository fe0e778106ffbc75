"""Evaluation of a trained model's scores: metrics, plots and a Markdown report.

Nothing here imports TensorFlow; the caller runs the model and passes numpy arrays of
true labels and scores. `compute_metrics` returns a JSON-ready dict, `write_plots` writes
PNG figures, `render_report` ties both into `report.md` text and `render_table` prints
the scalar metrics. scikit-learn computes every metric and curve and matplotlib draws the
figures; both are imported on first use, so importing this package stays quick.
"""

from modelctl.evaluation.errors import EvaluationError
from modelctl.evaluation.inputs import LABEL_TYPES
from modelctl.evaluation.metrics import DEFAULTS, METRICS, compute_metrics, metric_names
from modelctl.evaluation.plots import (
    calibration_plot,
    confusion_matrix_plot,
    learning_curves_plot,
    pr_plot,
    residuals_plot,
    roc_plot,
    write_plots,
)
from modelctl.evaluation.report import (
    member_columns,
    members_markdown,
    render_members,
    render_report,
    render_table,
    scalar_rows,
)

__all__ = [
    "DEFAULTS",
    "LABEL_TYPES",
    "METRICS",
    "EvaluationError",
    "calibration_plot",
    "compute_metrics",
    "confusion_matrix_plot",
    "learning_curves_plot",
    "member_columns",
    "members_markdown",
    "metric_names",
    "pr_plot",
    "render_members",
    "render_report",
    "render_table",
    "residuals_plot",
    "roc_plot",
    "scalar_rows",
    "write_plots",
]
