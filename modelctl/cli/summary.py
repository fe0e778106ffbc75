"""`modelctl summary`: the model a spec builds, as a table or JSON."""

from __future__ import annotations

import json
from pathlib import Path

from modelctl.spec.validate import load_spec


def run_summary(spec: str, output_format: str, plot_path: Path | None, *, overrides: list[str], console) -> dict:
    """Build the model of `spec`, print its summary and optionally draw it. Returns the summary."""
    from modelctl.model.summary import plot, summarize

    document = load_spec(spec, overrides)
    description, model = summarize(document)
    if plot_path is not None:
        plot(model, plot_path)
    if output_format == "json":
        console.out(json.dumps(description, indent=2), highlight=False)
    else:
        render_table(description, console)
        if plot_path is not None:
            console.print(f"graph drawn to {plot_path}", markup=False)
    return description


def render_table(description: dict, console) -> None:
    from rich.table import Table

    from modelctl.model.summary import human_bytes, human_count
    from modelctl.util.tables import print_table

    table = Table(title=f"Model {description['name']}", title_justify="left")
    for column, justify in (("layer", "left"), ("type", "left"), ("output shape", "left"),
                            ("parameters", "right"), ("trainable", "right")):
        table.add_column(column, justify=justify)
    for item in description["inputs"]:
        table.add_row(item["name"], "input", item["shape"], "0", "0")
    for row in description["layers"]:
        table.add_row(row["name"], row["type"], row["output_shape"], f"{row['parameters']:,}",
                      f"{row['trainable_parameters']:,}")
    print_table(table, console)
    totals = description["totals"]
    console.print(
        f"parameters: {totals['parameters']:,} ({totals['trainable_parameters']:,} trainable, "
        f"{totals['non_trainable_parameters']:,} frozen)  weights: {human_bytes(totals['weight_bytes'])}  "
        f"FLOPs per example: {human_count(totals['flops_per_example'])}", markup=False)
    for note in description["notes"]:
        console.print(f"note: {note}", markup=False)
