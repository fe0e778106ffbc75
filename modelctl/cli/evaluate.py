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
    from modelctl.runs import load_run_spec, locate, read_json

    # The run and the gates are checked before TensorFlow is imported: a typo fails in a second.
    run_dir, _ = locate(target)
    labels = {name: label["type"] for name, label in read_json(run_dir / "preprocessing.json")["labels"].items()}
    parse_gates(gates, gate_names(labels, list(load_run_spec(run_dir).spec.evaluation.metrics)))
    from modelctl.evaluation.evaluate import evaluate_run
    from modelctl.evaluation.report import render_table

    result = evaluate_run(target, split, data_file=data, cache=cache)
    payload = {"run": str(result.run_dir), "split": result.split, "examples": result.examples,
               "metrics": result.metrics, "report": str(result.folder / "report.md"),
               "data_changes": result.data_changes}
    if result.members:
        payload["members"] = result.members
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

    add_files(result.run_dir, [(result.folder, f"eval/{result.folder.name}")], warnings,
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


def run_compare(targets: list[str], output_format: str, console) -> dict:
    """Metrics of several runs side by side, and the spec settings that differ between them."""
    from modelctl.runs import find_run_dir, read_json
    from modelctl.spec.loader import load_file

    runs = [find_run_dir(target) for target in targets]
    metrics = {str(run): flatten(read_json(run / "metrics.json")) for run in runs}
    specs = {str(run): flatten(load_file(run / "spec.yaml").data) for run in runs}
    keys = list(dict.fromkeys(key for values in specs.values() for key in values))
    differences = {key: {run: values.get(key) for run, values in specs.items()} for key in keys
                   if len({json.dumps(values.get(key), sort_keys=True, default=str) for values in specs.values()}) > 1}
    result = {"runs": [str(run) for run in runs], "metrics": metrics, "spec_differences": differences,
              "data_differences": data_differences(runs)}
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
        cells = [metrics[str(run)].get(key) for run in runs]
        table.add_row(key, *("" if cell is None else f"{cell:.4f}" for cell in cells))
    print_table(table, console)
    for index, run in enumerate(runs):
        console.print(f"run {index + 1}: {run}", markup=False)
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
    elif all(read_json(run / "run.json").get("data", {}).get("sources") for run in runs):
        console.print("the runs saw the same data", markup=False)
    return result


def data_differences(runs: list[Path]) -> dict[int, list[str]]:
    """Run number (2, 3, ...) -> how the data it trained on differs from that of run 1 (files, split counts,
    fitted preprocessing); runs that saw the same data, or recorded none, are left out."""
    from modelctl.data.fingerprints import differences
    from modelctl.runs import read_json

    first = read_json(runs[0] / "run.json").get("data")
    found = {}
    for index, run in enumerate(runs[1:], start=2):
        lines = differences(first, read_json(run / "run.json").get("data"))
        if lines:
            found[index] = lines
    return found
