"""One spec through every command, as a user runs them: validate, validate --deep, summary, train, eval,
explain (one example, one shuffle per feature), export --format all, track (an upload to an MLflow store),
predict on the run and on every artifact it exported, `modelctl serve` on the run (its app, in-process), which
must answer what predict answered, and a one-trial search for a spec with a `search` section. A spec that
distills a teacher (TEACHERS) has its teacher trained first, as briefly. `run_ensemble` takes a spec through
`modelctl ensemble`: two short runs of it combined, then the ensemble's run through eval, export, predict and
serve as above.

`run_mistake` is the matrix's "mistakes" column: a classic Keras mistake written as a small variant of a shipped
spec (a file that `extends` it and changes one thing, `MISTAKES`) must end in `modelctl validate` with exit 1 at
the variant's line, or in a warning there, or, for a mistake only the data shows, in `modelctl data` (or `train
--dry-run`) with exit 1 naming the spec line or the file and row; never in a traceback or a silently wrong number.

`run_family` is used in the test process by tests/test_matrix.py and tests/test_matrix_examples.py (through
`Matrix`), and in a child process for specs that need a plug-in installed (`python tests/matrix_steps.py family
SPEC WORKDIR` prints its record as JSON).
`reload_runs` loads every trained run's model.keras with `modelctl.load_model`, as a user's own script does, and
checks its predictions (`python tests/matrix_steps.py reload RECORDS.json`, in a fresh process).
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import dataclasses
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

TRAIN = ["training.epochs=1", "training.steps_per_epoch=3"]
"""Overrides that keep training short: one epoch of three steps."""

FLOAT_TOLERANCE = 1e-4
"""Largest difference allowed between a float32 artifact's predictions and the run's."""

QUANTIZED_TOLERANCE = 0.1
"""Largest difference allowed for quantized artifacts (int8 steps of softmax outputs, float16 weights)."""

PREDICT_ROWS = 24


class StepFailed(AssertionError):
    """A command that ended with another exit code than expected, or with an exception the CLI let through."""


def invoke(arguments: list[str], expected: int = 0) -> str:
    """Run `modelctl ARGUMENTS` in this process; return its output.

    Raises:
        StepFailed: another exit code, or an exception escaped the command (it would print a traceback).
    """
    from typer.testing import CliRunner

    from modelctl.cli.app import app

    result = CliRunner().invoke(app, arguments)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    if escaped or result.exit_code != expected:
        import traceback

        detail = "".join(traceback.format_exception(result.exception)) if escaped else ""
        raise StepFailed(f"modelctl {' '.join(arguments)}: exit code {result.exit_code} (expected {expected})\n"
                         f"{result.output[-4000:]}\n{detail}")
    if "Traceback (most recent call last)" in result.output:
        raise StepFailed(f"modelctl {' '.join(arguments)} printed a traceback:\n{result.output[-4000:]}")
    return result.output


SMALLER = {
    "mobilenet-transfer": ["data.features.image.size=[32,32]"],
    "reviews-lstm": ["data.features.review.sequence_length=8"],
    "stacked-lstm-text": ["data.features.review.sequence_length=8"],
    "reviews-transformer": ["data.features.review.sequence_length=8",
                            "model.layers[0].positional_embedding.sequence_length=8"],
}
"""Spec name -> `--set` values that make its model smaller for every step (the same graph, fewer pixels or
time steps), so the matrix keeps the suite's time: an unrolled LSTM over 32 steps takes TFLite ~20 s to convert."""


REPOSITORY = Path(__file__).resolve().parent.parent

TEACHERS = {"examples/digits/student.yaml": "examples/digits/teacher.yaml"}
"""Spec that distills a teacher (`training.distillation`) -> the spec whose run teaches it, both relative to the
repository: the teacher is trained first, briefly, and named by `--set training.distillation.teacher=RUN` in
every step of the student."""


