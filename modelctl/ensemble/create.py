"""`modelctl ensemble`: several trained runs as one model, kept in a run folder of its own.

    result = create_ensemble(["runs/iris/A", "runs/iris/B"], method="mean", output=Path("runs/iris-ensemble"))
    result.run_dir             # runs/iris-ensemble
    result.metrics             # {"train": {...}, "validation": {...}, "test": {...}}: the ensemble's
    result.member_metrics      # [{"train": {...}, ...}, ...]: each member's, on the same splits

The folder holds what `modelctl train` writes and later commands read (`modelctl eval`, `export`, `predict`,
`serve`, `compare` and `track` take it unchanged):

    spec                 member 1's spec under the ensemble's name (its data section is every member's; its
                         model and training sections are member 1's, and say nothing of the others)
    record               like a trained run's, plus `ensemble`: the method, the weights and each member's
                         run folder, spec name, spec hash and layer name inside the model
    fitted preprocessing member 1's (every member's is the same)
    model                the ensemble (`modelctl.model.ensemble`): raw features in, each member's
                         preprocessing inside its member
    final metrics        the ensemble's loss and metrics on each split, compiled as member 1 was

Members are checked first (`modelctl.ensemble.members`); nothing is written when they do not fit together.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import sys
from pathlib import Path

from modelctl.ensemble.errors import EnsembleError
from modelctl.ensemble.members import Member, check_models, read_members
from modelctl.ensemble.weights import resolve
from modelctl.errors import UsageError
from modelctl.spec.typed import Spec


@dataclasses.dataclass
class EnsembleResult:
    run_dir: Path
    method: str
    weights: list[float] | None
    members: list[Path]
    metrics: dict
    member_metrics: list[dict]
    notes: list[str]


def create_ensemble(targets: list[str | Path], *, method: str = "mean", weights: str | list[float] | None = None,
                    output: Path | None = None, name: str | None = None, runs: Path = Path("runs"), cache=None,
                    command_line: list[str] | None = None) -> EnsembleResult:
    """Check the runs `targets`, combine their models and write the ensemble's run folder.

    Args:
        targets: two or more run folders (a spec's runs folder gives its newest run), in order: member 1 first.
        method: "mean" (default), "weighted" or "vote" (`modelctl.model.ensemble.METHODS`).
        weights: with "weighted": one weight per member, >= 0 (normalized to sum to 1); default None.
        output: the ensemble's run folder (created when missing; it must hold no run); default None:
            `runs/<name>/<timestamp>/`.
        name: the ensemble's spec name; default None: `output`'s folder name, else `<member 1's name>-ensemble`.
        runs: the folder runs are created in when `output` is None; default `runs`.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder.
        command_line: the command as typed, for the run's record; default `sys.argv`.

    Raises:
        UsageError: fewer than two runs, bad `--method`/`--weights`, a bad name, an output folder holding a run.
        EnsembleError: members that do not fit together, or `vote` on a regression label.
    """
    from modelctl.runs import RunFolder, create_run_dir, make_folder, spec_text, write_json
    from modelctl.training.callbacks import save_model_atomic
    from modelctl.util.files import write_text_atomic

    method, weights, note = resolve(method, weights, members=len(targets))
    if output is not None and RunFolder(output).is_run:
        raise UsageError(f"{output}: already holds a run (its {RunFolder(output).record_file.name}); --output names "
                         "a new folder for the ensemble")
    if output is not None and Path(output).exists() and not Path(output).is_dir():
        raise UsageError(f"--output {output}: is a file; give a folder (made when missing)")
    name = _checked_name(name or (Path(output).resolve().name if output is not None else None))
    members = read_members(targets)
    check_models(members)
    first = members[0]
    name = name or _checked_name(f"{first.document.spec.name}-ensemble")
    output_names = _output_names(first)
    votes = _votes(first, output_names) if method == "vote" else None
    from modelctl.model.ensemble import ensemble_model

    model = ensemble_model([member.model for member in members], method=method, weights=weights, votes=votes,
                           output_names=output_names, name=name.replace("-", "_").replace(".", "_"))
    prepared = _prepared(first, cache)
    member_metrics = [_metrics(member.model, first.document.spec, output_names, prepared=prepared)
                      for member in members]
    metrics = _metrics(model, first.document.spec, output_names, prepared=prepared)
    created = output is None or not Path(output).exists()
    folder = create_run_dir(runs, name, checkpoints=False) if output is None else make_folder(Path(output))
    spec = {**first.spec, "name": name, "description": f"Ensemble ({method}) of {len(members)} runs: "
            f"{', '.join(str(member.run_dir) for member in members)}. Its model and training sections are those "
            "of member 1."}
    run = RunFolder(folder)
    written = [run.spec_file, run.fitted_file, run.model_file, run.metrics_file]
    try:
        write_text_atomic(run.spec_file, spec_text(spec))
        run.write_fitted(first.fitted)
        save_model_atomic(model, run.model_file)
        write_json(run.metrics_file, metrics)
        _write_record(folder, name=name, spec=spec, first=first, members=members, method=method, weights=weights,
                      votes=votes, member_metrics=member_metrics, command_line=command_line)
    except BaseException:  # no half-written run: the record is written last, and nothing stays without it
        if created:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for path in written:
                path.unlink(missing_ok=True)
        raise
    return EnsembleResult(folder, method, weights, [member.run_dir for member in members], metrics, member_metrics,
                          [note] if note else [])


def _write_record(folder: Path, *, name: str, spec: dict, first: Member, members: list[Member], method: str,
                  weights, votes, member_metrics: list[dict], command_line: list[str] | None) -> None:
    """The ensemble's record: member 1's data record, and the members, method and weights under `ensemble`."""
    from modelctl.model.ensemble import member_name
    from modelctl.runs import RunFolder, git_commit, spec_hash, versions

    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    values = first.record.values
    RunFolder(folder).write_record({
        "name": name,
        "spec_hash": spec_hash(spec),
        "spec_file": values.get("spec_file"),
        "spec_files": values.get("spec_files"),
        "base_dir": values.get("base_dir"),
        "command": command_line if command_line is not None else sys.argv,
        "started": now,
        "status": "completed",
        "versions": versions(),
        "git_commit": git_commit(Path(values.get("base_dir") or ".")),
        "examples": values.get("examples"),
        "fold": values.get("fold"),
        "seed": first.document.spec.seed,
        "data": first.record.data,
        "ensemble": {
            "method": method,
            "weights": weights,
            "votes": votes,
            "members": [{"run": str(member.run_dir.resolve()), "name": member.document.spec.name,
                         "spec_hash": member.record.values.get("spec_hash"), "layer": member_name(index),
                         "weight": None if weights is None else weights[index], "metrics": member_metrics[index]}
                        for index, member in enumerate(members)],
        },
    })


def _checked_name(name: str | None) -> str | None:
    """`name` when it is a spec name (letters, digits, `_`, `.`, `-`, starting with a letter or digit), or None."""
    import re

    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise UsageError(f"{name!r} is not a spec name for the ensemble: letters, digits, '_', '.' and '-', starting "
                         "with a letter or digit; give one with --name")
    return name


def _output_names(member: Member) -> list[str]:
    """The ensemble's output names: the member's output keys when it has several, else its one label's name."""
    structure = member.model.output
    if isinstance(structure, dict):
        return list(structure)
    return member.fitted.label_names[:1]


def _votes(member: Member, output_names: list[str]) -> dict[str, str]:
    """Output name -> how members vote on it: `argmax` for one class among several, else `threshold`.

    Raises:
        EnsembleError: a label that is not a classification (a regression output has nothing to vote for).
    """
    from modelctl.features import label_type

    structure = member.model.output
    tensors = list(structure.values()) if isinstance(structure, dict) else [structure]
    votes = {}
    for output, label, tensor in zip(output_names, member.fitted.label_names, tensors):
        kind = label_type(member.fitted.labels[label].type)
        if not kind.classifies:
            raise EnsembleError(f"--method vote: label '{label}' is {kind.name}, and members vote for classes; "
                                "use --method mean or weighted")
        votes[output] = "argmax" if kind.single_class and tensor.shape[-1] > 1 else "threshold"
    return votes


def _prepared(member: Member, cache):
    from modelctl.data.pipeline import prepare

    return prepare(member.document, fitted=member.fitted, cache=cache)


def _metrics(model, spec: Spec, output_names: list[str], *, prepared) -> dict:
    """Loss and metrics of `model` on every split, compiled with `spec`'s training section (as training does).

    A new model over the same layers is compiled, not `model`: an ensemble saved with its members compiled
    would carry their optimizers' state into the saved model."""
    import keras

    from modelctl.training.compile import compile_arguments
    from modelctl.training.trainer import evaluate_splits

    scored = keras.Model(inputs=model.input, outputs=model.output)
    scored.compile(**compile_arguments(spec, output_names, steps_per_epoch=1))
    return evaluate_splits(scored, prepared, output_names, larger_batches=True)
