"""`modelctl data`: what a spec's data section reads: rows per split, features, statistics, class balance."""

from __future__ import annotations

import json

from modelctl.spec.validate import load_spec


def describe_data(spec: str, overrides: list[str], examples: int = 3, *, cache=None) -> dict:
    """Read, split and fit the spec's data and describe it (JSON-ready). Statistics are gathered chunk by chunk
    (`modelctl.features.statistics.Described`), so data larger than memory is described too. `cache`: the
    prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder."""
    from modelctl.data.pipeline import prepare
    from modelctl.features.statistics import Described

    document = load_spec(spec, overrides)
    prepared = prepare(document, cache=cache)
    described = Described(prepared.fitted.features, prepared.labels, examples=examples)
    for split in ("train", "validation", "test"):
        for part in prepared.chunks(split):
            described.add(split, part.features, part.targets)
    return {"spec": document.spec.name, "rows": prepared.counts, "skipped": prepared.skipped,
            "features": described.feature_entries(), "labels": described.label_entries(),
            "examples": described.examples()}


def run_data(spec: str, overrides: list[str], output_format: str, *, console, cache=None) -> dict:
    description = describe_data(spec, overrides, cache=cache)
    if output_format == "json":
        console.out(json.dumps(description, indent=2), highlight=False)
        return description
    from rich.table import Table

    from modelctl.util.tables import print_table

    rows = description["rows"]
    console.print(f"{description['spec']}: " + ", ".join(f"{split} {count} rows" for split, count in rows.items()),
                  markup=False)
    for reason, count in description["skipped"].items():
        console.print(f"skipped {count}: {reason}", markup=False)
    table = Table(title="Features (training split)", title_justify="left")
    for column in ("feature", "type", "details"):
        table.add_column(column)
    for name, entry in description["features"].items():
        details = ", ".join(f"{key} {value}" for key, value in entry.items() if key != "type")
        table.add_row(name, entry["type"], details)
    print_table(table, console)
    table = Table(title="Labels", title_justify="left")
    for column in ("label", "type", "details"):
        table.add_column(column)
    for name, entry in description["labels"].items():
        details = "; ".join(f"{key} {value}" for key, value in entry.items() if key not in ("type",))
        table.add_row(name, entry["type"], details)
    print_table(table, console)
    console.print("first training examples, raw and after the fitted numeric steps:", markup=False)
    for row in description["examples"]:
        console.print("  " + json.dumps(row), markup=False)
    return description
