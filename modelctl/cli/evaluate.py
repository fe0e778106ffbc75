"""`modelctl eval` and `modelctl compare`."""

from __future__ import annotations

import json
from pathlib import Path

from modelctl.errors import ModelctlError


class GateMissed(ModelctlError):
    """A `--fail-under` gate was missed. Exit code 1."""


def run_eval(target: str, split: str, data: Path | None, *, output_format: str, gates: list[str], console,
             cache=None) -> dict:
    """Evaluate, print the metrics (table or JSON) and apply the gates. `cache`: the prepared-data cache
    (`modelctl.data.cache.DataCache`); default None: the default folder."""
    from modelctl.evaluation.evaluate import check_gates, gate_names, parse_gates
    from modelctl.runs import EVALUATIONS, find_run, locate
    from modelctl.spec.run import load_run_spec

    # The run and the gates are checked before TensorFlow is imported: a typo fails in a second.
    run, model_file = locate(target)
    # A cross-validation's folds share its labels and spec; its first fold holds them.
    labelled = find_run(run.fold(1)) if run.record.kind == "cross_validation" else run
    labels = {name: label.type for name, label in labelled.fitted.labels.items()}
    parse_gates(gates, gate_names(labels, list(load_run_spec(labelled).spec.evaluation.metrics)))
    from modelctl.evaluation.evaluate import evaluate_run
    from modelctl.evaluation.report import render_table

    # The run found, not `target` again: a newer run passed over is named once.
    result = evaluate_run(run if model_file == run.model_file else model_file, split, data_file=data, cache=cache)
    payload = {"run": str(result.run_dir), "split": result.split, "examples": result.examples,
               "metrics": result.metrics, "report": str(result.folder / "report.md"),
               "data_changes": result.data_changes}
    if result.members:
        payload["members"] = result.members
    if result.folds:
        payload["spread"] = result.spread
        payload["folds"] = [str(fold.run_dir) for fold in result.folds]
    from rich.console import Console

    # Warnings go to stderr: they must not break the JSON of --format json.
    warnings = Console(stderr=True, highlight=False, soft_wrap=True)
    if result.data_changes:
        warnings.print(
            f"warning: the data of {result.run_dir} changed since it was trained (these metrics are on the data as "
            "it is now):\n" + "\n".join(f"  {line}" for line in result.data_changes),
            markup=False)
    if output_format == "json":
        console.out(json.dumps(payload, indent=2), highlight=False)
    elif result.folds:
        from modelctl.evaluation.report import render_folds

        render_folds(result.spread, console, title=f"{len(result.folds)} folds on {result.split} ({result.examples} "
                                                   "examples each)")
        console.print(f"report: {result.folder / 'report.md'}", markup=False)
    else:
        for label, metrics in result.metrics.items():
            render_table(metrics, console, title=f"{label} on {result.split} ({result.examples} examples)")
        if result.members:
            from modelctl.evaluation.report import render_members

            render_members(result.metrics, result.members, console,
                           title=f"Ensemble and members on {result.split} ({result.examples} examples)")
            for member in result.members:
                console.print(f"member {member['member']}: {member['run']}", markup=False)
        console.print(f"report: {result.folder / 'report.md'}", markup=False)
    from modelctl.tracking import add_files
    from modelctl.tracking.contents import eval_metrics

    add_files(result.run_dir, [(result.folder, f"{EVALUATIONS}/{result.folder.name}")], warnings,
              metrics=eval_metrics(result.folder))
    missed = check_gates(result.metrics, gates)
    if missed:
        raise GateMissed("quality gate missed: " + "; ".join(missed))
    return payload


def flatten(value, prefix: str = "") -> dict[str, object]:
    """Nested mappings and lists as `dotted.path[i]` -> scalar."""
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}.{key}" if prefix else str(key)))
        return items
    if isinstance(value, list) and any(isinstance(item, (dict, list)) for item in value):
        items = {}
        for index, inner in enumerate(value):
            items.update(flatten(inner, f"{prefix}[{index}]"))
        return items
    return {prefix: value}


