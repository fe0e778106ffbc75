"""PNG figures of a model's scores and training history.

    function               label types                       figure
    confusion_matrix_plot  binary, categorical               counts, shaded by share of the true class
    roc_plot               binary, categorical, multi_label  ROC curve; one-vs-rest per class or label
    pr_plot                binary, categorical, multi_label  precision-recall curve, laid out as roc_plot
    calibration_plot       binary, categorical, multi_label  reliability diagram (10 bins) over a histogram
    residuals_plot         regression                        residual against prediction, and a histogram
    learning_curves_plot   (a Keras history dict)            one panel per metric, train and val_ together

Each function checks its arrays as `compute_metrics` does (`modelctl.evaluation.inputs`),
selects matplotlib's Agg backend when it runs (importing this module loads neither
matplotlib nor scikit-learn), writes the figure to a temporary file in the folder of `path` and renames
it onto `path` (a reader never sees half a PNG), closes the figure and returns `path`.
`write_plots` writes every figure that fits a label type (its class's `plots`, see
`modelctl.features.label_type`) into one folder, under the names of `PLOT_FILES`;
each function draws the label types whose `plots` name it.

The counts, points and areas come from scikit-learn: `sklearn.metrics.confusion_matrix`,
`roc_curve` and `auc`, `precision_recall_curve` and `average_precision_score`, and
`sklearn.calibration.calibration_curve(strategy="uniform")`. A class or label whose
curve is undefined (ROC: no positive or no negative example; precision-recall: no
positive example) is left out of the figure; a figure left with no curve says so in
its middle. The calibration of a categorical model is that of its
top class (confidence of the predicted class against whether it is right); that of a
multi_label model pools every label.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from modelctl.errors import UsageError, one_of
from modelctl.util import figures
from modelctl.evaluation.errors import EvaluationError
from modelctl.evaluation.inputs import CheckedScores, binary_problems, check_scores, drawn_by, kind_of

LEGEND_LIMIT = 10
PLOT_FILES = {
    "confusion_matrix": "confusion_matrix.png",
    "roc": "roc.png",
    "pr": "pr.png",
    "calibration": "calibration.png",
    "residuals": "residuals.png",
    "learning_curves": "learning_curves.png",
}
"""File name of each figure `write_plots` writes."""


def confusion_matrix_plot(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, path: str | Path,
                          class_names: list[str] | None = None) -> Path:
    """Draw the confusion matrix: rows are true classes, columns predicted ones.

    Args:
        label_type: "binary" or "categorical".
        y_true, y_score: true labels and scores (see `modelctl.evaluation.inputs`).
        path: the PNG file to write; its folder must exist.
        class_names: one name per class; None (the default) uses "0", "1", ...
    """
    data = _checked("confusion_matrix_plot", "confusion_matrix", label_type, y_true=y_true, y_score=y_score,
                     class_names=class_names)
    count = len(data.classes)
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(data.y_true, data.kind.predicted(data.y_score), labels=range(count))
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows != 0)
    pyplot = figures.pyplot()
    side = min(20.0, max(4.5, 0.55 * count + 2.5))
    figure, axes = pyplot.subplots(figsize=(side, side))
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class")
    if count <= 30:
        for row in range(count):
            for column in range(count):
                axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=8,
                          color="white" if share[row, column] > 0.5 else "black")
    axes.set_xticks(range(count), data.classes, rotation=45 if count > 4 else 0, ha="right" if count > 4 else "center")
    axes.set_yticks(range(count), data.classes)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"Confusion matrix ({data.examples} examples)")
    figure.tight_layout()
    return figures.save_png(figure, path)


def roc_plot(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, path: str | Path,
             class_names: list[str] | None = None) -> Path:
    """Draw the ROC curve (binary) or one one-vs-rest curve per class or label, with their AUC.

    Args:
        label_type: "binary", "categorical" or "multi_label".
        y_true, y_score: true labels and scores (see `modelctl.evaluation.inputs`).
        path: the PNG file to write; its folder must exist.
        class_names: one name per class or label; None (the default) uses "0", "1", ...
    """
    data = _checked("roc_plot", "roc", label_type, y_true=y_true, y_score=y_score, class_names=class_names)
    from sklearn.metrics import auc, roc_curve

    pyplot = figures.pyplot()
    figure, axes = pyplot.subplots(figsize=(6, 5))
    axes.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1)
    drawn = 0
    for name, truth, score in binary_problems(data):
        if truth.any() and not truth.all():
            fpr, tpr, _ = roc_curve(truth, score)
            axes.plot(fpr, tpr, linewidth=1.5, label=f"{name} (AUC {auc(fpr, tpr):.3f})")
            drawn += 1
    _finish_curves(axes, drawn, "false positive rate", ylabel="true positive rate", title="ROC curve", data=data,
                   corner="lower right")
    return figures.save_png(figure, path)


def pr_plot(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, path: str | Path,
            class_names: list[str] | None = None) -> Path:
    """Draw the precision-recall curve (binary) or one per class or label, with their average precision.

    Args:
        label_type: "binary", "categorical" or "multi_label".
        y_true, y_score: true labels and scores (see `modelctl.evaluation.inputs`).
        path: the PNG file to write; its folder must exist.
        class_names: one name per class or label; None (the default) uses "0", "1", ...
    """
    data = _checked("pr_plot", "pr", label_type, y_true=y_true, y_score=y_score, class_names=class_names)
    from sklearn.metrics import average_precision_score, precision_recall_curve

    pyplot = figures.pyplot()
    figure, axes = pyplot.subplots(figsize=(6, 5))
    drawn = 0
    for name, truth, score in binary_problems(data):
        if truth.any():
            precision, recall, _ = precision_recall_curve(truth, score)
            axes.step(recall, precision, where="post", linewidth=1.5,
                      label=f"{name} (AP {average_precision_score(truth, score):.3f})")
            drawn += 1
    _finish_curves(axes, drawn, "recall", ylabel="precision", title="Precision-recall curve", data=data,
                   corner="lower left")
    return figures.save_png(figure, path)


def calibration_plot(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, path: str | Path,
                     class_names: list[str] | None = None, bins: int = 10) -> Path:
    """Draw a reliability diagram: the fraction of positives against the mean probability per bin.

    Args:
        label_type: "binary" (probability of the positive class), "categorical" (probability
            of the predicted class, positive when right) or "multi_label" (every label pooled).
        y_true, y_score: true labels and scores (see `modelctl.evaluation.inputs`).
        path: the PNG file to write; its folder must exist.
        class_names: checked as elsewhere, not drawn; None (the default) is fine.
        bins: number of equal-width bins over [0, 1], an int >= 2 (default 10).
    """
    data = _checked("calibration_plot", "calibration", label_type, y_true=y_true, y_score=y_score,
                     class_names=class_names)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        raise EvaluationError(f"Invalid value for argument `bins`. Expected an integer >= 2. Received: bins={bins!r}")
    truth, probability, what, fraction_of = data.kind.calibration(data.y_true, data.y_score)
    from sklearn.calibration import calibration_curve

    fraction, mean = calibration_curve(truth, probability, n_bins=bins, strategy="uniform")
    pyplot = figures.pyplot()
    figure, (top, bottom) = pyplot.subplots(2, 1, figsize=(6, 6.5), sharex=True,
                                            gridspec_kw={"height_ratios": [3, 1]})
    top.plot([0, 1], [0, 1], linestyle=":", color="grey", linewidth=1, label="perfectly calibrated")
    top.plot(mean, fraction, marker="o", linewidth=1.5, label="model")
    top.set_ylabel(fraction_of)
    top.set_ylim(-0.02, 1.02)
    top.set_title(f"Reliability diagram ({bins} bins, {probability.size} predictions)")
    top.legend(loc="upper left", fontsize=8)
    bottom.hist(probability, bins=np.linspace(0.0, 1.0, bins + 1), color="tab:blue", alpha=0.7)
    bottom.set_xlabel(what)
    bottom.set_ylabel("count")
    bottom.set_xlim(0, 1)
    figure.tight_layout()
    return figures.save_png(figure, path)


def residuals_plot(y_true: np.ndarray, y_score: np.ndarray, path: str | Path,
                   *, output_names: list[str] | None = None, label_type: str | None = None) -> Path:
    """Draw regression residuals (true minus predicted) against the prediction, and their histogram.

    Args:
        y_true, y_score: targets and predictions of shape (n,) or (n, k).
        path: the PNG file to write; its folder must exist.
        output_names: one name per output, shown when k > 1; None (the default) uses "0", "1", ...
        label_type: a label type whose `plots` hold "residuals"; None (the default) is the first such
            (regression).
    """
    data = _checked("residuals_plot", "residuals", label_type or drawn_by("residuals")[0], y_true=y_true,
                     y_score=y_score,
                     class_names=output_names)
    residuals = data.y_true - data.y_score
    outputs = data.y_true.shape[1]
    pyplot = figures.pyplot()
    figure, (left, right) = pyplot.subplots(1, 2, figsize=(11, 4.5))
    for index, name in enumerate(data.classes):
        label = name if 1 < outputs <= LEGEND_LIMIT else None
        left.scatter(data.y_score[:, index], residuals[:, index], s=8, alpha=0.6, label=label)
    left.axhline(0.0, color="grey", linestyle=":", linewidth=1)
    left.set_xlabel("predicted value")
    left.set_ylabel("residual (true - predicted)")
    left.set_title("Residuals against predictions")
    if 1 < outputs <= LEGEND_LIMIT:
        left.legend(fontsize=8)
    right.hist(residuals.ravel(), bins=min(50, max(5, int(math.sqrt(residuals.size)))), color="tab:blue",
               alpha=0.7)
    right.axvline(0.0, color="grey", linestyle=":", linewidth=1)
    right.set_xlabel("residual (true - predicted)")
    right.set_ylabel("count")
    right.set_title(f"Residuals ({data.examples} examples)")
    figure.tight_layout()
    return figures.save_png(figure, path)


def learning_curves_plot(history: dict[str, list[float]], path: str | Path) -> Path:
    """Draw a Keras training history: one panel per metric, its `val_` curve beside the train one.

    Args:
        history: metric name to one value per epoch, as `keras.callbacks.History.history`
            holds it (`{"loss": [...], "val_loss": [...], "accuracy": [...]}`); at least one
            metric, every value a real number (NaN, from a diverging run, leaves a gap).
        path: the PNG file to write; its folder must exist.
    """
    panels = _panels(history)
    pyplot = figures.pyplot()
    from matplotlib.ticker import MaxNLocator

    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, grid = pyplot.subplots(rows, columns, figsize=(4.5 * columns, 3.5 * rows), squeeze=False)
    for axes, name in zip(grid.ravel(), panels):
        for key, style, label in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            if key in history:
                values = np.asarray(history[key], dtype=np.float64)
                axes.plot(np.arange(1, values.size + 1), values, linestyle=style, marker=".", label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(fontsize=8)
    for axes in grid.ravel()[len(panels):]:
        axes.set_visible(False)
    figure.tight_layout()
    return figures.save_png(figure, path)


def write_plots(label_type: str, y_true: np.ndarray, y_score: np.ndarray, *, class_names: list[str] | None,
                history: dict[str, list[float]] | None, folder: str | Path) -> list[Path]:
    """Write every figure that fits `label_type` into `folder` and return their paths, in table order.

    The figures are those the label type's `plots` name, in `PLOT_FILES` order: binary and
    categorical get confusion_matrix, roc, pr and calibration; multi_label gets roc, pr and
    calibration; regression gets residuals. learning_curves is added when `history` holds
    anything. File names are those of `PLOT_FILES`.

    Args:
        label_type: "binary", "categorical", "multi_label" or "regression".
        y_true, y_score: true labels and scores (see `modelctl.evaluation.inputs`).
        class_names: names of the classes, labels or outputs; None uses "0", "1", ...
        history: a Keras history dict (see `learning_curves_plot`), or None or {} for none.
        folder: where the files go; created with its parents when missing.
    """
    kind = kind_of(label_type)
    check_scores(label_type, y_true, y_score, class_names=class_names)
    if history:
        _panels(history)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{folder}: cannot create the folder: {error.strerror}") from None
    written = []
    for key in PLOT_FILES:
        if key in kind.plots:
            written.append(_DRAWERS[key](label_type, y_true, y_score, path=folder / PLOT_FILES[key],
                                         class_names=class_names))
    if history:
        written.append(learning_curves_plot(history, folder / PLOT_FILES["learning_curves"]))
    return written


_DRAWERS = {
    "confusion_matrix": confusion_matrix_plot,
    "roc": roc_plot,
    "pr": pr_plot,
    "calibration": calibration_plot,
    "residuals": lambda label_type, y_true, y_score, *, path, class_names: residuals_plot(
        y_true, y_score, path, output_names=class_names, label_type=label_type),
}
"""The function drawing each figure of `PLOT_FILES` a label type's `plots` may name, called as
`draw(label_type, y_true, y_score, path=..., class_names=...)`."""


def _checked(function: str, plot: str, label_type: str, *, y_true: object, y_score: object,
              class_names: list[str] | None) -> CheckedScores:
    if plot not in kind_of(label_type).plots:
        raise EvaluationError(f"{function} draws label types {one_of(drawn_by(plot))}; "
                              f"received label_type='{label_type}'")
    return check_scores(label_type, y_true, y_score, class_names=class_names)


def _finish_curves(axes, drawn: int, xlabel: str, *, ylabel: str, title: str, data: CheckedScores,
                   corner: str) -> None:
    if data.kind.positive_class is None:
        title += f", one-vs-rest ({drawn} of {len(data.classes)} {data.kind.members[1]})"
    if drawn == 0:
        axes.text(0.5, 0.5, "undefined: y_true lacks the examples this curve needs", ha="center", va="center")
    elif drawn <= LEGEND_LIMIT:
        axes.legend(loc=corner, fontsize=8)
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.set_title(title, fontsize=10)
    axes.figure.tight_layout()


def _panels(history: object) -> list[str]:
    """Panel names of a history (metric names without `val_`), after checking it."""
    if not isinstance(history, dict) or not history:
        raise EvaluationError(f"history must be a non-empty dict of metric name to one value per epoch; "
                              f"received {history!r:.80}")
    panels: list[str] = []
    for key, values in history.items():
        if not isinstance(key, str):
            raise EvaluationError(f"history keys must be metric names; received {key!r}")
        if isinstance(values, (str, bytes)) or not hasattr(values, "__len__") or not all(
                isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
                for value in values):
            raise EvaluationError(f"history['{key}'] must be a list of numbers, one per epoch; "
                                  f"received {values!r:.80}")
        name = key[4:] if key.startswith("val_") else key
        if name not in panels:
            panels.append(name)
    return panels
