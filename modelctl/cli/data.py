"""`modelctl data`: what a spec's data section reads: rows per split, features, statistics, class balance."""

from __future__ import annotations

import json

import numpy as np

from modelctl.spec.validate import load_spec


def describe_data(spec: str, overrides: list[str], examples: int = 3, *, cache=None) -> dict:
    """Read, split and fit the spec's data and describe it (JSON-ready). Statistics are gathered chunk by chunk,
    so data larger than memory is described too. `cache`: the prepared-data cache
    (`modelctl.data.cache.DataCache`); default None: the default folder."""
    from modelctl.data.pipeline import prepare
    from modelctl.features import feature_type

    document = load_spec(spec, overrides)
    prepared = prepare(document, cache=cache)
    fitted_features = prepared.fitted.features
    numeric = [name for name, feature in fitted_features.items() if feature_type(feature.type).summarized]
    classified = [name for name, encoder in prepared.labels.items() if encoder.single_class]
    regression = [name for name, encoder in prepared.labels.items() if encoder.summarized]
    statistics = {name: _Running() for name in numeric}
    targets = {name: _Running() for name in regression}
    balance: dict[str, dict[str, np.ndarray]] = {name: {} for name in classified}
    shown = None
    for split in ("train", "validation", "test"):
        for part in prepared.chunks(split):
            if split == "train":
                if shown is None:
                    shown = part.take(slice(0, examples))
                for name in numeric:
                    statistics[name].add(part.features[name])
                for name in regression:
                    targets[name].add(part.targets[name])
            for name in classified:
                size = len(prepared.labels[name].classes)
                counts = np.bincount(part.targets[name].astype(int).reshape(-1), minlength=size)
                balance[name][split] = balance[name].get(split, 0) + counts
    features = {}
    for name, feature in fitted_features.items():
        summary = statistics[name].summary(missing=True) if name in statistics else None
        features[name] = {"type": feature.type, **feature_type(feature.type).describe(feature.entry, summary)}
    labels = {}
    for name, encoder in prepared.labels.items():
        entry = {"type": encoder.kind, "column": encoder.column, "classes": encoder.classes}
        if name in balance:
            entry["balance"] = {split: dict(zip(encoder.classes, (int(count) for count in counts)))
                                for split, counts in balance[name].items()}
        elif name in targets:
            entry.update(targets[name].summary())
        labels[name] = entry
    rows = []
    if shown is not None:
        prepared_values = {name: feature_type(fitted_features[name].type).preview(fitted_features[name].entry, values)
                           for name, values in shown.features.items()}
        rows = [{name: {"raw": _plain(shown.features[name][index]), "preprocessed": _plain(values[index])}
                 for name, values in prepared_values.items()} for index in range(len(shown))]
    return {"spec": document.spec.name, "rows": prepared.counts, "skipped": prepared.skipped,
            "features": features, "labels": labels, "examples": rows}


class _Running:
    """Count, mean, standard deviation, minimum and maximum of every value seen, missing (NaN) ones apart;
    chunks are merged with Chan's formula, so the figures equal those of the whole data at once."""

    def __init__(self):
        self.count = 0
        self.missing = 0
        self.mean = 0.0
        self.squares = 0.0
        self.low = np.inf
        self.high = -np.inf

    def add(self, values: np.ndarray) -> None:
        values = values.astype(np.float64).reshape(-1)
        present = values[~np.isnan(values)]
        self.missing += len(values) - len(present)
        if not len(present):
            return
        count, mean = len(present), float(present.mean())
        squares = float(((present - mean) ** 2).sum())
        total = self.count + count
        delta = mean - self.mean
        self.squares += squares + delta * delta * self.count * count / total
        self.mean += delta * count / total
        self.count = total
        self.low = min(self.low, float(present.min()))
        self.high = max(self.high, float(present.max()))

    def summary(self, missing: bool = False) -> dict:
        if not self.count:
            figures = {"mean": None, "std": None, "min": None, "max": None}
        else:
            figures = {"mean": _round(self.mean), "std": _round(np.sqrt(self.squares / self.count)),
                       "min": _round(self.low), "max": _round(self.high)}
        return {"missing": self.missing, **figures} if missing else figures


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
