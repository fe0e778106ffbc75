"""The runs an ensemble is made of, and the checks that they fit together.

    members = read_members(["runs/iris/20261126T210913Z", "runs/iris/20261126T210922Z"])  # runs check_data:
                             # the same data and the same split for every member
    check_models(members)    # the same raw inputs (names, dtypes, shapes) and outputs (structure, shapes)

The rule for data: every member split the same rows the same way, so that no member saw in training the rows the
ensemble is tested on (its test metrics would otherwise mean nothing). Members are compared by the split they
actually used: the same `data` section with each source's path resolved (`../data/x.csv` and `../../data/x.csv`
naming one file are the same; `data.batch_size` and `data.shuffle_buffer` may differ), the same split seed
(`data.split.seed`, else the spec's `seed`), the same fold of cross-validation, and the same data as each run
recorded it (files by content, the rows of each split, the fitted preprocessing). The spec's own `seed` may differ
when `data.split.seed` is set: an ensemble of one model trained from several initialisation seeds on one split.
Members may differ in everything else: `model`, `training`, `evaluation`, `export`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from modelctl.ensemble.errors import EnsembleError
from modelctl.errors import UsageError
from modelctl.runs import RunFolder

MINIMUM = 2
"""The fewest members an ensemble takes."""


@dataclasses.dataclass
class Member:
    """One trained run: its folder, spec (a loaded document), record (`modelctl.runs.RunRecord`), fitted
    preprocessing (`modelctl.runs.Fitted`) and loaded model."""

    run_dir: Path
    document: object
    record: object
    fitted: object
    model: object

    @property
    def spec(self) -> dict:
        """The spec as written (what the ensemble's own spec copies); `document.spec` is its typed view."""
        return self.document.data


def read_members(targets: list[str | Path]) -> list[Member]:
    """Load each run folder given (a spec's runs folder gives its newest run), after `check_data` found them
    trained on the same data: models are loaded last, as they take the longest.

    Raises:
        UsageError: fewer than two runs, a run given twice, a folder that is not a finished run.
        EnsembleError: runs trained on different data (see `check_data`).
        ModelLoadError: a model that cannot be read.
    """
    from modelctl.model.saving import load_model
    from modelctl.model.trained import open_trained
    from modelctl.runs import find_run

    if len(targets) < MINIMUM:
        raise UsageError(f"an ensemble needs at least {MINIMUM} runs; received {len(targets)}")
    runs = [find_run(target) for target in targets]
    seen: dict[Path, int] = {}
    for index, run in enumerate(runs, start=1):
        first = seen.setdefault(run.path.resolve(), index)
        if first != index:
            raise UsageError(f"{run}: given twice (members {first} and {index}); each run joins once")
    members = []
    for run in runs:
        trained = open_trained(run, command="ensemble")
        members.append(Member(run.path, trained.document, run.record, trained.fitted, None))
    check_data(members)
    return [dataclasses.replace(member, model=load_model(RunFolder(member.run_dir).model_file))
            for member in members]


def _shown(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _where(index: int, member: Member) -> str:
    return f"member {index} ({member.run_dir})"


def check_data(members: list[Member]) -> None:
    """Refuse members that did not train on the same data split (see the module docstring for the rule).

    Raises:
        EnsembleError: naming the member and each difference from member 1.
    """
    from modelctl.data.fingerprints import data_identity, differences, effective_split_seed

    first = members[0]
    problems = []
    for index, member in enumerate(members[1:], start=2):
        found = []
        seeds = [effective_split_seed(run.document.spec) for run in (first, member)]
        if seeds[0] != seeds[1]:
            found.append(f"split seed: {seeds[0]} -> {seeds[1]} (data.split.seed, else the spec's seed)")
        ours, theirs = (data_identity(run.spec["data"], run.document.base_dir) for run in (first, member))
        for key in dict.fromkeys([*ours, *theirs]):
            if _shown(ours.get(key)) != _shown(theirs.get(key)):
                found.append(f"data.{key}: {_shown(ours.get(key))} -> {_shown(theirs.get(key))}")
        if first.record.fold != member.record.fold:
            found.append(f"fold: {_shown(first.record.values.get('fold'))} -> "
                         f"{_shown(member.record.values.get('fold'))}")
        if not found:
            found = differences(first.record.data, member.record.data)
        if found:
            problems.append(f"{_where(index, member)} did not train on the data of member 1 ({first.run_dir}):\n"
                            + "\n".join(f"  {line}" for line in found))
    if problems:
        raise EnsembleError("\n".join(problems) + "\nan ensemble's members must split the same data the same way, so "
                            "that no member saw the rows the ensemble is tested on; retrain them with the same data "
                            "section and split seed (set data.split.seed to train members from different seeds)")


def _signature(tensors) -> list[tuple[str, str, tuple]]:
    return [(tensor.name, str(tensor.dtype), tuple(tensor.shape)) for tensor in tensors]


def _outputs(model) -> list[tuple[str | None, tuple]]:
    """(name, shape) of each output; the name is None for a model with one output (its name is its own)."""
    structure = model.output
    if isinstance(structure, dict):
        return [(name, tuple(tensor.shape)) for name, tensor in structure.items()]
    tensors = structure if isinstance(structure, (list, tuple)) else [structure]
    return [(None, tuple(tensor.shape)) for tensor in tensors]


def check_models(members: list[Member]) -> None:
    """Refuse members whose models take other raw inputs or give other outputs than member 1's.

    Raises:
        EnsembleError: naming the member and what differs (inputs: name, dtype, shape; outputs: names, shapes;
            labels: types, classes).
    """
    first = members[0]
    problems = []
    for index, member in enumerate(members[1:], start=2):
        where = _where(index, member)
        ours, theirs = _signature(first.model.inputs), _signature(member.model.inputs)
        if sorted(ours) != sorted(theirs):
            problems.append(f"{where} takes other inputs than member 1: {_described(theirs)}; member 1 takes "
                            f"{_described(ours)}")
        ours, theirs = _outputs(first.model), _outputs(member.model)
        if ours != theirs:
            problems.append(f"{where} gives other outputs than member 1: {_output_text(theirs)}; member 1 gives "
                            f"{_output_text(ours)}")
        for label, fitted in first.fitted.labels.items():
            other = member.fitted.labels.get(label)
            if other is None:
                problems.append(f"{where} has no label '{label}'")
            elif (other.type, other.classes) != (fitted.type, fitted.classes):
                problems.append(f"{where}: label '{label}' is {other.type} with classes {other.classes}; "
                                f"member 1's is {fitted.type} with classes {fitted.classes}")
    if problems:
        raise EnsembleError("\n".join(problems))


def _described(signature: list[tuple[str, str, tuple]]) -> str:
    return ", ".join(f"'{name}' ({dtype}, shape {_shape(shape)})" for name, dtype, shape in sorted(signature))


def _output_text(outputs: list[tuple[str | None, tuple]]) -> str:
    return ", ".join(f"{'' if name is None else repr(name) + ' '}shape {_shape(shape)}" for name, shape in outputs)


def _shape(shape: tuple) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"
