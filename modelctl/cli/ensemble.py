"""`modelctl ensemble`: combine trained runs into one model in a run folder of its own."""

from __future__ import annotations

import sys
from pathlib import Path


def run_ensemble(runs: list[str], *, method: str, weights: str | None, output: Path | None, name: str | None,
                 console, cache=None) -> dict:
    """Create the ensemble, then print its folder, the notes (normalized weights) and the metrics of the ensemble
    and of each member on every split."""
    from modelctl.ensemble import create_ensemble

    result = create_ensemble(runs, method=method, weights=weights, output=output, name=name, cache=cache,
                             command_line=[Path(sys.argv[0]).name, *sys.argv[1:]])
    for note in result.notes:
        console.print(note, markup=False)
    render_splits(result, console)
    return {"run_dir": str(result.run_dir), "metrics": result.metrics}


def render_splits(result, console) -> None:
    """One table: a row per split of the ensemble, then of each member."""
    from rich.table import Table

    from modelctl.evaluation.report import format_value
    from modelctl.util.tables import print_table

    shown = f"{result.method}" + ("" if result.weights is None else
                                  f", weights {', '.join(f'{weight:.4g}' for weight in result.weights)}")
    table = Table(title=f"Ensemble {result.run_dir} ({shown})", title_justify="left")
    rows = [("ensemble", result.metrics)] + [(f"member {index}", metrics)
                                            for index, metrics in enumerate(result.member_metrics, start=1)]
    names = list(dict.fromkeys(name for _, metrics in rows for values in metrics.values() for name in values))
    table.add_column("model")
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for model, metrics in rows:
        for split, values in metrics.items():
            table.add_row(model, split, *(format_value(values[name]) if name in values else "" for name in names))
    print_table(table, console)
    for index, run in enumerate(result.members, start=1):
        console.print(f"member {index}: {run}", markup=False)
