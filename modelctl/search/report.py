"""What a search leaves in its study folder, and the table it prints.

    runs/NAME/search/STUDY/
      journal.log       the study (the default storage)
      trial-0000/ ...   one ordinary run folder per trial
      search.json       every trial: number, state, parameters, metric, run folder, host, seconds
      best.yaml         the spec with the best trial's values, without its `search` section
      plots/            optimization_history.png, param_importances.png, parallel_coordinate.png

best.yaml is the spec as the best trial trained it (its `--set` overrides
included) with relative data paths rewritten to be read from the study
folder; `modelctl train best.yaml` trains it again, to the same metric with
the same seed.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from modelctl.search import space
from modelctl.search.study import shown_url
from modelctl.search.worker import counted
from modelctl.spec.typed import Search
from modelctl.util.files import write_text_atomic

PLOTS = {
    "optimization_history.png": "plot_optimization_history",
    "param_importances.png": "plot_param_importances",
    "parallel_coordinate.png": "plot_parallel_coordinate",
}
"""Figure file -> the `optuna.visualization.matplotlib` function that draws it."""


def _state(trial) -> str:
    """`interrupted` (stopped by SIGTERM or Ctrl-C), `lost` (failed by another worker: its own was gone, see
    `liveness`), or Optuna's state in lower case (`complete`, `pruned`, `running`, `fail`, `waiting`)."""
    if trial.user_attrs.get("interrupted"):
        return "interrupted"
    if trial.state.name == "FAIL" and not trial.user_attrs.get("error"):
        return "lost"
    return trial.state.name.lower()


def _retry_of(trial) -> int | None:
    """The number of the lost trial whose parameters `trial` runs again; None for a trial of its own."""
    import warnings

    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)


