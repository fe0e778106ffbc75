"""Checks a JSON Schema cannot express: names, references, outputs, losses, splits, monitors, exports, files.

Each check reads the plain spec data defensively (the schema may have failed
too) and reports `(path, message, severity)` problems through a `Report`.
"""

from __future__ import annotations

import fnmatch
import glob
import math
from pathlib import Path
from typing import Callable, Iterator

from modelctl.errors import ERROR, WARNING, Diagnostic, did_you_mean, one_of
from modelctl.features import LABEL_TYPES, label_type
from modelctl.spec import graph as graph_module
from modelctl.spec.loader import Document
from modelctl.spec.typed import schema_default

DEFAULT_LOSS = {name: label_type(name).default_loss for name in LABEL_TYPES}
"""Loss used for each label type when the spec names none (`LabelType.default_loss`)."""

MONITORED = ("early_stopping", "checkpoint", "reduce_lr_on_plateau")


class Report:
    def __init__(self, document: Document):
        self.document = document
        self.items: list[Diagnostic] = []

    def error(self, path: tuple, message: str, key: bool = False) -> None:
        self.items.append(self.document.diagnostic(path, message, ERROR, key=key))

    def warning(self, path: tuple, message: str, key: bool = False) -> None:
        self.items.append(self.document.diagnostic(path, message, WARNING, key=key))


def _section(spec: dict, name: str) -> dict:
    value = spec.get(name)
    return value if isinstance(value, dict) else {}


def model_inputs(spec: dict) -> list[str]:
    """Names of the model's inputs: declared under model.inputs, else the data features."""
    declared = _section(_section(spec, "model"), "inputs")
    return list(declared or _section(_section(spec, "data"), "features"))


def label_types(spec: dict) -> dict[str, str]:
    labels = _section(_section(spec, "data"), "labels")
    return {name: label.get("type") for name, label in labels.items() if isinstance(label, dict)}


def check_graph(spec: dict, report: Report) -> graph_module.Graph | None:
    from modelctl.registry.layers import LAYERS

    model = _section(spec, "model")
    if not isinstance(model.get("layers"), list):
        return None
    graph = graph_module.expand(model, model_inputs(spec), LAYERS, labels=list(label_types(spec)))
    for path, message in graph.problems:
        report.error(path, message)
    _check_block_layers(graph, report)
    if not model_inputs(spec):
        report.error(("model",), "the model has no inputs: declare model.inputs or data.features")
    used = {name for node in graph.nodes for name in node.inputs} | set(graph.outputs)
    for node in graph.nodes:
        if node.name not in used and "name" in _item(spec, node.path):
            report.warning(node.path + ("name",), f"the output of '{node.name}' is never used")
    return graph


def _check_block_layers(graph: graph_module.Graph, report: Report) -> None:
    """Check the arguments of layers expanded from blocks, now that parameters are filled in."""
    from modelctl.registry.layers import LAYERS
    from modelctl.spec.messages import rebased
    from modelctl.spec.schema import validator

    checked = set()
    for node in graph.nodes:
        if node.path[:2] != ("model", "blocks"):
            continue
        if LAYERS.get(node.kind).takes(node.value):
            schema, instance = validator().evolve(schema={"$ref": f"#/$defs/layer.{node.kind}"}), node.args
        else:  # a scalar the layer has no shorthand for: checked as the same item outside a block is
            schema = validator().evolve(schema={"$ref": f"#/$defs/wrapped_layer/properties/{node.kind}"})
            instance = node.value
        for item in rebased(report.document, schema.iter_errors(instance), node.path + (node.kind,),
                            arg_paths=node.arg_paths):
            if (item.location, item.message) not in checked:
                checked.add((item.location, item.message))
                report.items.append(item)


def _item(spec: dict, path: tuple) -> dict:
    value = spec
    for part in path:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return {}
    return value if isinstance(value, dict) else {}


def check_normalization(graph: graph_module.Graph | None, report: Report) -> None:
    """Keras takes a normalization layer's `mean` and `variance` together, of one shape."""
    for node in graph.nodes if graph else []:
        if node.kind != "normalization":
            continue
        mean, variance = node.args.get("mean"), node.args.get("variance")
        if (mean is None) != (variance is None):
            given, missing = ("mean", "variance") if mean is not None else ("variance", "mean")
            report.error(node.arg_paths.get(given, node.path),
                         f"`{given}` is given without `{missing}`; give both, or neither. Received: "
                         f"{given}={node.args[given]!r}")
        elif _shape(mean) != _shape(variance):
            report.error(node.arg_paths.get("variance", node.path),
                         f"`mean` and `variance` must have the same shape. Received: mean={mean!r}, "
                         f"variance={variance!r}")


