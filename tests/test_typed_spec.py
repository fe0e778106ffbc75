"""The typed spec (`modelctl.spec.typed`) and the JSON Schema agree on every key and default."""

from __future__ import annotations

import dataclasses
import glob
from pathlib import Path

import pytest

from modelctl.spec import typed as typed_module
from modelctl.spec.loader import load_text
from modelctl.spec.schema import build_schema
from modelctl.spec.typed import Callback, Export, Spec, typed
from modelctl.spec.validate import load_spec

ROOT = Path(__file__).resolve().parent.parent

MINIMAL = {
    "modelctl": 1,
    "name": "tiny",
    "data": {"source": {"format": "csv", "path": "rows.csv"},
             "features": {"x": {"type": "numeric", "columns": ["a", "b"]}},
             "labels": {"y": {"type": "binary", "column": "y"}}},
    "model": {"layers": [{"dense": {"units": 1, "activation": "sigmoid"}, "name": "y"}]},
}

SECTIONS = {
    "": typed_module.Spec,
    "data": typed_module.Data,
    "data.split": typed_module.Split,
    "data.sources": typed_module.Sources,
    "model": typed_module.Model,
    "model.inputs.*": typed_module.ModelInput,
    "training": typed_module.Training,
    "training.distillation": typed_module.Distillation,
    "evaluation": typed_module.Evaluation,
    "export": typed_module.Export,
    "export.verify": typed_module.Verify,
    "tracking": typed_module.Tracking,
    "tracking.mlflow": typed_module.Mlflow,
    "search": typed_module.Search,
}


def _schema_at(path: str) -> dict:
    schema = build_schema()
    for key in filter(None, path.split(".")):
        schema = schema["additionalProperties"] if key == "*" else schema["properties"][key]
    return schema


def _field_names(cls) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


@pytest.mark.parametrize("path", list(SECTIONS))
def test_fields_are_the_schema_keys(path):
    cls = SECTIONS[path]
    keys = set(_schema_at(path)["properties"])
    if cls is Export:
        # One options key per export format, the registry's: gathered under `options`.
        from modelctl.registry.exporters import exporters

        assert _field_names(cls) - {"options"} | set(exporters().names()) == keys
    else:
        assert _field_names(cls) == keys


def test_every_callback_of_the_registry_is_a_field():
    from modelctl.registry.callbacks import CALLBACKS

    fields = {field.name for field in dataclasses.fields(typed_module.Training)
              if field.metadata.get(typed_module.SECTION) is typed_module._callback}
    assert fields == set(CALLBACKS.names())


def test_sections_carry_no_python_defaults():
    for cls in {*SECTIONS.values(), Callback}:
        for field in dataclasses.fields(cls):
            assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING, \
                f"{cls.__name__}.{field.name}"


def _expected(schema: dict, written) -> dict:
    """What a section holds for `written`: its values, else the schema's default of each key."""
    return {key: written[key] if key in written else item.get("default")
            for key, item in schema["properties"].items()}


def _check_defaults(value, schema: dict, written: dict, where: str):
    """Walk the typed `value` beside the schema: every key not in `written` holds the schema's default."""
    expected = _expected(schema, written)
    for field in dataclasses.fields(value):
        got = getattr(value, field.name)
        item = schema["properties"][field.name] if field.name in schema["properties"] else None
        name = f"{where}.{field.name}".lstrip(".")
        if isinstance(got, Callback):
            arguments = item["else"]["properties"]
            assert got == Callback(enabled=bool(expected[field.name]),
                                   args={key: sub.get("default") for key, sub in arguments.items()}), name
        elif dataclasses.is_dataclass(got):
            _check_defaults(got, item, written.get(field.name) or {}, name)
        elif field.name == "options" and isinstance(value, Export):
            for format_name, options in got.items():
                arguments = schema["properties"][format_name]["properties"]
                assert options == {key: sub["default"] for key, sub in arguments.items()}, f"{name}.{format_name}"
        else:
            assert got == expected[field.name], name


def test_a_minimal_spec_gets_exactly_the_schema_defaults():
    spec = typed(MINIMAL)
    _check_defaults(spec, build_schema(), MINIMAL, "")
    # The sections a minimal spec leaves out are all there, filled (data's split too).
    assert spec.training.epochs == build_schema()["properties"]["training"]["properties"]["epochs"]["default"]
    assert spec.data.split.validation == _schema_at("data.split")["properties"]["validation"]["default"]
    assert spec.search is None and spec.tracking.mlflow is None and spec.data.sources is None


def test_model_inputs_get_their_defaults():
    data = {**MINIMAL, "model": {**MINIMAL["model"], "inputs": {"x": {"shape": [2]}}}}
    inputs = typed(data).model.inputs
    schema = _schema_at("model.inputs.*")["properties"]
    assert inputs == {"x": typed_module.ModelInput(shape=[2], dtype=schema["dtype"]["default"],
                                                   description=schema["description"]["default"])}