def trial_rows(study, parameters: dict) -> list[dict]:
    """Every trial of the study but surplus ones, best first: completed by metric, then pruned, running, failed."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("surplus"):
            continue
        rows.append({
            "number": trial.number,
            "state": _state(trial),
            "value": trial.value if trial.state.name == "COMPLETE" else _last_report(trial),
            "parameters": space.decode(trial.params, parameters),
            "run_dir": trial.user_attrs.get("run_dir"),
            "host": trial.user_attrs.get("host"),
            "seconds": trial.duration.total_seconds() if trial.duration else None,
            "train_seconds": trial.user_attrs.get("train_seconds"),
            "pruned_at_epoch": trial.user_attrs.get("pruned_at_epoch"),
            "error": trial.user_attrs.get("error"),
            "retry_of": _retry_of(trial),
        })
    sign = 1 if study.direction.name == "MINIMIZE" else -1
    order = {"complete": 0, "pruned": 1, "running": 2}
    return sorted(rows, key=lambda row: (order.get(row["state"], 3),
                                         sign * row["value"] if row["value"] is not None else math.inf,
                                         row["number"]))


def _last_report(trial) -> float | None:
    if not trial.intermediate_values:
        return None
    return trial.intermediate_values[max(trial.intermediate_values)]


def best_trial(study):
    """The best completed trial, or None when no trial has completed."""
    completed = [trial for trial in counted(study.get_trials(deepcopy=False)) if trial.state.name == "COMPLETE"]
    return study.best_trial if completed else None


def write_report(study, settings, search: Search, *, console) -> dict:
    """Write search.json, best.yaml and the plots into the study folder and print the table; returns search.json's
    content."""
    folder = Path(settings.folder)
    folder.mkdir(parents=True, exist_ok=True)
    parameters = search.parameters
    rows = trial_rows(study, parameters)
    best = best_trial(study)
    record = {
        "study": settings.study,
        "storage": shown_url(settings.storage),
        "spec": settings.spec,
        "overrides": list(settings.overrides),
        "metric": search.metric,
        "goal": study.direction.name.lower(),
        "trials_asked": settings.trials,
        "counts": {state: sum(1 for row in rows if row["state"] == state)
                   for state in ("complete", "pruned", "running", "fail", "interrupted", "lost")},
        "best": None if best is None else {"number": best.number, "value": best.value,
                                           "parameters": space.decode(best.params, parameters),
                                           "run_dir": best.user_attrs.get("run_dir"), "spec": str(folder / "best.yaml")},
        "trials": rows,
    }
    write_text_atomic(folder / "search.json", json.dumps(record, indent=2, default=str) + "\n")
    if best is not None:
        write_best_spec(settings, space.decode(best.params, parameters), folder / "best.yaml")
    record["plots"] = [str(path) for path in write_plots(study, folder / "plots")]
    render_table(rows, record, folder, console=console)
    return record


def write_best_spec(settings, values: dict, path: Path) -> Path:
    """The spec with `values`, its `--set` overrides applied and `search` removed, written to `path` and checked.

    Raises:
        SpecError: the written spec does not validate (a bug: every value was validated before its trial).
    """
    from modelctl.runs import spec_text
    from modelctl.spec.validate import load_spec

    document = load_spec(settings.spec, [*settings.overrides, *space.overrides(values)])
    spec = document.data
    spec.pop("search", None)
    _rebase_paths(spec, document.base_dir, path.parent)
    header = (f"# The best trial of search '{settings.study}' over {settings.spec}: "
              + ", ".join(f"{name}={value!r}" for name, value in values.items()) + "\n")
    write_text_atomic(path, header + spec_text(spec))
    load_spec(path)
    return path


def _rebase_paths(spec: dict, base: Path, folder: Path) -> None:
    """Rewrite the relative paths of data sources, written from `base`, to be read from `folder`."""
    data = spec.get("data") if isinstance(spec.get("data"), dict) else {}
    sources = [data.get("source"), *(data.get("sources") or {}).values()]
    for source in sources:
        if isinstance(source, dict) and isinstance(source.get("path"), str) and not os.path.isabs(source["path"]):
            source["path"] = os.path.relpath(Path(base).resolve() / source["path"], Path(folder).resolve())


def write_plots(study, folder: Path) -> list[Path]:
    """The figures of `PLOTS` as PNG files; those that need more trials than there are (importances need two
    completed trials with differing values) are left out."""
    import warnings

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as pyplot
    import optuna.visualization.matplotlib as figures

    completed = [trial for trial in study.get_trials(deepcopy=False) if trial.state.name == "COMPLETE"]
    if not completed:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, function in PLOTS.items():
        if name == "param_importances.png" and (len(completed) < 2 or len(study.best_trial.params) < 1):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib figures experimental
            try:
                axes = getattr(figures, function)(study)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few distinct trials for this figure
        figure = axes.flat[0].figure if hasattr(axes, "flat") else axes.figure
        figure.set_size_inches(10, 6)
        figure.tight_layout()
        figure.savefig(folder / name, dpi=100)
        pyplot.close(figure)
        written.append(folder / name)
    return written


def render_table(rows: list[dict], record: dict, folder: Path, *, console) -> None:
    """The trials, best first, and where the study's files are."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    names = list(dict.fromkeys(name for row in rows for name in row["parameters"]))
    counts = record["counts"]
    others = ", ".join(f"{counts[state]} {state}" for state in ("pruned", "running", "fail", "interrupted", "lost")
                       if counts.get(state))
    table = Table(title=f"Search {record['study']}: {record['metric']} ({record['goal']}), "
                        f"{counts['complete']} completed{', ' + others if others else ''}; "
                        f"{record['trials_asked']} asked for", title_justify="left")
    for column in ("trial", "state", record["metric"], *names, "seconds"):
        table.add_column(column, justify="left" if column in ("state",) else "right")
    for row in rows:
        table.add_row(str(row["number"]), row["state"] + (f" @{row['pruned_at_epoch']}" if row["pruned_at_epoch"]
                                                          else ""),
                      "" if row["value"] is None else f"{row['value']:.4f}",
                      *(_cell(row["parameters"].get(name)) for name in names),
                      "" if row["seconds"] is None else f"{row['seconds']:.1f}")
    print_table(table, console)
    console.print(f"trials, search.json and plots in {folder}", markup=False)
    if record["best"] is not None:
        console.print(f"best: trial {record['best']['number']}, {record['metric']} {record['best']['value']:.4f}; "
                      f"train it again with: modelctl train {folder / 'best.yaml'}", markup=False)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return json.dumps(value) if isinstance(value, (dict, list)) else str(value)