def _shape(value: object) -> tuple:
    return (len(value),) if isinstance(value, list) else ()


def check_outputs(spec: dict, graph: graph_module.Graph | None, report: Report) -> None:
    labels = label_types(spec)
    if graph is None or not labels or not graph.outputs:
        return
    if len(graph.outputs) != len(labels):
        report.error(("model",), f"the model has {len(graph.outputs)} output(s) ({', '.join(graph.outputs)}) but "
                                 f"data.labels declares {len(labels)} ({', '.join(labels)}); name each output "
                                 "item like its label or list model.outputs")
        return
    spec_labels = _section(_section(spec, "data"), "labels")
    for output, (label, kind) in zip(graph.outputs, labels.items()):
        node = graph.node(output)
        if node is None or node.kind != "dense" or not isinstance(node.args.get("units"), int):
            continue
        units = node.args["units"]
        expected = label_type(kind).output_units(spec_labels.get(label, {})) if kind in LABEL_TYPES else None
        if expected is not None and units != expected:
            report.error(node.arg_paths.get("units", node.path),
                         f"output '{output}' has {units} units but label '{label}' ({kind}) needs {expected}")


def _losses(spec: dict) -> Iterator[tuple[str, object, tuple]]:
    """(label name, written loss, path) for each label."""
    training = _section(spec, "training")
    loss = training.get("loss")
    labels = list(label_types(spec))
    if isinstance(loss, dict) and "type" not in loss:
        for name, value in loss.items():
            yield name, value, ("training", "loss", name)
    else:
        for name in labels:
            yield name, loss, ("training", "loss")


def _label_kinds(spec: dict) -> dict[str, str]:
    """Label name -> its target kind (`modelctl.registry.compatibility.target_kind`)."""
    from modelctl.registry.compatibility import target_kind

    labels = _section(_section(spec, "data"), "labels")
    return {name: target_kind(label.get("type"), label) for name, label in labels.items() if isinstance(label, dict)}


def _report(report: Report, path: tuple, problem, *, key: bool = False) -> None:
    (report.error if problem.severity == ERROR else report.warning)(path, problem.message, key=key)


def check_losses(spec: dict, graph: graph_module.Graph | None, report: Report) -> None:
    """Each label's loss reads its targets (`modelctl.registry.compatibility`), and its output layer makes sense
    with it."""
    from modelctl.registry.compatibility import loss_problem

    labels = label_types(spec)
    kinds = _label_kinds(spec)
    loss = _section(spec, "training").get("loss")
    if isinstance(loss, dict) and "type" not in loss:
        for name in loss:
            if labels and name not in labels:
                report.error(("training", "loss", name), f"'{name}' is not a label. Labels: "
                                                         f"{one_of(sorted(labels))}.{did_you_mean(name, list(labels))}",
                             key=True)
        for name in labels:
            if name not in loss:
                report.error(("training", "loss"), f"no loss for output '{name}'; give one per output")
    for label, written, path in _losses(spec):
        name = written.get("type") if isinstance(written, dict) else written
        if label not in kinds:
            continue
        if name is None:
            name = DEFAULT_LOSS.get(labels[label])
        elif isinstance(name, str):
            problem = loss_problem(name, kinds[label], label=label)
            if problem is not None:
                _report(report, path, problem)
                continue
        _check_output(spec, graph, label, loss=written if written is not None else name, path=path, report=report)


def check_metrics(spec: dict, report: Report) -> None:
    """Each metric of `training.metrics` reads the targets of the labels it is computed on: Keras raises on the
    others, or logs a wrong number (`modelctl.registry.compatibility`)."""
    from modelctl.registry.compatibility import argument_problem, metric_problem

    kinds = _label_kinds(spec)
    metrics = _section(spec, "training").get("metrics")
    if isinstance(metrics, dict):
        groups = [(("training", "metrics", output), value, [output]) for output, value in metrics.items()]
    else:
        groups = [(("training", "metrics"), metrics, list(kinds))]
    for base, group, labels in groups:
        for index, metric in enumerate(group if isinstance(group, list) else []):
            name = metric.get("type") if isinstance(metric, dict) else metric
            if not isinstance(name, str):
                continue
            problems = [metric_problem(name, kinds[label], label=label) for label in labels if label in kinds]
            problems.append(argument_problem("metric", name, metric if isinstance(metric, dict) else {}))
            problem = next((item for item in problems if item is not None), None)
            if problem is not None:
                _report(report, base + (index,), problem)


