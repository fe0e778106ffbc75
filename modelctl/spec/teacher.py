"""The teacher of `training.distillation`: what a trained model says about its inputs and outputs.

    teacher = read_teacher("runs/digits-teacher", base_dir=Path("examples/digits"))
    teacher.kind          # "run" (a run folder, or a spec's runs folder: its newest run) or "saved_model"
    teacher.features      # feature name -> the feature as the teacher's spec wrote it
    teacher.labels        # label name -> its fitted label (`modelctl.runs.FittedLabel`: type, classes)
    problems(spec, teacher, graph)      # [(path in the student's spec, message)]: what does not fit

Everything here is read from the teacher's own files without TensorFlow (a run through `modelctl.runs`: its spec
as trained and fitted preprocessing, the run chosen by the one rule every command follows; a SavedModel written by
`modelctl export`: `assets/modelctl_metadata.json`), so that `modelctl validate` checks a student against its
teacher at the spec line. Training loads the model itself (`modelctl.training.distill`) and checks the input
shapes once more.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

from modelctl.errors import ModelctlError, UsageError
from modelctl.runs import Fitted, RunError, RunFolder, check_has_model, find_run
from modelctl.runs.folder import RECORD

METADATA_ASSET = "assets/modelctl_metadata.json"
"""Where `modelctl export` keeps what a SavedModel takes and gives (its features, labels and classes)."""

RAW_ONLY = ("preprocessing", "augmentation", "description")
"""Keys of a feature that the teacher's model applies inside itself: a student may set them differently."""


class TeacherError(ModelctlError):
    """A `training.distillation.teacher` that is not a trained model, or that cannot teach this spec."""


@dataclasses.dataclass(frozen=True)
class Teacher:
    """A trained model, as its files describe it.

    Args:
        kind: `run` (a run folder made by `modelctl train`) or `saved_model` (a SavedModel folder made by
            `modelctl export`).
        folder: the run folder, or the SavedModel folder.
        features: feature name -> the feature as the teacher's spec wrote it (the raw inputs it takes).
        labels: label name -> the fitted label (`modelctl.runs.FittedLabel`), in output order.
        from_logits: whether the teacher's outputs are logits (its loss said `from_logits: true`) rather than
            probabilities. A SavedModel's are taken as probabilities.
    """

    kind: str
    folder: Path
    features: dict
    labels: dict
    from_logits: bool = False

    @property
    def model_file(self) -> Path:
        """The file or folder TensorFlow loads: the run's model, or the SavedModel folder."""
        return RunFolder(self.folder).model_file if self.kind == "run" else self.folder


def resolve(written: str, base_dir: Path) -> Path:
    """`written` as a path: absolute, or relative to `base_dir` (the spec's folder)."""
    return Path(written) if Path(written).is_absolute() else Path(base_dir) / written


def read_teacher(written: str, base_dir: Path) -> Teacher:
    """The teacher at `written` (relative to `base_dir`): a run folder, a spec's runs folder (its newest completed
    run, `modelctl.runs.newest`), or a SavedModel folder written by `modelctl export`.

    Raises:
        TeacherError: no such folder, or not one of these.
    """
    folder = resolve(written, base_dir)
    if not folder.exists():
        raise TeacherError(f"'{written}' does not exist (looked for {_shown(folder)}); train the teacher first, or give "
                           "the path of its run folder")
    if not folder.is_dir():
        raise TeacherError(f"'{written}' is a file; give a run folder made by `modelctl train`, a spec's runs "
                           "folder, or a SavedModel folder made by `modelctl export`")
    if (folder / "saved_model.pb").is_file():
        return _saved_model(written, folder)
    try:
        run = find_run(folder)
        check_has_model(run, command="teach with")
        return _run(run)
    except UsageError:
        raise TeacherError(f"'{written}' is not a run folder (it has no {RECORD}), a spec's runs folder with a "
                           "completed run, or a SavedModel folder (it has no saved_model.pb)") from None
    except RunError as error:
        raise TeacherError(f"'{written}': {error}") from None


def _shown(path: Path) -> str:
    """`path` without `..` parts, relative to the working folder when it lies inside it."""
    plain = Path(os.path.normpath(path.absolute()))
    try:
        return str(plain.relative_to(Path.cwd()))
    except ValueError:
        return str(plain)


def _read(path: Path, written: str):
    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text)
    except FileNotFoundError:
        raise TeacherError(f"'{written}': {path.name} is missing from {path.parent}") from None
    except (OSError, ValueError) as error:
        raise TeacherError(f"'{written}': {path} cannot be read: {error}") from None


