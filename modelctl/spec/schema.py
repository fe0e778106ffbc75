"""The spec schema, generated from the registries.

`build_schema()` is the single source of truth for what a spec may say. The
file `schemas/modelctl.schema.json` is its committed output, for editors and
other validators; a test fails when the two drift. Regenerate it with
`modelctl schema --output schemas/modelctl.schema.json`.
"""

from __future__ import annotations

import functools
import json

from modelctl.registry import args, common
from modelctl.registry.base import Registry
from modelctl.spec import data_schema, search
from modelctl.registry.schema_parts import closed, prop, typed_family

SCHEMA_ID = "https://modelctl.dev/schemas/modelctl.schema.json"
SCHEMA_FILE = "schemas/modelctl.schema.json"
FORMAT_VERSION = 1
NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$"
PARAM_REF_PATTERN = r"^\$[A-Za-z_][A-Za-z0-9_]*$"
ITEM_KEYS = ("name", "inputs", "repeat", "block", "with")
FILE_REQUIRED = ["modelctl"]
"""Keys every spec file holds, a base that others extend included (it may leave out the rest)."""
RESOLVED_REQUIRED = ["modelctl", "name", "model"]
"""Keys a spec holds once its bases are merged (`modelctl.spec.extends`)."""
EVALUATION_METRICS = [
    "accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "log_loss", "top_k_accuracy",
    "confusion_matrix", "mse", "rmse", "mae", "r2", "mape", "subset_accuracy", "hamming_loss",
]


def registries() -> dict[str, Registry]:
    """Every registry by family, plug-in layers and export formats included."""
    from modelctl.registry.callbacks import CALLBACKS
    from modelctl.registry.exporters import exporters
    from modelctl.registry.layers import LAYERS
    from modelctl.registry.losses import LOSSES
    from modelctl.registry.metrics import METRICS
    from modelctl.registry.optimizers import OPTIMIZERS
    from modelctl.registry.plugins import load_plugins
    from modelctl.registry.schedules import SCHEDULES

    load_plugins(LAYERS)
    return {"layer": LAYERS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "loss": LOSSES, "metric": METRICS,
            "callback": CALLBACKS, "exporter": exporters()}


@functools.lru_cache(maxsize=1)
def build_schema() -> dict:
    """Return the spec schema (JSON Schema draft 2020-12) as a dict."""
    families = registries()
    defs = common.definitions()
    defs.update(_layer_defs(families["layer"]))
    optimizer, optimizer_defs = typed_family(families["optimizer"], "optimizer",
                                             "The optimizer: a name, or `{type: NAME, ...arguments}`.")
    schedule, schedule_defs = typed_family(families["schedule"], "schedule",
                                           "Learning-rate schedule over the run: `{type: NAME, ...arguments}`.")
    loss, loss_defs = typed_family(families["loss"], "loss", "A loss: a name, or `{type: NAME, ...arguments}`.")
    metric, metric_defs = typed_family(families["metric"], "metric",
                                       "A metric: a name, or `{type: NAME, ...arguments}`.")
    for extra in (optimizer_defs, schedule_defs, loss_defs, metric_defs):
        defs.update(extra)
    defs.update({"optimizer": optimizer, "schedule": schedule, "loss": loss, "metric": metric,
                 "source": data_schema.source_schema(), "feature": data_schema.feature_schema(),
                 "label": data_schema.label_schema()})
    search_section, search_defs = search.section_schema()
    defs.update(search_defs)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "modelctl spec",
        "description": "One experiment: the data, the model, how it is trained, evaluated and exported.",
        "type": "object",
        "properties": {
            "modelctl": prop({"const": FORMAT_VERSION}, "Spec format version; this release reads 1.", 1),
            "extends": prop({"anyOf": [{"type": "string", "minLength": 1},
                                       {"type": "array", "items": {"type": "string", "minLength": 1},
                                        "minItems": 1, "uniqueItems": True}]},
                            "Base spec files this one is merged onto, in order, relative to this file: mappings "
                            "merge key by key, lists and other values replace the base's, null removes a key. "
                            "`name` and `model` are required once merged; a base may leave them out.", []),
            "name": args.string("Name of the experiment; runs are stored under runs/NAME/.",
                                pattern="^[A-Za-z0-9][A-Za-z0-9_.-]*$"),
            "description": args.string("What the experiment is for.", "", min_length=0),
            "seed": args.integer("Seed for splits, initial weights, shuffling and dropout.", 0, minimum=0),
            "data": data_schema.data_schema(),
            "model": _model_section(),
            "training": _training_section(families),
            "evaluation": _evaluation_section(),
            "export": _export_section(families["exporter"]),
            "tracking": _tracking_section(),
            "search": search_section,
        },
        "required": FILE_REQUIRED,
        "additionalProperties": False,
        "$defs": defs,
    }


