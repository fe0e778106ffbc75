"""A commented spec drafted from a table's profile (`modelctl.init.profile`): the features, labels, split,
a model sized to the data, training with early stopping, evaluation and exports.

    text = draft_spec(profile, output=Path("spec.yaml"), command="modelctl init --data iris.csv")

Sizes follow the number of rows (`SIZES`): small tables get a small network, a larger share held out
for validation and test, small batches and a larger learning rate. The text is written by hand rather
than dumped by PyYAML so that it carries comments saying why each choice was made.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

import yaml

from modelctl.init.profile import BOOLEAN_VALUES, MAX_CATEGORIES, Column, Profile


@dataclasses.dataclass(frozen=True)
class Size:
    """Settings for tables of up to `rows` rows."""

    rows: float
    units: tuple[int, ...]
    dropout: float
    batch_size: int
    learning_rate: float
    split: tuple[float, float, float]


SIZES = (
    Size(1_000, (16, 16), 0.0, 16, 0.01, (0.6, 0.2, 0.2)),
    Size(100_000, (64, 32), 0.2, 32, 0.001, (0.8, 0.1, 0.1)),
    Size(float("inf"), (256, 128), 0.2, 256, 0.001, (0.9, 0.05, 0.05)),
)
"""The settings for each table size, smallest first."""

TEXT_TOKENS = 10_000
"""Words kept by a text feature's vocabulary (the most frequent)."""

_NAME = re.compile(r"[^A-Za-z0-9_]+")


def size_for(rows: int) -> Size:
    """The settings of `SIZES` for a table of `rows` rows."""
    return next(size for size in SIZES if rows <= size.rows)


