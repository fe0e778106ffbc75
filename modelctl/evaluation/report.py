"""Showing metrics: a Markdown report (`report.md`) and a rich table for the terminal.

Both read the dict of `modelctl.evaluation.metrics.compute_metrics`. The report holds,
in order: the title, the number of examples and the label type, a table of the scalar
metrics (`scalar_rows`), a per-class table (precision, recall, F1, ROC AUC and PR AUC,
those present), the confusion matrix, the notes, a table of the spec summary and the
plots as image links relative to the report's folder. Sections without content are
left out.
"""

from __future__ import annotations

import json
from pathlib import Path

from modelctl.util import markdown

_PER_CLASS = {"precision": "Precision", "recall": "Recall", "f1": "F1", "roc_auc": "ROC AUC", "pr_auc": "PR AUC"}
_AVERAGES = ("positive", "macro", "weighted")
_SKIPPED = ("label_type", "classes", "notes", "confusion_matrix")
PLOT_TITLES = {
    "confusion_matrix": "Confusion matrix",
    "roc": "ROC curve",
    "pr": "Precision-recall curve",
    "calibration": "Reliability diagram",
    "residuals": "Residuals",
    "learning_curves": "Learning curves",
}
"""Heading of each plot in the report, by file stem; other stems are shown as written."""


def scalar_rows(metrics: dict) -> list[tuple[str, object]]:
    """(name, value) of every scalar in `metrics`, in its order.

    Each row is named as `modelctl eval --fail-under` names the value
    (`modelctl.evaluation.evaluate.gate_names`): `examples` and plain metrics keep their key; a
    metric with averages gives one row per average (`precision.macro`, `roc_auc.macro`, binary
    `precision.positive`); `top_k_accuracy` gives its value, and `top_k_accuracy.k` its k.
    Per-class values, the confusion matrix and the notes are left out. Values are ints, floats or
    None.
    """
    rows: list[tuple[str, object]] = []
    for key, value in metrics.items():
        if key in _SKIPPED:
            continue
        if key == "top_k_accuracy" and isinstance(value, dict):
            rows += [("top_k_accuracy", value.get("value")), ("top_k_accuracy.k", value.get("k"))]
        elif isinstance(value, dict):
            rows.extend((f"{key}.{part}", value[part]) for part in _AVERAGES if part in value)
        elif value is None or isinstance(value, (int, float)):
            rows.append((key, value))
    return rows


def format_value(value: object) -> str:
    """A metric value as shown: ints as written, floats with 4 decimals (or 4 significant digits
    when very large or small), None as `n/a`."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
        return f"{value:.4g}"
    return f"{value:.4f}"


def render_table(metrics: dict, console, title: str = "Metrics") -> None:
    """Print the scalar metrics (`scalar_rows`) as a two-column rich table on `console`.

    Args:
        metrics: a dict from `compute_metrics`.
        console: a `rich.console.Console`; tests pass one that records.
        title: the table's title (default "Metrics").
    """
    from rich.table import Table

    from modelctl.util.tables import print_table

    table = Table(title=title)
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for name, value in scalar_rows(metrics):
        table.add_row(name, format_value(value))
    print_table(table, console)


def member_columns(metrics: dict, members: list[dict]) -> tuple[list[str], list[str], dict]:
    """An ensemble and its members side by side: (column headings `ensemble`, `member 1`, ...; row names
    `label: metric` (the label left out with one label); row name -> one value per column).

    Args:
        metrics: the ensemble's metrics, label -> `compute_metrics` dict.
        members: `Evaluation.members`: dicts with `member` and `metrics` (label -> `compute_metrics` dict).
    """
    columns = [("ensemble", metrics)] + [(f"member {member['member']}", member["metrics"]) for member in members]
    rows: dict[str, list[object]] = {}
    for position, (_, by_label) in enumerate(columns):
        for label, values in by_label.items():
            for name, value in scalar_rows(values):
                if name == "examples":
                    continue
                key = name if len(by_label) == 1 else f"{label}: {name}"
                rows.setdefault(key, [None] * len(columns))[position] = value
    return [heading for heading, _ in columns], list(rows), rows


def render_members(metrics: dict, members: list[dict], console, *, title: str = "Ensemble and members") -> None:
    """Print the ensemble's scalar metrics beside each member's (`member_columns`) as a rich table on `console`."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    headings, names, rows = member_columns(metrics, members)
    table = Table(title=title)
    table.add_column("Metric")
    for heading in headings:
        table.add_column(heading, justify="right")
    for name in names:
        table.add_row(name, *(format_value(value) for value in rows[name]))
    print_table(table, console)


def members_markdown(metrics: dict, members: list[dict], *, method: str) -> str:
    """The `## Ensemble members` section of report.md: the runs, and the metrics beside the ensemble's."""
    headings, names, rows = member_columns(metrics, members)
    lines = ["## Ensemble members", "", f"Method: {method}.", ""]
    lines += [f"- member {member['member']}: `{member['run']}`"
              + ("" if member.get("weight") is None else f", weight {member['weight']:.4g}") for member in members]
    lines += [""] + _table(["Metric", *headings], [(name, *map(format_value, rows[name])) for name in names],
                           ["---", *["---:"] * len(headings)])
    return "\n".join(lines) + "\n"