def _run(run: RunFolder) -> Teacher:
    """The teacher a completed run is.

    Raises:
        RunError: its spec or fitted preprocessing cannot be read, or its spec has no data section.
    """
    spec, fitted = run.spec, run.fitted
    data = spec.get("data")
    if not isinstance(data, dict):
        raise RunError(f"the run {run} has no data section to read its inputs from")
    training = spec.get("training") if isinstance(spec.get("training"), dict) else {}
    loss = training.get("loss")
    from_logits = isinstance(loss, dict) and loss.get("from_logits") is True
    features = data.get("features")
    if not isinstance(features, dict):
        raise RunError(f"{run.spec_file}: $.data.features is a {type(features).__name__}, not a mapping")
    return Teacher("run", run.path, dict(features), fitted.labels, from_logits)


def _saved_model(written: str, folder: Path) -> Teacher:
    if not (folder / METADATA_ASSET).is_file():
        raise TeacherError(f"'{written}': this SavedModel has no {METADATA_ASSET}, which says what it takes and "
                           "gives; give a SavedModel written by `modelctl export`, or the teacher's run folder")
    file = folder / METADATA_ASSET
    metadata = _mapping(_read(file, written), written, file)
    try:
        fitted = Fitted.from_json(metadata.get("preprocessing"), source=f"{file}: preprocessing")
    except RunError as error:
        raise TeacherError(f"'{written}': {error}") from None
    return Teacher("saved_model", folder, _mapping(metadata.get("features"), written, file, key="features"),
                   fitted.labels)


def _mapping(value, written: str, file: Path, *, key: str = "") -> dict:
    """`value` (what `file` holds at `key`, or the whole file) as a dict; None is an empty one.

    Raises:
        TeacherError: anything else, such as a list where the teacher's files hold mappings.
    """
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TeacherError(f"'{written}': {file}{f' at {key}' if key else ''} is a {type(value).__name__}, not a "
                           "mapping; give a run folder made by `modelctl train` or a SavedModel made by "
                           "`modelctl export`")
    return dict(value)


def _raw(feature) -> dict:
    return {key: value for key, value in feature.items() if key not in RAW_ONLY} if isinstance(feature, dict) \
        else {"value": feature}


def problems(spec: dict, teacher: Teacher, graph=None) -> list[tuple[tuple, str]]:
    """What keeps `teacher` from teaching the model of `spec`: (path in the spec, message) pairs.

    The student must have one categorical label, which the teacher predicts too, with as many classes (declared
    by the label, or the units of the student's output in `graph`); every feature the teacher reads must be a
    feature of the student's, read alike (its keys but preprocessing, augmentation and description equal).

    Args:
        spec: the student's spec.
        teacher: the teacher (`read_teacher`).
        graph: the student's expanded model (`modelctl.spec.graph.expand`); default None: output units are not
            compared.
    """
    from modelctl.features import label_type

    here = ("training", "distillation", "teacher")
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    labels = data.get("labels") if isinstance(data.get("labels"), dict) else {}
    kinds = {name: label.get("type") for name, label in labels.items() if isinstance(label, dict)}
    if len(kinds) != 1 or next(iter(kinds.values())) != "categorical":
        shown = ", ".join(f"{name} ({kind})" for name, kind in kinds.items()) or "none"
        return [(("training", "distillation"), f"distillation needs exactly one categorical label; data.labels "
                                               f"has {shown}")]
    [(label, _)] = kinds.items()
    found = []
    taught = teacher.labels.get(label)
    if taught is None:
        return [(here, f"the teacher predicts {', '.join(teacher.labels) or 'no label'}, not '{label}'")]
    if taught.type != "categorical":
        return [(here, f"the teacher's label '{label}' is {taught.type}, not categorical")]
    if len(teacher.labels) != 1:
        found.append((here, f"the teacher predicts {len(teacher.labels)} labels ({', '.join(teacher.labels)}); "
                            "a teacher with one output is needed"))
    classes = taught.classes or []
    declared = label_type("categorical").output_units(labels[label])
    node = graph.node(graph.outputs[0]) if graph is not None and len(graph.outputs) == 1 else None
    units = node.args.get("units") if node is not None and node.kind == "dense" else None
    for count, source in ((declared, f"label '{label}' declares"), (units, "the student's output has")):
        if isinstance(count, int) and count != len(classes):
            found.append((here, f"the teacher predicts {len(classes)} classes of '{label}' but {source} {count}"))
            break
    features = data.get("features") if isinstance(data.get("features"), dict) else {}
    for name, feature in teacher.features.items():
        if name not in features:
            found.append((here, f"the teacher reads feature '{name}', which this spec does not have "
                                f"(features: {', '.join(features) or 'none'})"))
        elif _raw(features[name]) != _raw(feature):
            found.append((here, f"the teacher reads feature '{name}' as {json.dumps(_raw(feature))}, this spec as "
                                f"{json.dumps(_raw(features[name]))}; both models must take the same raw input"))
    return found