def teacher_overrides(spec_path: Path, workdir: Path) -> list[str]:
    """For a spec that distills a teacher (see TEACHERS): train the teacher as `train_overrides` says, and return
    the `--set` value that names its run; [] for any other spec."""
    try:
        name = Path(spec_path).resolve().relative_to(REPOSITORY).as_posix()
    except ValueError:
        return []
    if name not in TEACHERS:
        return []
    teacher_path = REPOSITORY / TEACHERS[name]
    runs = workdir / "teacher-runs"
    sets = [item for value in train_overrides(teacher_path) for item in ("--set", value)]
    invoke(["train", str(teacher_path), *sets, "--quiet", "--output", str(runs)])
    [run_dir] = [path.parent for path in runs.glob("*/*/run.json")]
    return [f"training.distillation.teacher={run_dir}"]


def overrides(spec_path: Path) -> list[str]:
    """`--set` values for every step of a spec (see SMALLER)."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    return SMALLER.get(spec.get("name"), [])


def train_overrides(spec_path: Path) -> list[str]:
    """`--set` values for a short run: one epoch of three steps; a warm-up ends after two of them."""
    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    schedule = (spec.get("training") or {}).get("schedule")
    warmup = ["training.schedule.warmup_epochs=0.67"] if isinstance(schedule, dict) and \
        schedule.get("warmup_epochs") else []
    return [*overrides(spec_path), *TRAIN, *warmup]


def resolved(spec_path: Path) -> dict:
    """The spec merged onto the bases it extends."""
    from modelctl.spec.extends import load_resolved

    return load_resolved(spec_path).data


def predict_inputs(spec_path: Path, folder: Path) -> list[str]:
    """Inputs a user would predict on: the first rows of the spec's table, or a few of its image files."""
    spec = resolved(spec_path)
    source = spec["data"].get("source") or spec["data"]["sources"]["test"]
    path = (spec_path.parent / source["path"]).resolve()
    if source["format"] in ("csv", "tsv"):
        lines = path.read_text(encoding="utf-8").splitlines()
        rows = folder / f"rows{path.suffix}"
        rows.write_text("\n".join(lines[:PREDICT_ROWS + 1]) + "\n", encoding="utf-8")
        return [str(rows)]
    if source["format"] == "image_folder":
        images = sorted(item for item in path.rglob("*.png"))
        return [str(image) for image in images[::max(1, len(images) // 6)][:6]]
    raise AssertionError(f"{spec_path}: no predict inputs for source format {source['format']!r}")


def predictions(target: Path, inputs: list[str], output: Path) -> list[dict]:
    invoke(["predict", str(target), *inputs, "--output", str(output)])
    with output.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def compare(expected: list[dict], actual: list[dict], tolerance: float, name: str) -> None:
    """Every number within `tolerance`; with a float32 tolerance, every class name the same too."""
    assert len(actual) == len(expected), f"{name}: {len(actual)} predictions, the run gave {len(expected)}"
    for index, (want, got) in enumerate(zip(expected, actual)):
        assert list(got) == list(want), f"{name}: columns {list(got)}, the run gave {list(want)}"
        for column, value in want.items():
            if column == "input":
                continue
            try:
                number = float(value)
            except ValueError:
                if value.startswith("["):
                    numbers = json.loads(value)
                    assert max(abs(a - b) for a, b in zip(numbers, json.loads(got[column]))) <= tolerance, \
                        (name, index, column, value, got[column])
                elif tolerance <= FLOAT_TOLERANCE:
                    assert got[column] == value, (name, index, column, value, got[column])
                continue
            assert abs(float(got[column]) - number) <= tolerance, (name, index, column, value, got[column])


def artifacts(export_dir: Path) -> list[Path]:
    """Every artifact an export wrote: the SavedModel folder, and the .tflite and .onnx files."""
    found = [path for path in sorted(export_dir.iterdir())
             if path.suffix in (".tflite", ".onnx") or (path.is_dir() and (path / "saved_model.pb").is_file())]
    assert found, f"{export_dir}: no artifacts"
    return found


@functools.lru_cache(maxsize=1)
def tracking_store() -> str:
    """An MLflow store (an SQLite file) for every run of this process: `modelctl track` uploads each run into it.
    One file for all, as creating its tables takes seconds."""
    folder = Path(tempfile.mkdtemp(prefix="modelctl-matrix-mlflow-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return f"sqlite:///{folder / 'mlflow.db'}"


def run_family(spec_path: Path, workdir: Path, train_options: list[str] | None = None) -> dict:
    """Every command on one spec; `train_options` are added to `modelctl train` (such as `--ray --workers 2`).

    Returns:
        `timings`: the seconds each step took (`predict` covers every artifact); for a spec with data also
        `run_dir`, the predict `inputs` and the CSV of the run's `predictions` on them.

    Raises:
        StepFailed, AssertionError: a step failed, or an artifact's predictions differ from the run's.
    """
    timings = Timings()
    step = timings.step

    spec = str(spec_path)
    with timings.timed("train teacher"):
        taught = [item for value in teacher_overrides(spec_path, workdir) for item in ("--set", value)]
    if not taught:
        del timings["train teacher"]
    smaller = [*(item for value in overrides(spec_path) for item in ("--set", value)), *taught]
    step("validate", ["validate", "--strict", spec, *smaller])
    step("validate --deep", ["validate", "--deep", spec, *smaller])
    step("summary", ["summary", spec, *smaller])
    has_data = "data" in resolved(spec_path)
    if not has_data:
        return {"timings": dict(timings)}
    runs = workdir / "runs"
    sets = [*(item for value in train_overrides(spec_path) for item in ("--set", value)), *taught]
    step("train", ["train", spec, *sets, "--quiet", "--output", str(runs), *(train_options or [])])
    [run_dir] = [path.parent for path in runs.glob("*/*/run.json")]
    with timings.timed("typed spec"):
        check_typed_spec(run_dir)
    step("eval", ["eval", str(run_dir)])
    step("explain", ["explain", str(run_dir), "--examples", "1", "--repeats", "1", "--steps", "8"])
    step("export", ["export", str(run_dir), "--format", "all"])
    step("track", ["track", str(run_dir), "--uri", tracking_store()])
    state = json.loads((run_dir / "mlflow.json").read_text(encoding="utf-8"))
    assert state["status"] == "logged", f"{spec}: modelctl track left {state}"
    inputs = predict_inputs(spec_path, workdir)
    check_answers(run_dir, inputs, timings=timings, output=workdir / "run.csv", what=spec)
    if "search" in (yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}):
        searches = workdir / "search"
        step("search", ["search", spec, "--trials", "1", *sets, "--output", str(searches)])
        [best] = searches.glob("*/search/*/best.yaml")
        invoke(["validate", str(best)])
    return {"timings": dict(timings), "run_dir": str(run_dir), "inputs": inputs,
            "predictions": str(workdir / "run.csv")}


def check_typed_spec(run_dir: Path) -> None:
    """The typed view of the run's spec (`Document.spec`, every default filled in) is what the run used: its
    seed, its global batch and no more epochs than it asks for."""
    from modelctl.spec.run import load_run_spec

    spec = load_run_spec(run_dir).spec
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["seed"] == spec.seed, f"{run_dir}: run.json seed {record['seed']}, typed spec {spec.seed}"
    assert record["strategy"]["batch_size"] == spec.data.batch_size, \
        f"{run_dir}: run.json batch {record['strategy']['batch_size']}, typed spec {spec.data.batch_size}"
    assert 1 <= record["epochs_completed"] <= spec.training.epochs, f"{run_dir}: {record['epochs_completed']} epochs"


def run_ensemble(spec_path: Path, workdir: Path) -> dict:
    """Two short runs of one spec (one of three steps; one of two from another initialisation seed, with the split
    seed kept as `data.split.seed`: different weights, the same split), combined by `modelctl ensemble`; its run through eval, export --format all, predict on the run and on every artifact,
    and `modelctl serve`, as `run_family` does.

    Returns:
        `timings` of each step, `run_dir` (the ensemble's run), the predict `inputs` and the CSV of its
        `predictions` on them (for `reload_runs`).

    Raises:
        StepFailed, AssertionError: a step failed, or predictions differ from the ensemble's.
    """
    timings = Timings()
    step = timings.step

    spec = str(spec_path)
    sets = [item for value in train_overrides(spec_path) for item in ("--set", value)]
    members = [workdir / "runs" / "member-1", workdir / "runs" / "member-2"]
    invoke(["train", spec, *sets, "--quiet", "--run-dir", str(members[0])])
    seed = yaml.safe_load(spec_path.read_text(encoding="utf-8"))["seed"]
    invoke(["train", spec, *sets, "--set", "training.steps_per_epoch=2", "--set", f"data.split.seed={seed}", "--set",
            f"seed={seed + 1}", "--quiet", "--run-dir", str(members[1])])
    run_dir = workdir / "runs" / "ensemble"
    output = step("ensemble", ["ensemble", *map(str, members), "--output", str(run_dir)])
    assert "member 2" in output, output
    step("eval", ["eval", str(run_dir)])
    evaluation = json.loads((run_dir / "eval" / "test" / "eval.json").read_text(encoding="utf-8"))
    assert [member["member"] for member in evaluation["members"]] == [1, 2], evaluation
    step("export", ["export", str(run_dir), "--format", "all"])
    inputs = predict_inputs(spec_path, workdir)
    check_answers(run_dir, inputs, timings=timings, output=workdir / "ensemble.csv", what=f"{spec} ensemble")
    return {"timings": dict(timings), "run_dir": str(run_dir), "inputs": inputs,
            "predictions": str(workdir / "ensemble.csv")}


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A classic mistake as a change to a shipped spec, and how modelctl must answer it.

    Attributes:
        name: what the mistake is.
        spec: the shipped spec, relative to the repository.
        change: top-level sections of the variant, merged over the spec (`extends`); `{layers}` in a string
            value stands for nothing: changed layers are given whole, as `extends` replaces lists.
        severity: "error" or "warning".
        path: the JSON path the diagnostic names (`validate`), or None for a data error.
        message: a part of its message.
        command: `validate`, `data` or `dry-run` (`train --dry-run`).
    """

    name: str
    spec: str
    change: dict
    severity: str
    path: str | None
    message: str
    command: str = "validate"


def _layers(spec: str, index: int, **dense) -> dict:
    """The `model` section of a shipped spec with the dense layer at `index` given other arguments."""
    layers = yaml.safe_load((REPOSITORY / spec).read_text(encoding="utf-8"))["model"]["layers"]
    layers[index] = {**layers[index], "dense": {**layers[index]["dense"], **dense}}
    return {"model": {"layers": layers}}


IRIS = "examples/iris/spec.yaml"
CANCER = "examples/breast_cancer/spec.yaml"

MISTAKES = [
    Mistake("categorical_accuracy on class indices", IRIS, {"training": {"metrics": ["accuracy",
                                                                                     "categorical_accuracy"]}},
            "error", "$.training.metrics[1]", "Keras would log 0"),
    Mistake("categorical_crossentropy on class indices", IRIS, {"training": {"loss": "categorical_crossentropy"}},
            "error", "$.training.loss", "Use 'sparse_categorical_crossentropy' for integer class labels, or set "
                                        "`encoding: one_hot`"),
    Mistake("auc on a multi-class label", IRIS, {"training": {"metrics": ["auc"]}}, "error",
            "$.training.metrics[0]", "set `encoding: one_hot` on label 'species'"),
    Mistake("f1_score on a multi-class label", IRIS, {"training": {"metrics": [{"type": "f1_score",
                                                                                "average": "macro"}]}},
            "error", "$.training.metrics[0]", "reports f1 for every class"),
    Mistake("precision on a multi-class label", IRIS, {"training": {"metrics": ["precision"]}}, "error",
            "$.training.metrics[0]", "reports precision for every class"),
    Mistake("more units than classes", "specs/tabular-mlp.yaml", _layers("specs/tabular-mlp.yaml", 3, units=4),
            "error", "$.model.layers[3].dense.units", "needs 3"),
    Mistake("softmax on one unit", CANCER, _layers(CANCER, 3, activation="softmax"), "warning",
            "$.model.layers[3].dense.activation", "softmax over one unit always outputs 1.0"),
    Mistake("relu before cross-entropy", CANCER, _layers(CANCER, 3, activation="relu"), "warning",
            "$.model.layers[3].dense.activation", "'relu' outputs are not probabilities"),
    Mistake("no output activation", CANCER, _layers(CANCER, 3, activation="linear"), "warning",
            "$.model.layers[3].dense.activation", "set `activation: sigmoid`"),
    Mistake("f1_score on a binary label", CANCER, {"training": {"metrics": [{"type": "f1_score",
                                                                             "average": "macro"}]}},
            "error", "$.training.metrics[0]", "FBetaScore expects 2D inputs"),
    Mistake("the label column among the features, through a glob", CANCER,
            {"data": {"features": {"mean": {"columns": "*"}}}}, "warning", "$.data.features.mean.columns",
            "takes column 'malignant', which label 'malignant' predicts"),
    Mistake("a frozen backbone without weights", "specs/mobilenet-transfer.yaml",
            {"model": {"layers": [{"rescaling": {"scale": 1.0, "offset": -1.0}},
                                  {"backbone": {"architecture": "mobilenet_v2", "weights": None, "trainable": False,
                                                "pooling": "avg"}},
                                  {"dense": {"units": 10, "activation": "softmax"}, "name": "label"}]}},
            "warning", "$.model.layers[1].backbone.weights", "a frozen backbone with `weights: null`"),
    Mistake("a positive value the column never holds", CANCER,
            {"data": {"labels": {"malignant": {"column": "malignant", "type": "binary", "positive": "yes"}}}},
            "error", None, "the positive value 'yes' never occurs in the training split", command="data"),
    Mistake("a binary label on a column of three classes", IRIS,
            {"data": {"labels": {"species": {"column": "species", "type": "binary", "positive": "setosa"}}},
             **_layers(IRIS, 2, units=1, activation="sigmoid"),
             "training": {"loss": "binary_crossentropy"}},
            "error", None, "takes two values, but column 'species' holds 3", command="data"),
    Mistake("fewer units than the classes the data holds", IRIS,
            {"data": {"labels": {"species": {"column": "species", "type": "categorical"}}},
             **_layers(IRIS, 2, units=2)}, "error", "$.model.layers[2].dense.units",
            "has 2 units but label 'species' has 3 classes in the training split", command="dry-run"),
]
"""The matrix's mistakes column: each must be caught as it says (see `run_mistake`)."""


def mistake_variant(mistake: Mistake, folder: Path) -> Path:
    """Write the variant of `mistake`: a spec that extends the shipped one and changes what the mistake changes
    (its data source read from the shipped spec's folder)."""
    base = REPOSITORY / mistake.spec
    source = dict(yaml.safe_load(base.read_text(encoding="utf-8"))["data"]["source"])
    source["path"] = str((base.parent / source["path"]).resolve())
    change = json.loads(json.dumps(mistake.change))
    change.setdefault("data", {}).setdefault("source", {}).update(source)
    variant = folder / f"{mistake.name.replace(' ', '-').replace(',', '')}.yaml"
    variant.write_text(yaml.safe_dump({"extends": str(base), **change}, sort_keys=False), encoding="utf-8")
    return variant


def run_mistake(mistake: Mistake, folder: Path) -> str:
    """Write the mistake's variant into `folder` and check that modelctl catches it as `mistake` says; return
    what the command printed.

    Raises:
        StepFailed: another exit code, or a traceback.
        AssertionError: the diagnostic is missing, elsewhere, or of another severity.
    """
    variant = mistake_variant(mistake, folder)
    expected = 1 if mistake.severity == "error" else 0
    if mistake.command == "validate":
        output = invoke(["validate", "--format", "json", str(variant)], expected)
        found = [item for entry in json.loads(output)["files"] for item in entry["errors"] + entry["warnings"]
                 if item["path"] == mistake.path and mistake.message in item["message"]]
        assert found, f"{mistake.name}: no diagnostic at {mistake.path} saying {mistake.message!r}:\n{output}"
        [item] = found[:1]
        assert item["severity"] == mistake.severity, (mistake.name, item)
        assert item["file"] == str(variant) and item["line"] > 0, (mistake.name, item)
        return output
    arguments = ["data", str(variant), "--no-cache"] if mistake.command == "data" else \
        ["train", str(variant), "--dry-run", "--no-cache", "--output", str(folder / "runs")]
    output = invoke(arguments, expected)
    assert mistake.message in output, f"{mistake.name}: {mistake.message!r} not in:\n{output}"
    if mistake.path is not None:
        assert f"{variant}:" in output and f": {mistake.path}: " in output, (mistake.name, output)
    return output


class Timings(dict):
    """Seconds each step of a family took, by step name."""

    @contextlib.contextmanager
    def timed(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(time.perf_counter() - start, 2)

    def step(self, name: str, arguments: list[str]) -> str:
        """Run `modelctl ARGUMENTS` (see `invoke`), timed under `name`; return its output."""
        with self.timed(name):
            return invoke(arguments)


def check_answers(run_dir: Path, inputs: list[str], *, timings: Timings, output: Path, what: str) -> None:
    """`modelctl predict` on the run writes `output`; every artifact it exported, and `modelctl serve` on the run,
    must answer the same on `inputs` (quantized artifacts within `QUANTIZED_TOLERANCE`).

    Raises:
        StepFailed, AssertionError: a command failed, or answers differ.
    """
    with timings.timed("predict"):
        expected = predictions(run_dir, inputs, output)
        assert expected, f"{what}: predict gave no rows"
        for artifact in artifacts(run_dir / "export"):
            quantized = len(artifact.name.split(".")) > 2  # model.int8.tflite, model.dynamic.tflite
            compare(expected, predictions(artifact, inputs, output.with_name(f"{output.stem}-{artifact.name}.csv")),
                    QUANTIZED_TOLERANCE if quantized else FLOAT_TOLERANCE, f"{what}: {artifact.name}")
    with timings.timed("serve"):
        compare(expected, served_predictions(run_dir, inputs), FLOAT_TOLERANCE, f"{what}: modelctl serve")


def served_predictions(run_dir: Path, inputs: list[str]) -> list[dict]:
    """The predictions `modelctl serve RUN_DIR` answers for `inputs` (the rows of one CSV or TSV file, or image
    files), as rows of the CSV `modelctl predict` writes. In-process, through the app's routes; the status and
    page routes are checked on the way."""
    import base64
    import warnings

    from modelctl.predict import rows_csv
    from modelctl.serve import create_app, open_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    served = open_model(run_dir)
    with TestClient(create_app(served)) as client:
        status = client.get(f"/v1/models/{served.name}").json()["model_version_status"]
        assert [(item["version"], item["state"]) for item in status] == [(str(served.version), "AVAILABLE")]
        page = client.get("/")
        assert page.status_code == 200 and f"<title>{served.name}</title>" in page.text
        metadata = client.get(f"/v1/models/{served.name}/metadata").json()
        fields = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]
        if len(inputs) == 1 and Path(inputs[0]).suffix in (".csv", ".tsv"):
            path = Path(inputs[0])
            with path.open(newline="", encoding="utf-8") as file:
                table = list(csv.DictReader(file, delimiter="\t" if path.suffix == ".tsv" else ","))
            numeric = {column for field in fields.values() if field["kind"] == "numbers" for column in field["columns"]}
            wanted = {column for field in fields.values() for column in field["columns"]}
            instances = [{column: (float(value) if value != "" else None) if column in numeric else value
                          for column, value in row.items() if column in wanted} for row in table]
            names = [f"{path} row {number}" for number in range(2, len(table) + 2)]  # the header is row 1
        else:
            instances = [{"b64": base64.b64encode(Path(item).read_bytes()).decode()} for item in inputs]
            names = list(inputs)
        answer = client.post(f"/v1/models/{served.name}:predict", json={"instances": instances})
    assert answer.status_code == 200, answer.text
    rows = [{"input": name, **prediction} for name, prediction in zip(names, answer.json()["predictions"])]
    return list(csv.DictReader(rows_csv(rows).splitlines()))


def reload_runs(records: dict[str, dict]) -> None:
    """Load each run's model with `modelctl.load_model` and check that it predicts what `modelctl predict` did.

    Raises:
        AssertionError: a model that does not load, or predictions that differ.
    """
    import numpy as np
    import tensorflow as tf

    import modelctl
    from modelctl.model.preprocessing import scores_by_label
    from modelctl.predict import prediction_rows, read_inputs, rows_csv
    from modelctl.runs import Fitted

    for name, record in records.items():
        run_dir = Path(record["run_dir"])
        model = modelctl.load_model(run_dir)
        spec = yaml.safe_load((run_dir / "spec.yaml").read_text(encoding="utf-8"))
        fitted = Fitted.from_json(json.loads((run_dir / "preprocessing.json").read_text(encoding="utf-8")),
                                  source=run_dir)
        examples = read_inputs(spec["data"]["features"], fitted, record["inputs"])
        values, names = examples.values, examples.names
        outputs = model({key: tf.constant(value.astype(str) if value.dtype == object else value)
                         for key, value in values.items()}, training=False)
        outputs = {key: np.asarray(value) for key, value in outputs.items()} if isinstance(outputs, dict) \
            else np.asarray(outputs)
        rows = prediction_rows(names, scores_by_label(outputs, fitted.label_names), fitted.labels)
        reloaded = list(csv.DictReader(rows_csv(rows).splitlines()))
        with open(record["predictions"], newline="", encoding="utf-8") as file:
            compare(list(csv.DictReader(file)), reloaded, FLOAT_TOLERANCE, f"{name}: modelctl.load_model")


class Matrix:
    """What one test module of the matrix records: each spec's step timings and trained run.

    With MODELCTL_MATRIX_TIMINGS=FOLDER set, `write_timings` saves the timings as FOLDER/<module>.json
    (bench/bench_matrix.py gathers them).
    """

    def __init__(self, root: Path):
        self.root = root
        self.timings: dict[str, dict[str, float]] = {}
        self.runs: dict[str, dict] = {}

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def record(self, path: Path, record: dict, *, suffix: str = "") -> None:
        self.timings[self.name(path) + suffix] = record.pop("timings")
        if record:
            self.runs[self.name(path) + suffix] = record

    def run(self, path: Path, workdir: Path, environment: dict | None = None, *, train_options: list[str] = (),
            namespace=None, suffix: str = "") -> None:
        """Every command on `path`: in this process, or with `environment` in a child process (inside
        `namespace`, a `loopback.Namespace`, when given), `train_options` added to `modelctl train`."""
        if environment is None:
            self.record(path, run_family(path, workdir, list(train_options)), suffix=suffix)
            return
        command = [sys.executable, __file__, "family", str(path), str(workdir), *train_options]
        done = subprocess.run(namespace.command(command) if namespace is not None else command, env=environment,
                              cwd=workdir, capture_output=True, text=True)
        assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
        self.record(path, json.loads(done.stdout.strip().splitlines()[-1]), suffix=suffix)

    def ensemble(self, path: Path, workdir: Path) -> None:
        """`modelctl ensemble` of two runs of `path`, and the ensemble's run through every command (see
        `run_ensemble`); recorded as `<path> (ensemble)`."""
        self.record(path, run_ensemble(path, workdir), suffix=" (ensemble)")

    def reload(self, workdir: Path, environment: dict) -> None:
        """Load every run this module trained in a fresh process (see `reload_runs`)."""
        assert self.runs, "no spec was trained before the reload check (run the whole module)"
        records = workdir / "runs.json"
        records.write_text(json.dumps(self.runs))
        done = subprocess.run([sys.executable, __file__, "reload", str(records)], env=environment, cwd=workdir,
                              capture_output=True, text=True)
        assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
        assert done.stdout.strip().splitlines()[-1] == "reloaded"

    def write_timings(self, module: str) -> None:
        folder = os.environ.get("MODELCTL_MATRIX_TIMINGS")
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
            (Path(folder) / f"{module}.json").write_text(json.dumps(self.timings, indent=2) + "\n", encoding="utf-8")


def with_plugin(folder: Path, root: Path) -> dict:
    """An environment in which the example plug-in is installed: its package and its distribution metadata
    on PYTHONPATH, which is all that entry-point discovery reads."""
    site = folder / "site"
    info = site / "modelctl_example_plugin-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: modelctl-example-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[modelctl.layers]\nscale = modelctl_example_plugin.entries:ENTRIES\n")
    paths = [str(site), str(root / "examples" / "plugin"), str(root / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths)), "TF_CPP_MIN_LOG_LEVEL": "3"}


if __name__ == "__main__":
    if sys.argv[1] == "family":
        print(json.dumps(run_family(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])))
    else:
        reload_runs(json.loads(Path(sys.argv[2]).read_text(encoding="utf-8")))
        print("reloaded")
