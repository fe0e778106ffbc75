"""The spec as typed, frozen objects, every default filled in from the schema.

    spec = document.spec            # or typed(document.data), once the document is valid
    spec.data.batch_size            # 32 unless the spec says otherwise
    spec.training.early_stopping    # Callback(enabled=False, args={monitor: val_loss, ...})

The sections with fixed keys are dataclasses whose fields are the schema's
`properties`, and carry no Python defaults: `typed()` walks the schema
(`modelctl.spec.schema.build_schema`) and takes each missing key's `default`
from it, so a default is written once, where the schema is built. A test
keeps the fields and the schema's keys in step.

Parts whose keys a registry or a feature type defines (features, labels,
sources, layers, optimizer, schedule, losses and metrics, search parameters)
stay the plain values the spec wrote, copied: changing them changes neither
the document nor another typed view. Their owners fill their defaults: a
feature or label type from its own schema (`FeatureType.with_defaults`), an
optimizer, loss or schedule from its registry entry (`Entry.defaults`). A
callback and an export format's options are filled here: their arguments are
registry entries whose defaults the schema holds.

The view is only read after validation: on a spec the schema refuses it may
raise, or hold values of the wrong type.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable, Mapping

SECTION = "section"
"""Field metadata key: the builder of a field's value, for a value with its own schema section."""


def _section(builder: Callable[[dict, Any], Any]) -> dataclasses.Field:
    return dataclasses.field(metadata={SECTION: builder})


@dataclasses.dataclass(frozen=True)
class Callback:
    """A callback key of `training` (early_stopping, checkpoint, ...).

    Attributes:
        enabled: whether the spec turns the callback on (`true` or a mapping); False for `false`, the default.
        args: every argument of the callback, the spec's values over the registry's defaults (filled whether or
            not it is enabled: the checkpoint's `monitor`, `mode` and `save_best` steer the run's best epoch).
    """

    enabled: bool
    args: Mapping[str, Any]


def _callback(schema: dict, written: Any) -> Callback:
    defaults = {name: copy.deepcopy(item.get("default")) for name, item in schema["else"]["properties"].items()}
    given = copy.deepcopy(written) if isinstance(written, dict) else {}
    return Callback(enabled=bool(written), args={**defaults, **given})


@dataclasses.dataclass(frozen=True)
class Split:
    """`data.split`: the fractions of rows per split, stratification and the split's seed (None: the spec's)."""

    train: float
    validation: float
    test: float
    stratify: bool
    seed: int | None


@dataclasses.dataclass(frozen=True)
class Sources:
    """`data.sources`: one source per split (plain mappings as written), None for a split without one."""

    train: Mapping[str, Any]
    validation: Mapping[str, Any] | None
    test: Mapping[str, Any] | None

    def get(self, split: str) -> Mapping[str, Any] | None:
        """The source of `split` (train, validation or test)."""
        return getattr(self, split)


@dataclasses.dataclass(frozen=True)
class Data:
    """`data`: where examples come from and how they are batched. `features` and `labels` are name -> the
    spec's mapping (their feature and label types own their keys); `labels` is None for a model without
    targets."""

    source: Mapping[str, Any] | None
    sources: Sources | None = _section(lambda schema, value: _build(Sources, schema, value))
    features: Mapping[str, Mapping[str, Any]]
    labels: Mapping[str, Mapping[str, Any]] | None
    split: Split = _section(lambda schema, value: _build(Split, schema, value))
    batch_size: int
    shuffle_buffer: int
    cache: bool
    on_bad_rows: str

    def source_of(self, split: str = "train") -> Mapping[str, Any] | None:
        """The source `split` is read from: `source` (divided by `split`), else `sources.SPLIT`."""
        if self.source is not None:
            return self.source
        return None if self.sources is None else self.sources.get(split)


@dataclasses.dataclass(frozen=True)
class ModelInput:
    """One of `model.inputs`: the shape of one example (None for a variable size), its dtype, a description."""

    shape: list[int | None]
    dtype: str
    description: str


def _model_inputs(schema: dict, written: Mapping[str, Any]) -> dict[str, ModelInput]:
    return {name: _build(ModelInput, schema["additionalProperties"], value) for name, value in written.items()}


