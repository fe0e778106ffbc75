"""The spec reference in Markdown, generated from the schema's descriptions.

`docs/spec.md` is this module's output (`modelctl schema --format markdown`); a
test keeps it current.
"""

from __future__ import annotations

import json

from modelctl.registry.search import PRUNERS, SAMPLERS
from modelctl.spec.schema import RESOLVED_REQUIRED, build_schema, registries

REFERENCE_FILE = "docs/spec.md"
SECTIONS = ("data", "model", "training", "evaluation", "export", "search", "tracking")


def _type(schema: dict, defs: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        values = [json.dumps(value) for value in schema["enum"]]
        return "one of " + ", ".join(f"`{value}`" for value in values[:12]) + (" ..." if len(values) > 12 else "")
    if "anyOf" in schema:
        return " or ".join(_type(option, defs) for option in schema["anyOf"])
    if "if" in schema and "then" in schema:
        return " or ".join(part for part in (_type(schema["then"], defs), _type(schema.get("else", {}), defs))
                           if part)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(kinds)
    if kinds == "array" and isinstance(schema.get("items"), dict):
        return f"list of {_type(schema['items'], defs)}"
    return kinds or ""


def _default(schema: dict, required: bool) -> str:
    if required:
        return "required"
    if "default" not in schema:
        return ""
    return f"`{json.dumps(schema['default'])}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


NOTES = {
    "data": (
        "Prepared data is also kept on disk, so that a second `train`, `eval`, `export`, `data` or k-fold run on the "
        "same data skips reading and fitting: the examples of every split as Arrow IPC files (one record batch a "
        "chunk, read back a chunk at a time), the fitted preprocessing and the counts, in "
        "`$MODELCTL_CACHE_DIR/data/<key>` (default `$XDG_CACHE_HOME/modelctl`, else `~/.cache/modelctl`; "
        "`--cache-dir` chooses another folder). The key is a hash of this section with its defaults filled in, "
        "the spec's `seed`, `training.sample_weight` and `training.class_weight`, the k-fold fold, the "
        "preprocessing given by an earlier run, and each source file's path, size, modification time and content "
        "hash (`batch_size` and `shuffle_buffer` are left out: they act on batches). Changing the file or the "
        "section gives another key; a damaged or half-written entry is written again. `--no-cache` reads and "
        "fits from the source and writes nothing. The least recently used entries are removed past 20 GiB; "
        "`train` says which entry it read or wrote, and deleting the folder is always safe. Image features that "
        "read files named in a column are not cached, nor are the shards of a multi-worker run."),
    "training": (
        "`training.distillation` takes `teacher` (required: a run folder made by `modelctl train`, a spec's runs "
        "folder for its newest completed run, or a SavedModel folder made by `modelctl export`, relative to the spec "
        "file), `temperature` (default `4.0`, above 0) and `alpha` (default `0.1`, from 0 to 1). The student (this "
        "spec's model) trains on `alpha * label loss + (1 - alpha) * distillation loss`, as in the Keras example "
        "\"Knowledge Distillation\": the label loss is `training.loss` on the true labels, the distillation loss the "
        "KL divergence from `softmax(log(p_teacher) / temperature)` to `softmax(log(p_student) / temperature)` "
        "times `temperature` squared (logits stand for `log(p)` where a run's loss has `from_logits: true`; a "
        "SavedModel's outputs are read as probabilities), and regularization penalties are added unweighted. The "
        "spec must have one categorical label, and the teacher predict it with the same classes in the same order "
        "and read each of its features as this spec does (every key but `preprocessing`, `augmentation` and "
        "`description` alike): `validate` checks this at the `teacher` line from the teacher's files, without "
        "TensorFlow, and `train` checks the classes fitted on the data and the teacher's input shapes again. The "
        "teacher sees each batch's raw features without the student's augmentation. Training logs "
        "`distillation_loss` and `val_distillation_loss`, which callbacks may monitor; `val_loss` and "
        "the run's final metrics are the student's label loss, as without distillation. The run folder holds the student "
        "alone, so `eval`, `export`, `predict`, `serve` and `--resume` work as for any run; the run's record keeps "
        "the teacher's folder, kind and the content fingerprint of its model files, the temperature and alpha under "
        "`distillation`."),
    "tracking": (
        "`tracking.mlflow` takes `uri` (default `$MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db` in the current "
        "folder), `experiment` (default the spec's `name`) and `strict` (default `false`: a tracking server that "
        "cannot be reached gives a warning, training goes on and `modelctl track RUN` uploads the run later; "
        "`true` makes it an error). Each run logs the resolved spec (defaults filled in) as parameters (named by "
        "the paths `--set` takes, list items by their index: `model.layers.0.dense.units`), tags (spec name and "
        "hash, versions, git commit, hardware, strategy), every epoch's losses and metrics (`step` is the epoch), the final metrics "
        "of each split (`train/loss`, `test/accuracy`), and the run folder's files (its spec, record, history and fitted preprocessing) and the plots; "
        "`eval` adds its report and `export` its artifacts to the same MLflow run."),
    "search": (
        "`modelctl search SPEC` trains one run per trial, each with the spec's values replaced at the paths of "
        "`search.parameters` (the paths `--set` takes), and keeps the trials under `runs/NAME/search/STUDY/`. "
        "A parameter is `{type: uniform, low, high}` or `{type: loguniform, low, high}` (continuous; loguniform "
        "draws evenly on a log scale, low above 0), `{type: int, low, high, step: 1, log: false}` (every "
        "`low + k * step` up to `high`) or `{type: choice, values: [...]}` (any values the key takes, mappings "
        "included). `validate` puts each end of a range and each choice into the spec and checks it like a "
        "written value, reporting a bad one at the line of `low`, `high` or the value; a path must lead to a key "
        "of a written mapping or an item of a written list (the last key may be left at its default). The `grid` "
        "sampler needs every parameter discrete (`int` or `choice`). The metric is measured on the trained "
        "model at the end of each trial (after early stopping restores its best weights) and reported after "
        "each epoch for pruning. The sampler's seed is the spec's `seed`, plus the worker's number under `--workers` "
        "(its process id on a database that several machines share), so that workers draw different values."),
}
"""Prose shown after a section's table."""


def _table(properties: dict, required: set, defs: dict) -> list[str]:
    lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, schema in properties.items():
        lines.append(f"| `{name}` | {_cell(_type(schema, defs))} | {_cell(_default(schema, name in required))} | "
                     f"{_cell(schema.get('description', ''))} |")
    return lines


def _section(title: str, schema: dict, defs: dict, *, level: int = 2) -> list[str]:
    lines = [f"{'#' * level} {title}", "", schema.get("description", ""), ""]
    if "properties" in schema:
        lines += _table(schema["properties"], set(schema.get("required", [])), defs) + [""]
    return lines


def _variants(title: str, schema: dict, defs: dict) -> list[str]:
    """A discriminated mapping (source formats, feature and label types): one table per variant."""
    lines = _section(title, schema, defs)
    for branch in schema.get("allOf", []):
        key, condition = next(iter(branch["if"]["properties"].items()))
        properties = {name: value for name, value in branch["then"]["properties"].items() if name != key}
        lines += [f"### `{key}: {condition['const']}`", ""]
        lines += _table(properties, set(schema.get("required", [])), defs) + [""]
    return lines


def _family(family, title: str, defs: dict) -> list[str]:
    """One table per entry of a registry, given by its family name in `registries()` or as itself."""
    lines = [f"## {title}", ""]
    for entry in registries()[family] if isinstance(family, str) else family:
        lines += [f"### `{entry.name}`", "", entry.description, ""]
        if entry.args:
            lines += _table(dict(entry.args), set(entry.required), defs) + [""]
    return lines


def render_reference() -> str:
    """The whole reference as Markdown."""
    schema = build_schema()
    defs = schema["$defs"]
    lines = ["# Spec reference", "",
             "Generated from `schemas/modelctl.schema.json` by `modelctl schema --format markdown`; "
             "do not edit by hand.", ""]
    lines += _section("Top level", {**schema, "required": RESOLVED_REQUIRED}, defs)
    for name in SECTIONS:
        lines += _section(f"`{name}`", schema["properties"][name], defs)
        if name in NOTES:
            lines += [NOTES[name], ""]
    lines += _variants("Sources (`data.source`)", defs["source"], defs)
    lines += _variants("Features (`data.features.NAME`)", defs["feature"], defs)
    lines += _variants("Labels (`data.labels.NAME`)", defs["label"], defs)
    lines += _family("layer", "Layers (`model.layers`)", defs)
    lines += _family("optimizer", "Optimizers (`training.optimizer`)", defs)
    lines += _family("schedule", "Learning-rate schedules (`training.schedule`)", defs)
    lines += _family("loss", "Losses (`training.loss`)", defs)
    lines += _family("metric", "Metrics (`training.metrics`)", defs)
    lines += _family("callback", "Callbacks (`training.early_stopping` and the like)", defs)
    lines += _family("exporter", "Export formats (`export`)", defs)
    lines += _family(SAMPLERS, "Samplers (`search.sampler`)", defs)
    lines += _family(PRUNERS, "Pruners (`search.pruner`)", defs)
    lines += ["## Shared definitions", ""]
    for name in ("activation", "initializer", "regularizer", "constraint", "dtype"):
        lines += [f"### `{name}`", "", defs[name].get("description", ""), "", f"Type: {_cell(_type(defs[name], defs))}",
                  ""]
    return "\n".join(lines).rstrip() + "\n"