@functools.lru_cache(maxsize=2)
def validator(resolved: bool = True):
    """A jsonschema validator for the spec schema (built once per process).

    Args:
        resolved: True (the default) checks a spec with its bases merged, which must hold every key of
            `RESOLVED_REQUIRED`; False checks one file as written, a partial base included (`FILE_REQUIRED`).
    """
    from modelctl.spec.strict import validator as strict_validator

    return strict_validator({**build_schema(), "required": RESOLVED_REQUIRED if resolved else FILE_REQUIRED})


def schema_text() -> str:
    """The schema as it is written to `schemas/modelctl.schema.json`."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def _layer_value(entry, template: bool) -> dict:
    """Schema of the value under a layer's key (`dense: {...}`, `dropout: 0.2`, `flatten:`)."""
    if template:
        # Inside a block any argument may be a `$param` reference; arguments are checked once expanded.
        then = {"propertyNames": {"title": f"{entry.name} argument", "enum": [*entry.args, "trainable", "dtype"]}}
        return {"description": entry.description, "if": {"type": "object"}, "then": then}
    if entry.shorthand:
        other = dict(entry.args[entry.shorthand])
    elif entry.required:
        other = {"type": "object"}
    else:
        other = {"type": "null"}
    return {"description": entry.description, "if": {"type": "object"},
            "then": {"$ref": f"#/$defs/layer.{entry.name}"}, "else": other}


def _layer_defs(layers: Registry) -> dict:
    defs = {}
    common_args = {
        "trainable": args.boolean("Whether the layer's weights are updated in training.", True),
        "dtype": args.ref("dtype", "Dtype or mixed-precision policy of this layer; null follows the run.", None),
    }
    for entry in layers:
        # An entry's own argument wins over the common one (a frozen backbone defaults to trainable: false).
        defs[f"layer.{entry.name}"] = closed({**common_args, **entry.args}, entry.description,
                                             required=entry.required)
    item_keys = {
        "name": args.string("Name other items use in `inputs`; also the Keras layer name.", None,
                            pattern=NAME_PATTERN),
        "inputs": args.any_of([{"type": "string", "minLength": 1},
                               {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}],
                              "Names of earlier items or model inputs this item reads; `previous` is the item "
                              "just before.", "previous"),
        "repeat": args.integer("Stack this item N times, each feeding the next.", 1, minimum=1),
        "block": args.string("Name of a block from `model.blocks` to insert here.", None, pattern=NAME_PATTERN),
        "with": prop({"type": "object", "propertyNames": {"pattern": NAME_PATTERN}},
                     "Parameter values for the block.", {}),
    }
    kinds = [*layers.names(), "block"]
    for name, template in (("layer", False), ("template_layer", True)):
        properties = {entry.name: _layer_value(entry, template) for entry in layers}
        defs[name] = {
            "title": "layer",
            "description": "One item of a layer list: `{LAYER: {...arguments}}` plus optional name, inputs "
                           "and repeat, `{block: NAME, with: {...}}`, or a bare layer name.",
            "if": {"type": "string"},
            "then": {"title": "layer", "enum": [e.name for e in layers if not e.required]},
            # Exactly one layer (or block) per item, in a form validators check quickly: the keys may not all
            # be item keys, and a layer key allows no other layer key beside it.
            "else": {"title": "layer", "type": "object", "properties": {**properties, **item_keys},
                     "additionalProperties": False,
                     "not": {"propertyNames": {"enum": ["name", "inputs", "repeat", "with"]}},
                     "dependentSchemas": {kind: {"propertyNames": {"title": "layer", "enum": [kind, *ITEM_KEYS]}}
                                          for kind in kinds}},
        }
    defs["wrapped_layer"] = {
        "title": "layer",
        "description": "A single layer written as `{LAYER: {...arguments}}`.",
        "type": "object",
        "properties": {entry.name: _layer_value(entry, False) for entry in layers},
        "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
    }
    # A feature's augmentation runs on training batches only, so it takes the layers that are the identity at
    # inference: any other would change what the model sees at inference, or its input shape.
    defs["augmentation_layer"] = {
        "title": "augmentation layer",
        "description": "A random layer written as `{LAYER: {...arguments}}`, one that is active in training only.",
        "type": "object",
        "properties": {entry.name: _layer_value(entry, False) for entry in layers if entry.meta.get("training_only")},
        "additionalProperties": False, "minProperties": 1, "maxProperties": 1,
    }
    return defs