def test_written_values_win_over_defaults():
    data = {**MINIMAL, "data": {**MINIMAL["data"], "batch_size": 8, "split": {"validation": 0.3}},
            "training": {"epochs": 3, "early_stopping": {"patience": 2}, "checkpoint": True},
            "export": {"formats": ["tflite"], "tflite": {"quantize": "float16"}, "verify": {"examples": 5}},
            "tracking": {"mlflow": {"experiment": "e"}}}
    spec = typed(data)
    assert (spec.data.batch_size, spec.data.split.validation, spec.data.split.train) == (8, 0.3, 0.8)
    assert spec.training.epochs == 3
    assert spec.training.early_stopping.enabled and spec.training.early_stopping.args["patience"] == 2
    assert spec.training.early_stopping.args["monitor"] == "val_loss"
    assert spec.training.checkpoint.enabled and spec.training.checkpoint.args["save_best"] is True
    assert not spec.training.tensorboard.enabled
    assert spec.export.formats == ["tflite"] and spec.export.options["tflite"]["quantize"] == "float16"
    assert spec.export.options["tflite"]["representative_examples"] == 100
    assert (spec.export.verify.examples, spec.export.verify.tolerance) == (5, 1e-4)
    assert spec.tracking.mlflow == typed_module.Mlflow(uri=None, experiment="e", strict=False)
    distilled = typed({**MINIMAL, "training": {"distillation": {"teacher": "runs/teacher"}}}).training.distillation
    defaults = _schema_at("training.distillation")["properties"]
    assert distilled == typed_module.Distillation(teacher="runs/teacher", temperature=defaults["temperature"]["default"],
                                                  alpha=defaults["alpha"]["default"])
    assert typed(MINIMAL).training.distillation is None


def test_the_typed_spec_is_frozen_and_a_copy():
    document = load_text(_yaml(MINIMAL), "tiny.yaml")
    spec = document.spec
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.data.batch_size = 3
    spec.data.features["x"]["columns"].append("c")
    assert document.data["data"]["features"]["x"]["columns"] == ["a", "b"]
    # The view follows the document's data (an override applied after loading).
    document.data["seed"] = 7
    assert document.spec.seed == 7


def test_a_spec_without_data_has_no_data_section():
    spec = typed({key: value for key, value in MINIMAL.items() if key != "data"})
    assert spec.data is None and spec.training.epochs >= 1


EXAMPLES = [path for path in sorted(glob.glob(str(ROOT / "examples" / "*" / "*.yaml")))
            if Path(path).parent.name != "plugin"]  # its layer comes from a package the tests do not install


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: str(Path(path).relative_to(ROOT / "examples")))
def test_every_example_has_a_typed_view(path):
    # The schema's check only: a student's teacher is a run the example trains first.
    from modelctl.spec.extends import load_resolved
    from modelctl.spec.schema import validator

    document = load_resolved(path)
    assert [error.message for error in validator().iter_errors(document.data)] == []
    spec = document.spec
    assert isinstance(spec, Spec) and spec.name


def test_schema_default_reads_the_schema():
    assert typed_module.schema_default("data", "batch_size") == typed(MINIMAL).data.batch_size
    assert typed_module.schema_default("data", "split", "validation") == typed(MINIMAL).data.split.validation


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False)


def test_data_left_out_is_prepared_with_the_schema_defaults(tmp_path):
    from modelctl.data.pipeline import prepare

    rows = "\n".join(f"{index},{index % 7},{index % 2}" for index in range(100))
    (tmp_path / "rows.csv").write_text("a,b,y\n" + rows + "\n")
    (tmp_path / "spec.yaml").write_text(_yaml(MINIMAL))
    document = load_spec(tmp_path / "spec.yaml")
    prepared = prepare(document, cache=None)
    split = _schema_at("data.split")["properties"]
    assert prepared.batch_size == _schema_at("data")["properties"]["batch_size"]["default"]
    assert prepared.counts == {name: round(100 * split[name]["default"]) for name in ("train", "validation", "test")}
    assert prepared.seed == build_schema()["properties"]["seed"]["default"]


def test_an_optimizer_left_out_is_the_schema_default_with_its_registry_arguments():
    from modelctl.registry.optimizers import OPTIMIZERS
    from modelctl.training.compile import build_optimizer

    training = typed(MINIMAL).training
    optimizer = build_optimizer(training, steps_per_epoch=1)
    name = _schema_at("training")["properties"]["optimizer"]["default"]
    assert type(optimizer).__name__.lower() == name
    assert float(optimizer.learning_rate) == pytest.approx(OPTIMIZERS.get(name).defaults()["learning_rate"])


def test_tracking_left_out_is_off_and_written_tracking_fills_the_rest():
    from modelctl.tracking import mlflow_settings

    assert mlflow_settings(typed(MINIMAL)) is None
    spec = typed({**MINIMAL, "tracking": {"mlflow": {"uri": "http://tracking:5000"}}})
    assert mlflow_settings(spec).as_dict() == {"uri": "http://tracking:5000", "experiment": "tiny",
                                                "strict": _schema_at("tracking.mlflow")["properties"]["strict"]["default"]}