def _check_output(spec: dict, graph, label: str, *, loss: object, path: tuple, report: Report) -> None:
    """The warnings of `compatibility.OUTPUT_RULES` for the dense layer that gives `label`'s output."""
    from modelctl.registry.compatibility import output_problems

    if graph is None:
        return
    node = graph.node(label) if graph.node(label) else (graph.node(graph.outputs[0]) if len(graph.outputs) == 1
                                                        else None)
    if node is None or node.kind != "dense":
        return
    activation = node.args.get("activation") or "linear"
    units = node.args.get("units") if isinstance(node.args.get("units"), int) else None
    name = loss.get("type") if isinstance(loss, dict) else loss
    from_logits = isinstance(loss, dict) and loss.get("from_logits") is True
    for problem in output_problems(_label_kinds(spec)[label], activation=activation, units=units,
                                   loss=name if isinstance(name, str) else None, from_logits=from_logits,
                                   output=node.name):
        if problem.at == "loss":
            report.warning(path, problem.message)
        else:
            report.warning(node.arg_paths.get("activation", node.path), f"output '{node.name}': {problem.message}")


def built_output_problems(document: Document, built: dict[str, tuple[str | None, int | None]]) -> list[Diagnostic]:
    """For `validate --deep`: the checks of each output's units and activation (`check_outputs`, and
    `compatibility.OUTPUT_RULES`) on the built model, for outputs that `validate` alone cannot read from the spec
    (an output that is not a `dense` item: a block's last layer, an activation layer).

    Args:
        document: the validated spec.
        built: output name -> (activation of its last layer or None when it has none to read, units it gives).
    """
    from modelctl.registry.compatibility import output_problems

    spec = document.data
    report = Report(document)
    graph = check_graph(spec, Report(document))
    labels = label_types(spec)
    if graph is None or len(graph.outputs) != len(labels):
        return []
    spec_labels = _section(_section(spec, "data"), "labels")
    training_loss = _section(spec, "training").get("loss")
    for output, (label, kind) in zip(graph.outputs, labels.items()):
        node = graph.node(output)
        if node is None or node.kind == "dense" or output not in built:
            continue
        activation, units = built[output]
        expected = label_type(kind).output_units(spec_labels.get(label, {})) if kind in LABEL_TYPES else None
        if expected is not None and units is not None and units != expected:
            report.error(node.path, f"output '{output}' gives {units} values but label '{label}' ({kind}) needs "
                                    f"{expected}")
            continue
        loss = training_loss.get(label) if isinstance(training_loss, dict) and "type" not in training_loss \
            else training_loss
        name = loss.get("type") if isinstance(loss, dict) else loss if loss is not None else DEFAULT_LOSS.get(kind)
        from_logits = isinstance(loss, dict) and loss.get("from_logits") is True
        if activation is None:
            continue
        for problem in output_problems(_label_kinds(spec)[label], activation=activation, units=units,
                                       loss=name if isinstance(name, str) else None, from_logits=from_logits,
                                       output=output):
            report.warning(node.path, f"output '{output}' (its last layer, built): {problem.message}")
    return report.items


def check_split(spec: dict, report: Report) -> None:
    data = _section(spec, "data")
    split = data.get("split")
    if "source" not in data or not isinstance(split, dict):
        return
    fractions = {name: split.get(name, schema_default("data", "split", name))
                 for name in ("train", "validation", "test")}
    if not all(isinstance(value, (int, float)) for value in fractions.values()):
        return
    total = sum(fractions.values())
    if abs(total - 1.0) > 1e-6:
        shown = " + ".join(f"{name} {value:g}" for name, value in fractions.items())
        report.error(("data", "split"), f"split fractions must sum to 1; got {shown} = {total:g}")


def has_validation(spec: dict) -> bool:
    data = _section(spec, "data")
    if "sources" in data:
        return "validation" in _section(data, "sources")
    split = data.get("split") if isinstance(data.get("split"), dict) else {}
    return bool(split.get("validation", schema_default("data", "split", "validation")))


