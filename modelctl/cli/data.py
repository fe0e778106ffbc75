"""`modelctl data`: what a spec's data section reads: rows per split, features, statistics, class balance."""

from __future__ import annotations

import json

import numpy as np

from modelctl.spec.validate import load_spec


def describe_data(spec: str, overrides: list[str], examples: int = 3) -> dict:
    """Read, split and fit the spec's data and describe it (JSON-ready)."""
    from modelctl.data.pipeline import prepare

    document = load_spec(spec, overrides)
    prepared = prepare(document)
    train = prepared.arrays("train")
    features = {}
    for name, fitted in prepared.fitted["features"].items():
        entry = {"type": fitted["type"]}
        if fitted["type"] == "numeric":
            values = train.features[name].astype(np.float64)
            with np.errstate(all="ignore"):
                entry.update(columns=fitted["columns"], width=fitted["width"], missing=int(np.isnan(values).sum()),
                             mean=_round(np.nanmean(values)), std=_round(np.nanstd(values)),
                             min=_round(np.nanmin(values)), max=_round(np.nanmax(values)),
                             steps=[step["op"] for step in fitted["steps"]])
        elif fitted["type"] in ("categorical", "text"):
            entry.update(column=fitted["column"], vocabulary_size=len(fitted["vocabulary"]),
                         vocabulary=fitted["vocabulary"][:10])
        else:
            entry.update(column=fitted["column"], size=fitted["size"], channels=fitted["channels"],
                         augmentation=[next(iter(item)) for item in fitted.get("augmentation") or []])
        features[name] = entry
    labels = {}
    for name, encoder in prepared.labels.items():
        entry = {"type": encoder.kind, "column": encoder.column, "classes": encoder.classes}
        if encoder.kind in ("binary", "categorical"):
            balance = {}
            for split in ("train", "validation", "test"):
                part = prepared.arrays(split)
                if part is None:
                    continue
                counts = np.bincount(part.targets[name].astype(int).reshape(-1), minlength=len(encoder.classes))
                balance[split] = dict(zip(encoder.classes, (int(count) for count in counts)))
            entry["balance"] = balance
        elif encoder.kind == "regression":
            values = train.targets[name].astype(np.float64)
            entry.update(mean=_round(values.mean()), std=_round(values.std()), min=_round(values.min()),
                         max=_round(values.max()))
        labels[name] = entry
    from modelctl.data.numeric import apply_numeric

    shown = train.take(slice(0, examples))
    prepared_values = {name: apply_numeric(fitted["steps"], values.reshape(len(values), -1))
                       if (fitted := prepared.fitted["features"][name])["type"] in ("numeric", "image") else values
                       for name, values in shown.features.items()}
    rows = [{name: {"raw": _plain(shown.features[name][index]), "preprocessed": _plain(values[index])}
             for name, values in prepared_values.items()} for index in range(len(shown))]
    return {"spec": document.data.get("name"), "rows": prepared.counts, "skipped": prepared.skipped,
            "features": features, "labels": labels, "examples": rows}


def _round(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def _plain(value):
    array = np.asarray(value)
    if array.dtype == object or array.dtype.kind in "US":
        return [str(item) for item in array.reshape(-1)] if array.size > 1 else str(array.reshape(-1)[0])
    flat = array.reshape(-1)
    shown = [round(float(item), 4) for item in flat[:16]]
    return shown + ["..."] if flat.size > 16 else shown


def run_data(spec: str, overrides: list[str], output_format: str, console) -> dict:
    description = describe_data(spec, overrides)
    if output_format == "json":
        console.out(json.dumps(description, indent=2), highlight=False)
        return description
    from rich.table import Table

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
    console.print(table)
    table = Table(title="Labels", title_justify="left")
    for column in ("label", "type", "details"):
        table.add_column(column)
    for name, entry in description["labels"].items():
        details = "; ".join(f"{key} {value}" for key, value in entry.items() if key not in ("type",))
        table.add_row(name, entry["type"], details)
    console.print(table)
    console.print("first training examples, raw and after the fitted numeric steps:", markup=False)
    for row in description["examples"]:
        console.print("  " + json.dumps(row), markup=False)
    return description