def run_metrics(run) -> tuple[dict[str, float], dict[str, float]]:
    """(`split.metric` -> value, `split.metric` -> standard deviation over folds) of a run (a `RunFolder`): its
    final metrics and no spread, or a cross-validation's means and spreads over its folds)."""
    from modelctl.runs import read_cross_validation

    folds = read_cross_validation(run) if run.record.kind == "cross_validation" else None
    if folds is None:
        return flatten(run.metrics), {}
    named = {f"{split}.{name}": values for split, metrics in folds.summary.items() for name, values in metrics.items()}
    return {name: values["mean"] for name, values in named.items()}, \
        {name: values["std"] for name, values in named.items()}


def run_compare(targets: list[str], output_format: str, console) -> dict:
    """Metrics of several runs side by side (a cross-validation's as mean ± standard deviation over its folds), and
    the spec settings that differ between them."""
    from modelctl.runs import find_run

    runs = [find_run(target) for target in targets]
    measured = {str(run): run_metrics(run) for run in runs}
    metrics = {name: values for name, (values, _) in measured.items()}
    spreads = {name: values for name, (_, values) in measured.items() if values}
    specs = {str(run): flatten(run.spec) for run in runs}
    keys = list(dict.fromkeys(key for values in specs.values() for key in values))
    differences = {key: {run: values.get(key) for run, values in specs.items()} for key in keys
                   if len({json.dumps(values.get(key), sort_keys=True, default=str) for values in specs.values()}) > 1}
    result = {"runs": [str(run) for run in runs], "metrics": metrics, "spec_differences": differences,
              "data_differences": data_differences(runs)}
    if spreads:
        result["spreads"] = spreads
    if output_format == "json":
        console.out(json.dumps(result, indent=2, default=str), highlight=False)
        return result
    from rich.table import Table

    from modelctl.util.tables import print_table

    table = Table(title="Metrics", title_justify="left")
    table.add_column("metric")
    for index, _ in enumerate(runs):
        table.add_column(f"run {index + 1}", justify="right")
    for key in dict.fromkeys(key for values in metrics.values() for key in values):
        cells = [(metrics[str(run)].get(key), spreads.get(str(run), {}).get(key)) for run in runs]
        table.add_row(key, *("" if value is None else f"{value:.4f}" + ("" if spread is None else f" ± {spread:.4f}")
                             for value, spread in cells))
    print_table(table, console)
    for index, run in enumerate(runs):
        folds = run.record.values.get("folds")
        console.print(f"run {index + 1}: {run}" + (f" (mean ± std over {folds} folds)" if folds else ""), markup=False)
    if differences:
        table = Table(title="Spec differences", title_justify="left")
        table.add_column("setting")
        for index, _ in enumerate(runs):
            table.add_column(f"run {index + 1}")
        for key, values in differences.items():
            table.add_row(key, *(json.dumps(values[str(run)], default=str) for run in runs))
        print_table(table, console)
    else:
        console.print("the specs are the same", markup=False)
    if result["data_differences"]:
        for index, lines in result["data_differences"].items():
            console.print(f"run {index} saw different data than run 1:", markup=False)
            for line in lines:
                console.print(f"  {line}", markup=False)
    elif all((_data_record(run) or {}).get("sources") for run in runs):
        console.print("the runs saw the same data", markup=False)
    return result


def _data_record(run) -> dict | None:
    """The data a run saw (its record's `data`); a cross-validation's is its first fold's (every fold reads the same
    files, split differently)."""
    from modelctl.runs import find_run

    if run.record.kind == "cross_validation":
        run = find_run(run.fold(1), completed_only=False)
    return run.record.data


def data_differences(runs: list) -> dict[int, list[str]]:
    """Run number (2, 3, ...) -> how the data it trained on differs from that of run 1 (files, split counts,
    fitted preprocessing); runs that saw the same data, or recorded none, are left out."""
    from modelctl.data.fingerprints import differences

    first = _data_record(runs[0])
    found = {}
    for index, run in enumerate(runs[1:], start=2):
        lines = differences(first, _data_record(run))
        if lines:
            found[index] = lines
    return found