def _metric_names(spec: dict) -> list[str]:
    metrics = _section(spec, "training").get("metrics") or []
    groups = metrics.values() if isinstance(metrics, dict) else [metrics]
    names = []
    for group in groups:
        for metric in group if isinstance(group, list) else []:
            name = metric.get("type") if isinstance(metric, dict) else metric
            if isinstance(name, str):
                names.append(name)
    return names


def logged_values(spec: dict, graph) -> list[str]:
    """Names of the values training logs each epoch: the loss and metrics, per output when there are several,
    and each again with `val_` for the validation split."""
    distilled = isinstance(_section(spec, "training").get("distillation"), dict)
    base = ["loss", *_metric_names(spec), *(["distillation_loss"] if distilled else [])]
    outputs = graph.outputs if graph and len(graph.outputs) > 1 else []
    allowed = base + [f"{output}_{name}" for output in outputs for name in base]
    return allowed + [f"val_{name}" for name in allowed]


def check_monitors(spec: dict, graph, report: Report) -> None:
    training = _section(spec, "training")
    allowed = logged_values(spec, graph)
    for callback in MONITORED:
        config = training.get(callback)
        if not isinstance(config, dict) and config is not True:
            continue
        monitor = config.get("monitor", schema_default("training", callback, "monitor")) if isinstance(config, dict) \
            else schema_default("training", callback, "monitor")
        path = ("training", callback, "monitor") if isinstance(config, dict) and "monitor" in config \
            else ("training", callback)
        if not isinstance(monitor, str):
            continue
        if monitor not in allowed:
            report.error(path, f"'{monitor}' is not a value training logs. Logged: {one_of(allowed)}."
                               f"{did_you_mean(monitor, allowed)}")
        elif monitor.startswith("val_") and not has_validation(spec):
            report.error(path, f"'{monitor}' needs a validation split, and data has none; monitor "
                               f"'{monitor[4:]}' or add a validation split")


def check_search_metric(spec: dict, graph, report: Report) -> None:
    """`search.metric` must be a value training logs (on the validation split when it starts with `val_`)."""
    if not isinstance(spec.get("search"), dict):
        return
    metric = spec["search"].get("metric", schema_default("search", "metric"))
    if not isinstance(metric, str):
        return
    path = ("search", "metric") if "metric" in spec["search"] else ("search",)
    allowed = logged_values(spec, graph)
    if metric not in allowed:
        report.error(path, f"'{metric}' is not a value training logs. Logged: {one_of(allowed)}."
                           f"{did_you_mean(metric, allowed)}", key=path == ("search",))
    elif metric.startswith("val_") and not has_validation(spec):
        report.error(path, f"'{metric}' needs a validation split, and data has none; search on '{metric[4:]}' "
                           "or add a validation split", key=path == ("search",))


def check_optimizer(spec: dict, report: Report) -> None:
    training = _section(spec, "training")
    optimizer = training.get("optimizer")
    if isinstance(optimizer, dict):
        clipping = [key for key in ("clipnorm", "clipvalue", "global_clipnorm") if optimizer.get(key) is not None]
        if len(clipping) > 1:
            report.error(("training", "optimizer", clipping[1]), f"give at most one of clipnorm, clipvalue and "
                                                                 f"global_clipnorm; got {' and '.join(clipping)}",
                         key=True)
    name = optimizer.get("type") if isinstance(optimizer, dict) else optimizer
    schedule = training.get("schedule")
    if name == "ftrl" and isinstance(schedule, dict) and schedule.get("warmup_epochs") \
            and not schedule.get("warmup_start_factor"):
        report.error(("training", "schedule", "warmup_epochs"), "ftrl divides by the learning rate, so a warm-up "
                                                                "from 0 makes the loss NaN; set warmup_start_factor "
                                                                "above 0 (such as 0.1)")
    if isinstance(schedule, dict) and isinstance(schedule.get("warmup_epochs"), (int, float)):
        epochs = training.get("epochs", schema_default("training", "epochs"))
        if isinstance(epochs, int) and schedule["warmup_epochs"] >= epochs:
            report.error(("training", "schedule", "warmup_epochs"), f"the warm-up must end before the run does "
                                                                    f"({epochs} epochs). Received: warmup_epochs="
                                                                    f"{schedule['warmup_epochs']}")
    if training.get("schedule") and training.get("reduce_lr_on_plateau") not in (None, False):
        report.error(("training", "reduce_lr_on_plateau"), "reduce_lr_on_plateau changes the learning rate, which "
                                                           "`schedule` already sets; use one of them", key=True)