def _model_section() -> dict:
    input_schema = closed({
        "shape": args.shape("Shape of one example, without the batch dimension; null marks a variable size."),
        "dtype": args.choice(["float32", "float16", "int32", "int64", "string", "bool"], "Dtype of the input.",
                             "float32"),
        "description": args.string("What the input is.", ""),
    }, "One model input.", required=["shape"])
    block = closed({
        "description": args.string("What the block does.", ""),
        "params": prop({"type": "object", "propertyNames": {"pattern": NAME_PATTERN}},
                       "Parameters and their defaults; a null default makes the parameter required. Layers "
                       "refer to a parameter as `$name`.", {}),
        "layers": prop({"type": "array", "items": {"$ref": "#/$defs/template_layer"}, "minItems": 1},
                       "The block's layers; `input` names the block's input."),
    }, "A reusable sub-graph with parameters.", required=["layers"])
    return closed({
        "inputs": prop({"type": "object", "minProperties": 1, "propertyNames": {"pattern": NAME_PATTERN},
                        "additionalProperties": input_schema},
                       "Model inputs by name; by default one per data feature, shaped by its preprocessing.", {}),
        "blocks": prop({"type": "object", "propertyNames": {"pattern": NAME_PATTERN},
                        "additionalProperties": block}, "Reusable blocks by name.", {}),
        "layers": prop({"type": "array", "items": {"$ref": "#/$defs/layer"}, "minItems": 1},
                       "The layers; a plain list reads as a stack."),
        "outputs": prop({"type": "array", "items": {"type": "string", "pattern": NAME_PATTERN}, "minItems": 1,
                         "uniqueItems": True},
                        "Names of the items that are model outputs; by default the items named like the labels, "
                        "else the last item.", None),
    }, "The network, as a list of layers.", required=["layers"])


def _per_output(schema: dict, description: str, default) -> dict:
    """`schema`, or a mapping of output name -> `schema` for several outputs."""
    by_output = {"type": "object", "propertyNames": {"pattern": NAME_PATTERN}, "additionalProperties": schema}
    return prop({"if": {"type": "object", "not": {"required": ["type"]}}, "then": by_output, "else": schema},
                description, default)


def _callback(registry: Registry, name: str) -> dict:
    entry = registry.get(name)
    return prop({"if": {"type": "boolean"}, "else": closed(entry.args, entry.description)},
                f"{entry.description} `true` uses the defaults, `false` turns it off.", False)