def fold_rows(spread: dict) -> tuple[list[str], list[tuple]]:
    """A cross-validation's metrics over its folds (`Evaluation.spread`: label -> metric -> {mean, std, values}) as
    (column headings, rows): `Metric`, `mean`, `std`, then one column per fold; the label is named in the metric
    with several labels."""
    folds = max((len(values["values"]) for metrics in spread.values() for values in metrics.values()), default=0)
    rows = []
    for label, metrics in spread.items():
        for name, values in metrics.items():
            rows.append((name if len(spread) == 1 else f"{label}: {name}", format_value(values["mean"]),
                         format_value(values["std"]), *map(format_value, values["values"])))
    return ["Metric", "mean", "std", *(f"fold {number}" for number in range(1, folds + 1))], rows


def render_folds(spread: dict, console, *, title: str) -> None:
    """Print a cross-validation's metrics over its folds (`fold_rows`) as a rich table on `console`."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    headings, rows = fold_rows(spread)
    table = Table(title=title)
    for index, heading in enumerate(headings):
        table.add_column(heading, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    print_table(table, console)


def folds_markdown(title: str, spread: dict, reports: list[Path], *, folder: Path) -> str:
    """The report.md (written into `folder`) of a cross-validation's evaluation: the metrics over the folds
    (`fold_rows`) and a link to each fold's report (`reports`, in fold order)."""
    headings, rows = fold_rows(spread)
    lines = [f"# {markdown.inline(title)}", "", "Mean and sample standard deviation over the folds, each fold's "
             "model evaluated on its own split.", ""]
    lines += _table(headings, rows, ["---"] + ["---:"] * (len(headings) - 1))
    lines += [f"- [fold {number}]({markdown.link(report, Path(folder))})"
              for number, report in enumerate(reports, start=1)]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_report(title: str, metrics: dict, *, spec_summary: dict, plots: list[Path], folder: Path) -> str:
    """Return the Markdown text of `report.md`.

    Args:
        title: the top heading, such as "iris: evaluation on the test split".
        metrics: a dict from `compute_metrics`.
        spec_summary: what to say about the spec (name, layer count, optimizer, epochs...);
            nested dicts become dotted keys, lists comma-separated values. {} leaves the
            section out.
        plots: image files to show, in order; linked relative to `folder`.
        folder: the folder `report.md` is written to.
    """
    lines = [f"# {markdown.inline(title)}", ""]
    if "examples" in metrics or "label_type" in metrics:
        facts = []
        if "examples" in metrics:
            facts.append(f"{metrics['examples']} examples")
        if "label_type" in metrics:
            facts.append(f"label type `{metrics['label_type']}`")
        lines += [", ".join(facts) + ".", ""]
    rows = [(name, format_value(value)) for name, value in scalar_rows(metrics) if name != "examples"]
    if rows:
        lines += ["## Metrics", ""] + _table(["Metric", "Value"], rows, ["---", "---:"])
    lines += _per_class(metrics) + _confusion(metrics)
    if metrics.get("notes"):
        lines += ["### Notes", ""] + [f"- `{name}`: {markdown.inline(text)}"
                                      for name, text in metrics["notes"].items()] + [""]
    if spec_summary:
        lines += ["## Spec", ""] + _table(["Setting", "Value"], list(_flatten(spec_summary)), ["---", "---"])
    if plots:
        lines += ["## Plots", ""]
        for plot in plots:
            plot = Path(plot)
            heading = markdown.inline(PLOT_TITLES.get(plot.stem, plot.stem))
            lines += [f"### {heading}", "", f"![{heading}]({markdown.link(plot, Path(folder))})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _table(header: list[str], rows: list[tuple], align: list[str]) -> list[str]:
    return markdown.table(header, rows, align) + [""]


def _per_class(metrics: dict) -> list[str]:
    present = [key for key in _PER_CLASS if isinstance(metrics.get(key), dict) and "per_class" in metrics[key]]
    if not present:
        return []
    classes = list(metrics.get("classes") or metrics[present[0]]["per_class"])
    rows = [(name, *(format_value(metrics[key]["per_class"].get(name)) for key in present)) for name in classes]
    kind = _members(metrics.get("label_type"))
    return [f"### Per {kind}", ""] + _table([kind.capitalize(), *(_PER_CLASS[key] for key in present)], rows,
                                            ["---"] + ["---:"] * len(present))


def _members(name: object) -> str:
    """The word for the classes of label type `name` (its class's `members`): "class", or "label" for
    multi_label; "class" for a dict without a known label type."""
    from modelctl.features import LABELS, label_type

    return label_type(name).members[0] if isinstance(name, str) and name in LABELS else "class"


def _confusion(metrics: dict) -> list[str]:
    matrix = metrics.get("confusion_matrix")
    if not matrix:
        return []
    classes = list(metrics.get("classes") or range(len(matrix)))
    rows = [(f"**{name}**", *row) for name, row in zip(classes, matrix)]
    return (["### Confusion matrix", "", "Rows are true classes, columns predicted ones.", ""]
            + _table(["true \\ predicted", *classes], rows, ["---"] + ["---:"] * len(classes)))


def _flatten(summary: dict, prefix: str = ""):
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{name}.")
        else:
            yield name, _show(value)


def _show(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, (str, int, float)) for item in value):
        return ", ".join(_show(item) for item in value)
    if isinstance(value, float):
        return format(value, "g")
    return json.dumps(value, default=str)