def divisors(number: int) -> list[int]:
    """The divisors of `number` (at least 1), in increasing order."""
    small = [candidate for candidate in range(1, math.isqrt(number) + 1) if number % candidate == 0]
    return sorted(set(small) | {number // candidate for candidate in small})


def indivisible_steps(requested: int, steps_per_epoch: int, origin: str = "") -> str | None:
    """Why `requested` steps per execution cannot train epochs of `steps_per_epoch` steps; None when it divides
    them. `origin` says where the steps come from, such as `training.steps_per_epoch`."""
    if steps_per_epoch % requested == 0:
        return None
    found = divisors(steps_per_epoch)
    nearest = [divisor for divisor in found if divisor < requested][-1:] + \
        [divisor for divisor in found if divisor > requested][:1]
    origin = f" ({origin})" if origin else ""
    return (f"{requested} does not divide the {steps_per_epoch} steps of an epoch{origin}: every execution runs "
            f"{requested} steps, so the last one of an epoch would train on the next epoch's batches. Use a divisor "
            f"of {steps_per_epoch}, such as {' or '.join(str(divisor) for divisor in nearest)}, or 'auto'")


def check_steps_per_execution(spec: dict, report: Report) -> None:
    """A `steps_per_execution` that does not divide `steps_per_epoch`, when both are given (otherwise the steps
    of an epoch follow from the data and are checked when training starts)."""
    training = _section(spec, "training")
    requested, steps = training.get("steps_per_execution"), training.get("steps_per_epoch")
    if all(isinstance(value, int) and not isinstance(value, bool) and value >= 1 for value in (requested, steps)):
        problem = indivisible_steps(requested, steps, "training.steps_per_epoch")
        if problem:
            report.error(("training", "steps_per_execution"), problem)


def check_export(spec: dict, report: Report) -> None:
    """Options of a format the spec does not export, and option values that need the data section (an export
    format's `meta["needs_data"]`)."""
    from modelctl.registry.exporters import exporters

    export = _section(spec, "export")
    formats = export.get("formats", schema_default("export", "formats"))
    if not isinstance(formats, list):
        return
    for entry in exporters():
        name = entry.name
        if name in export and name not in formats:
            report.error(("export", name), f"options for '{name}' are given but export.formats "
                                           f"({', '.join(map(str, formats)) or 'empty'}) does not include it; "
                                           f"add '{name}' to formats or remove these options", key=True)
        options = _section(export, name)
        for option, reasons in entry.meta.get("needs_data", {}).items():
            value = options.get(option)
            if isinstance(value, str) and value in reasons and not _section(spec, "data"):
                report.error(("export", name, option), f"{reasons[value]}, and the spec has no data section")


def check_evaluation(spec: dict, report: Report) -> None:
    split = _section(spec, "evaluation").get("split")
    data = _section(spec, "data")
    if not isinstance(split, str) or not data:
        return
    if "sources" in data:
        if split not in _section(data, "sources"):
            report.error(("evaluation", "split"), f"evaluation reads the '{split}' split but data.sources has "
                                                  f"no '{split}' source")
    elif isinstance(data.get("split"), dict) and data["split"].get(split, schema_default("data", "split", split)) == 0:
        report.error(("evaluation", "split"), f"evaluation reads the '{split}' split but its fraction is 0")


def check_files(spec: dict, report: Report) -> None:
    base = report.document.base_dir
    data = _section(spec, "data")
    sources = [(("data", "source"), data.get("source"))]
    sources += [(("data", "sources", name), value) for name, value in _section(data, "sources").items()]
    for path, source in sources:
        if not isinstance(source, dict):
            continue
        if isinstance(source.get("path"), str):
            _check_path(base, source["path"], path + ("path",), report=report)
        for column, file in _section(source, "arrays").items():
            if isinstance(file, str):
                _check_path(base, file, path + ("arrays", column), report=report)


def check_backbone_weights(graph, report: Report) -> None:
    if graph is None:
        return
    base = report.document.base_dir
    for node in graph.nodes:
        weights = node.args.get("weights") if node.kind == "backbone" else None
        if isinstance(weights, str) and weights != "imagenet":
            _check_path(base, weights, node.arg_paths.get("weights", node.path), report=report)
        if node.kind == "backbone" and "weights" in node.args and weights is None \
                and node.args.get("trainable") is not True and not node.args.get("fine_tune_last"):
            report.warning(node.arg_paths.get("weights", node.path),
                           "a frozen backbone with `weights: null` keeps its random initial weights, so the layers "
                           "after it learn from noise and the model stays at chance; give pretrained `weights`, or "
                           "train the backbone (`trainable: true` or `fine_tune_last`)")


def _check_path(base: Path, written: str, path: tuple, *, report: Report) -> None:
    from modelctl.util.storage import is_remote

    if is_remote(written):  # checked when it is read, with the storage's own answer
        return
    full = Path(written) if Path(written).is_absolute() else base / written
    if glob.has_magic(written):
        if not glob.glob(str(full)):
            report.error(path, f"no file matches '{written}' (looked in {_shown(full.parent)})")
    elif not full.exists():
        report.error(path, f"'{written}' does not exist (looked for {_shown(full)})")


def _shown(path: Path) -> str:
    """`path` relative to the working folder when it lies inside it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_distillation(spec: dict, graph, report: Report) -> None:
    """`training.distillation.teacher` must be a trained model that reads this spec's features and predicts its
    label with as many classes (`modelctl.spec.teacher`)."""
    from modelctl.spec.teacher import TeacherError, problems, read_teacher

    section = _section(spec, "training").get("distillation")
    if not isinstance(section, dict) or not isinstance(section.get("teacher"), str):
        return
    try:
        teacher = read_teacher(section["teacher"], report.document.base_dir)
    except TeacherError as error:
        report.error(("training", "distillation", "teacher"), str(error))
        return
    for path, message in problems(spec, teacher, graph):
        report.error(path, message)


def check_label_features(spec: dict, report: Report) -> None:
    """A feature that reads a label's column, by name or through a glob such as `*`: the model would be given the
    answer (target leakage) and score perfectly on every split."""
    data = _section(spec, "data")
    labels = {(label.get("column") or name): name for name, label in _section(data, "labels").items()
              if isinstance(label, dict)}
    for name, feature in _section(data, "features").items():
        if not isinstance(feature, dict):
            continue
        written = feature.get("columns")
        if isinstance(written, str):
            entries = [(("data", "features", name, "columns"), written, True)]
        elif isinstance(written, list):
            entries = [(("data", "features", name, "columns", index), column, False)
                       for index, column in enumerate(written)]
        else:
            column = feature.get("column")
            entries = [(("data", "features", name) + (("column",) if column else ()), column or name, False)]
        for path, column, is_glob in entries:
            if not isinstance(column, str):
                continue
            for label_column, label in labels.items():
                if is_glob and fnmatch.fnmatchcase(label_column, column):
                    report.warning(path, f"the glob '{column}' of feature '{name}' takes column '{label_column}', "
                                         f"which label '{label}' predicts: the model would be given the answer "
                                         "(target leakage); narrow the glob or list the columns")
                elif not is_glob and column == label_column:
                    report.warning(path, f"feature '{name}' reads column '{column}', which label '{label}' "
                                         "predicts: the model would be given the answer (target leakage); "
                                         "remove it from the features", key=path[-1] == name)


def check_seed(spec: dict, report: Report) -> None:
    if "seed" not in spec:
        report.warning(("name",), "no `seed`: runs use seed 0; write it down so others can reproduce the run",
                       key=True)


CHECKS: list[Callable] = [check_split, check_optimizer, check_steps_per_execution, check_export, check_evaluation,
                          check_files, check_label_features, check_seed]
"""Checks that need only the spec data."""


def run_checks(spec: dict, report: Report) -> None:
    """Run every semantic check on `spec`, adding problems to `report`."""
    graph = check_graph(spec, report)
    check_normalization(graph, report)
    check_outputs(spec, graph, report)
    check_losses(spec, graph, report)
    check_metrics(spec, report)
    check_monitors(spec, graph, report)
    check_search_metric(spec, graph, report)
    check_backbone_weights(graph, report)
    check_distillation(spec, graph, report)
    for check in CHECKS:
        check(spec, report)