def _training_section(families: dict[str, Registry]) -> dict:
    metrics = {"type": "array", "items": {"$ref": "#/$defs/metric"}}
    callbacks = families["callback"]
    return closed({
        "epochs": args.integer("Passes over the training split.", 10, minimum=1),
        "steps_per_epoch": args.integer("Training steps per epoch; null for the whole split.", None, minimum=1),
        "steps_per_execution": prop(
            {"if": {"type": "string"}, "then": {"const": "auto"}, "else": {"type": "integer", "minimum": 1}},
            "Training steps run by one call of the compiled training function: `auto`, or an integer that divides "
            "the steps of an epoch. Progress, Ctrl-C and the NaN guard act once per call. auto picks the largest "
            "divisor of an epoch's steps up to 64 (1 under mirrored over several replicas).", "auto"),
        "optimizer": prop({"$ref": "#/$defs/optimizer"}, "The optimizer.", "adam"),
        "schedule": prop({"anyOf": [{"$ref": "#/$defs/schedule"}, {"type": "null"}]},
                         "Learning-rate schedule; null keeps the optimizer's learning rate.", None),
        "loss": _per_output({"$ref": "#/$defs/loss"}, "The loss, or a mapping of output name -> loss.", None),
        "loss_weights": prop({"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
                             "Weight of each output's loss in the total.", {}),
        "metrics": _per_output(metrics, "Metrics to track, or a mapping of output name -> metrics.", []),
        "class_weight": prop({"if": {"type": "string"}, "then": {"enum": ["balanced"]},
                              "else": {"type": ["object", "null"],
                                       "additionalProperties": {"type": "number", "minimum": 0}}},
                             "`balanced`, or class -> weight; null weighs every class alike.", None),
        "sample_weight": args.string("Column holding a weight for each example.", None),
        "regularization": prop({"anyOf": [{"$ref": "#/$defs/regularizer"}, {"type": "null"}]},
                               "Penalty applied to every kernel that does not set its own.", None),
        **{name: _callback(callbacks, name) for name in callbacks.names()},
        "mixed_precision": args.choice(["auto", "float32", "mixed_float16", "mixed_bfloat16"],
                                       "Compute dtype policy; auto picks mixed_float16 on GPUs of compute "
                                       "capability 7.0+, mixed_bfloat16 on TPUs, float32 on CPUs.", "auto"),
        "distribution": args.choice(["auto", "one_device", "mirrored", "multi_worker", "tpu"],
                                    "Distribution strategy; auto picks the best for the detected hardware.", "auto"),
        "jit_compile": args.choice(["auto", True, False], "XLA compilation; auto turns it on for one GPU only.",
                                   "auto"),
        "deterministic": args.boolean("Make ops deterministic so reruns give identical results.", False),
        "scale_learning_rate": args.choice(["linear", "none"], "How the learning rate follows the number of "
                                           "replicas.", "linear"),
        "distillation": _distillation_section(),
    }, "How the model is trained.", default={})


def _distillation_section() -> dict:
    return closed({
        "teacher": args.string("The trained teacher, relative to this file: a run folder made by `modelctl train`, "
                               "a spec's runs folder (its newest run), or a SavedModel folder made by "
                               "`modelctl export`. It must read features this spec has, alike, and predict the "
                               "same categorical label with the same classes."),
        "temperature": args.number("Softens both models' class probabilities before they are compared: "
                                   "softmax(log(p) / temperature). 1 compares them as they are; higher "
                                   "temperatures weigh the classes the teacher finds unlikely more.", 4.0,
                                   exclusive_minimum=0),
        "alpha": args.number("Weight of the loss on the true labels: the training loss is `alpha * label loss + "
                             "(1 - alpha) * distillation loss`, the distillation loss being the KL divergence "
                             "from the teacher's softened probabilities to the student's, times temperature "
                             "squared. 1 trains on the labels alone, 0 on the teacher alone.", 0.1,
                             minimum=0, maximum=1),
    }, "Knowledge distillation: train this spec's model (the student) on the true labels and on a trained "
       "teacher's softened outputs. The run folder holds the student only; `val_loss` and the final metrics are the "
       "student's loss on the true labels. Categorical labels only (one label). Null (the default) trains on "
       "the labels alone.", required=["teacher"], type=["object", "null"], default=None)


def _evaluation_section() -> dict:
    return closed({
        "split": args.choice(["test", "validation", "train"], "Split the model is evaluated on.", "test"),
        "metrics": prop({"type": "array", "items": {"title": "evaluation metric", "enum": EVALUATION_METRICS},
                         "uniqueItems": True},
                        "Metrics reported; empty picks the usual ones for each label type.", []),
    }, "How the trained model is evaluated.", default={})


def _export_section(exporters: Registry) -> dict:
    options = {entry.name: closed(entry.args, f"Options of the {entry.name} export.", default={})
               for entry in exporters}
    return closed({
        "formats": prop({"type": "array", "items": {"title": "export format", "enum": exporters.names()},
                         "uniqueItems": True}, "Formats written by `modelctl export`.", ["saved_model"]),
        **options,
        "verify": closed({
            "tolerance": args.number("Largest absolute difference from the Keras model a float export may "
                                     "show.", 1e-4, exclusive_minimum=0),
            "examples": args.integer("Held-out examples each artifact is checked on.", 64, minimum=1),
        }, "How each artifact is checked against the trained model.", default={}),
    }, "Artifacts written after training.", default={})


def _tracking_section() -> dict:
    mlflow = closed({
        "uri": args.string("Tracking URI: an MLflow server (`http://host:5000`) or a database "
                           "(`sqlite:///mlflow.db`). Default: $MLFLOW_TRACKING_URI, else `sqlite:///mlflow.db` in "
                           "the current folder.", None),
        "experiment": args.string("MLflow experiment the runs are logged in; created when missing. Default: the "
                                  "spec's name.", None),
        "strict": args.boolean("Stop with an error when the tracking server cannot be reached or refuses a "
                               "write, instead of a warning (the run folder is complete either way, and "
                               "`modelctl track RUN` uploads it later).", False),
    }, "Log each run to MLflow: parameters, tags, per-epoch and final metrics, and the run folder's files. Needs "
       "the mlflow extra (`pip install 'modelctl[mlflow]'`). `train --track mlflow` turns it on without this "
       "section; null (the default) leaves it off.", type=["object", "null"], default=None)
    return closed({"mlflow": mlflow}, "Where runs are also logged, beside their run folder.", default={})