@dataclasses.dataclass(frozen=True)
class Model:
    """`model`: inputs by name (empty: one per feature), blocks by name, the layer list and output names
    (None: chosen from the labels); blocks and layers as written."""

    inputs: Mapping[str, ModelInput] = _section(_model_inputs)
    blocks: Mapping[str, Mapping[str, Any]]
    layers: list
    outputs: list[str] | None

    def as_dict(self) -> dict:
        """The section as a plain mapping (a copy), for `modelctl.spec.graph.expand`."""
        return copy.deepcopy(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Distillation:
    """`training.distillation`: the teacher (as written, relative to the spec's folder), the temperature both
    models' probabilities are softened by and the weight of the loss on the true labels."""

    teacher: str
    temperature: float
    alpha: float


@dataclasses.dataclass(frozen=True)
class Training:
    """`training`: how the model is trained. `optimizer`, `schedule`, `loss`, `metrics` and `regularization`
    are as written (a name or `{type: NAME, ...arguments}`; `loss` and `metrics` may map output -> value); each
    callback is a `Callback`; `distillation` is None unless the spec distills a teacher."""

    epochs: int
    steps_per_epoch: int | None
    steps_per_execution: int | str
    optimizer: str | Mapping[str, Any]
    schedule: Mapping[str, Any] | None
    loss: Any
    loss_weights: Mapping[str, float]
    metrics: list | Mapping[str, list]
    class_weight: str | Mapping[str, float] | None
    sample_weight: str | None
    regularization: Mapping[str, Any] | None
    checkpoint: Callback = _section(_callback)
    csv_logger: Callback = _section(_callback)
    early_stopping: Callback = _section(_callback)
    reduce_lr_on_plateau: Callback = _section(_callback)
    tensorboard: Callback = _section(_callback)
    mixed_precision: str
    distribution: str
    jit_compile: str | bool
    deterministic: bool
    scale_learning_rate: str
    distillation: Distillation | None = _section(lambda schema, value: _build(Distillation, schema, value))

    def callback(self, name: str) -> Callback:
        """The callback of registry name `name` (`modelctl.registry.callbacks.CALLBACKS`)."""
        value = getattr(self, name, None)
        if not isinstance(value, Callback):
            raise KeyError(name)
        return value


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """`evaluation`: the split evaluated and the metrics reported (empty: the usual ones per label type)."""

    split: str
    metrics: list[str]


@dataclasses.dataclass(frozen=True)
class Verify:
    """`export.verify`: largest absolute difference a float export may show, and how many examples check it."""

    tolerance: float
    examples: int


@dataclasses.dataclass(frozen=True)
class Export:
    """`export`: the formats written, each export format's options (format -> every option, defaults filled;
    the schema writes them as `export.FORMAT`, one key per format of `modelctl.registry.exporters`) and how
    artifacts are verified."""

    formats: list[str]
    options: Mapping[str, Mapping[str, Any]]
    verify: Verify


@dataclasses.dataclass(frozen=True)
class Mlflow:
    """`tracking.mlflow`: URI and experiment (None: chosen at run time) and whether tracking failures stop."""

    uri: str | None
    experiment: str | None
    strict: bool


@dataclasses.dataclass(frozen=True)
class Tracking:
    """`tracking`: `mlflow` is None unless the spec turns MLflow tracking on."""

    mlflow: Mlflow | None = _section(lambda schema, value: _build(Mlflow, schema, value))


@dataclasses.dataclass(frozen=True)
class Search:
    """`search`: the hyperparameter search; `sampler`, `pruner` and `parameters` are as written."""

    metric: str
    goal: str
    trials: int
    sampler: str | Mapping[str, Any]
    pruner: str | Mapping[str, Any]
    parameters: Mapping[str, Mapping[str, Any]]


def _export(schema: dict, written: dict) -> Export:
    fixed = {"formats", "verify"}
    options = {name: _options(item, written.get(name))
               for name, item in schema["properties"].items() if name not in fixed}
    formats = written["formats"] if "formats" in written else schema["properties"]["formats"]["default"]
    return Export(formats=copy.deepcopy(formats), options=options,
                  verify=_build(Verify, schema["properties"]["verify"], written.get("verify") or {}))


def _options(schema: dict, written: dict | None) -> dict:
    given = written if written is not None else schema.get("default") or {}
    return {name: copy.deepcopy(given[name] if name in given else item.get("default"))
            for name, item in schema["properties"].items()}


@dataclasses.dataclass(frozen=True)
class Spec:
    """A whole spec, its bases merged (`extends` lists the files merged; empty for none).

    `data` is None for a spec that only describes a model, `search` None without a search section; every
    other section is there, filled with the schema's defaults.
    """

    modelctl: int
    extends: list[str]
    name: str
    description: str
    seed: int
    data: Data | None = _section(lambda schema, value: _build(Data, schema, value))
    model: Model | None = _section(lambda schema, value: _build(Model, schema, value))
    training: Training = _section(lambda schema, value: _build(Training, schema, value))
    evaluation: Evaluation = _section(lambda schema, value: _build(Evaluation, schema, value))
    export: Export = _section(_export)
    tracking: Tracking = _section(lambda schema, value: _build(Tracking, schema, value))
    search: Search | None = _section(lambda schema, value: _build(Search, schema, value))

    def input_names(self) -> list[str]:
        """Names of the model's inputs: those of `model.inputs`, else one per data feature."""
        declared = self.model.inputs if self.model is not None else None
        return list(declared or (self.data.features if self.data is not None else None) or {})

    def label_types(self) -> dict[str, str]:
        """Label name -> label type (`data.labels`); empty for a spec without data or labels."""
        labels = self.data.labels if self.data is not None else None
        return {name: label["type"] for name, label in (labels or {}).items()}


def _build(cls, schema: dict, written: Mapping[str, Any]):
    """`cls` from the mapping `written`, each missing key taken from the `default` of its schema property."""
    values = {}
    for field in dataclasses.fields(cls):
        item = schema["properties"][field.name]
        value = copy.deepcopy(written[field.name] if field.name in written else item.get("default"))
        builder = field.metadata.get(SECTION)
        if builder is not None and (value is not None or builder is _callback):
            value = builder(item, value)
        values[field.name] = value
    return cls(**values)


def typed(data: Mapping[str, Any]) -> Spec:
    """The typed view of a valid spec's data (its bases merged), every default filled from the schema.

    Args:
        data: the spec as plain mappings and lists (`Document.data`), valid against the schema.
    """
    from modelctl.spec.schema import build_schema

    return _build(Spec, build_schema(), data)


def schema_default(*path: str) -> Any:
    """The schema's default of the spec key at `path` (`schema_default("training", "epochs")` is 10), for code
    that reads a spec not yet known to be valid (the semantic checks). A callback's arguments are found under
    its key (`schema_default("training", "checkpoint", "monitor")`)."""
    from modelctl.spec.schema import build_schema

    schema = build_schema()
    for key in path:
        schema = (schema if "properties" in schema else schema["else"])["properties"][key]
    return copy.deepcopy(schema["default"])