def spec_name(path: Path) -> str:
    """A spec name from a file or folder name: `Customer Churn.csv` -> `customer-churn`."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(path).stem.lower()).strip("-._")
    return name or "model"


def identifier(column: str, taken: set[str]) -> str:
    """A feature or label name for `column` (letters, digits and underscores, not a digit first), not in
    `taken`; it is added to `taken`."""
    name = _NAME.sub("_", column).strip("_").lower() or "column"
    if name[0].isdigit():
        name = "c_" + name
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}_{number}", number + 1
    taken.add(candidate)
    return candidate


def flow(value) -> str:
    """`value` as one line of YAML (flow style), quoted only where YAML needs it."""
    text = yaml.safe_dump(value, default_flow_style=True, width=float("inf"), allow_unicode=True,
                          sort_keys=False).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def relative(path: Path, folder: Path) -> str:
    """`path` as written in a spec in `folder`: relative to it when it lies at most two folders up, else
    absolute (a spec that moves with its data keeps working; one far from it names it in full)."""
    absolute = Path(path).resolve()
    try:
        written = Path(os.path.relpath(absolute, Path(folder).resolve()))
    except ValueError:  # another drive
        return absolute.as_posix()
    return written.as_posix() if written.parts[:3].count("..") < 3 else absolute.as_posix()


def _comment(line: str, note: str, at: int = 44) -> str:
    return f"{line.ljust(at)}  # {note}" if note else line


def draft_spec(profile: Profile, output: Path, command: str) -> str:
    """The text of a spec for `profile`, to be written at `output` (paths are relative to its folder).

    Args:
        profile: the table, with each column's role decided.
        output: where the spec will be written.
        command: the command line that drafted it, quoted in the header comment.
    """
    size = size_for(profile.rows)
    taken: set[str] = set()
    numeric = profile.role("numeric")
    features: list[tuple[str, Column | None]] = []  # (feature name, column; None for the numeric group)
    if numeric:
        features.append((identifier("numbers", taken), None))
    for column in profile.columns:
        if column.role in ("categorical", "text"):
            features.append((identifier(column.name, taken), column))
    labels = [(identifier(column.name, taken), column) for column in profile.role("label")]
    skipped = profile.role("skip")
    classification = any(column.kind != "regression" for _, column in labels)

    rows = f"{profile.rows:,}{'+' if profile.more_rows else ''}"
    read = "" if profile.read == profile.rows else f" (the first {profile.read:,} read)"
    lines = [
        "#",
        f"# Drafted by `{command}` from {profile.path.name}: {rows} rows{read}, {len(profile.columns)} columns.",
        "# The comments say what was found in each column; check them and change what does not fit.",
        f"# Next: modelctl validate {output.name}, then modelctl train {output.name}.",
        "modelctl: 1",
        f"name: {flow(spec_name(profile.path))}",
        f"description: {flow(_description(labels, features, profile))}",
        "seed: 42",
        "data:",
        f"  source: {flow({'format': profile.format, 'path': relative(profile.path, output.parent)})}",
        "  features:",
    ]
    for name, column in features:
        lines += _feature_lines(name, column, numeric)
    if skipped:
        lines.append("  # Left out:")
        lines += [f"  #   {column.name}: {column.reason}" for column in skipped]
    lines.append("  labels:")
    for name, column in labels:  # the comment leaves out "guessed (pass --label to choose)"
        lines.append(_comment(f"    {name}: {flow(_label(column))}", column.reason.split("; ")[-1]))
    train, validation, test = size.split
    split = {"train": train, "validation": validation, "test": test, **({"stratify": True} if classification
                                                                         and len(labels) == 1 else {})}
    lines.append(_comment(f"  split: {flow(split)}", "stratified: each class keeps its share in every split"
                          if "stratify" in split else ""))
    lines.append(f"  batch_size: {size.batch_size}")
    lines += _model_lines(features, labels, size)
    lines += _training_lines(labels, size)
    lines += ["evaluation:", "  split: test", "export:",
              _comment("  formats: [saved_model, tflite, onnx]", "modelctl train spec.yaml --export writes them")]
    return "\n".join(lines) + "\n"


def _description(labels, features, profile: Profile) -> str:
    targets = " and ".join(column.name for _, column in labels)
    used = sum(1 for column in profile.columns if column.role in ("numeric", "categorical", "text"))
    return f"Predict {targets} from {used} column{'s' if used != 1 else ''} of {profile.path.name}."


def _feature_lines(name: str, column: Column | None, numeric: list[Column]) -> list[str]:
    if column is None:
        lines = [f"    {name}:",
                 _comment("      type: numeric", f"{len(numeric)} numeric column{'s' if len(numeric) != 1 else ''}"),
                 f"      columns: {flow([item.name for item in numeric])}",
                 _comment("      preprocessing: [standardize]", "mean 0, deviation 1, from the training split")]
        missing = sum(item.missing for item in numeric)
        lines.append(_comment("      missing: {strategy: median}",
                              f"empty cells ({missing} in the rows read) take the training median" if missing
                              else "empty cells, should any come, take the training median"))
        return lines
    if column.role == "categorical":
        lines = [f"    {name}:",
                 _comment("      type: categorical", f"one-hot; {column.reason}"),
                 f"      column: {flow(column.name)}"]
        if len(column.counts) > MAX_CATEGORIES:
            lines.append(_comment(f"      max_tokens: {MAX_CATEGORIES}", "the rarer values share one slot"))
        return lines
    return [f"    {name}:",
            _comment("      type: text", f"{column.reason}, as TF-IDF weights of its words"),
            f"      column: {flow(column.name)}",
            f"      max_tokens: {TEXT_TOKENS}",
            "      output_mode: tf_idf"]


def _label(column: Column) -> dict:
    label = {"column": column.name, "type": column.kind}
    if column.kind == "categorical":
        label["num_classes"] = len(column.counts)
    elif column.kind == "binary" and not {value.lower() for value in column.counts} <= BOOLEAN_VALUES:
        # The rarer value is usually the one to find (churned, fraud, spam); ties take the last in order.
        label["positive"] = min(reversed(column.classes), key=lambda value: column.counts[value])
    return label


def _output(column: Column) -> dict:
    if column.kind == "categorical":
        return {"units": len(column.counts), "activation": "softmax"}
    if column.kind == "binary":
        return {"units": 1, "activation": "sigmoid"}
    return {"units": 1}


def _model_lines(features, labels, size: Size) -> list[str]:
    lines = ["model:", "  layers:"]
    if len(features) > 1:
        lines += ["    - concatenate: {}", f"      inputs: {flow([name for name, _ in features])}"]
    for index, units in enumerate(size.units):
        lines.append(f"    - dense: {flow({'units': units, 'activation': 'relu'})}")
        if index == len(size.units) - 1 and len(labels) > 1:
            lines.append("      name: trunk")
        if size.dropout:
            lines.append(f"    - dropout: {size.dropout}")
    for name, column in labels:
        lines.append(f"    - dense: {flow(_output(column))}")
        lines.append(f"      name: {name}")
        if len(labels) > 1:
            lines.append("      inputs: [trunk]")
    return lines


LOSSES = {"categorical": "sparse_categorical_crossentropy", "binary": "binary_crossentropy",
          "regression": "mean_squared_error"}
METRICS = {"categorical": ["accuracy"], "binary": ["accuracy", "auc"], "regression": ["mean_absolute_error"]}


def _training_lines(labels, size: Size) -> list[str]:
    regression = all(column.kind == "regression" for _, column in labels)
    epochs, patience = (300, 20) if regression else (200, 10)
    learning_rate = 0.01 if regression else size.learning_rate
    lines = ["training:", f"  epochs: {epochs}",
             f"  optimizer: {flow({'type': 'adam', 'learning_rate': learning_rate})}"]
    if len(labels) == 1:
        [(_, column)] = labels
        lines += [f"  loss: {LOSSES[column.kind]}", f"  metrics: {flow(METRICS[column.kind])}"]
    else:
        lines += [f"  loss: {flow({name: LOSSES[column.kind] for name, column in labels})}",
                  f"  metrics: {flow({name: METRICS[column.kind] for name, column in labels})}"]
    lines.append(_comment(f"  early_stopping: {flow({'monitor': 'val_loss', 'patience': patience})}",
                          "stops when val_loss stalls, keeps the best epoch"))
    return lines
