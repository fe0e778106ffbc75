"""`modelctl train`: train a spec's model into a run folder, or K models for k-fold cross-validation."""

from __future__ import annotations

import sys
from pathlib import Path

from modelctl.errors import DataError, UsageError
from modelctl.spec.validate import load_spec


def run_train(spec: str | None, overrides: list[str], output: Path, *, resume: Path | None, dry_run: bool,
              quiet: bool, folds: int | None, console, cache=None, track: str | None = None,
              track_strict: bool = False, run_dir: Path | None = None, resume_if_exists: bool = False,
              allow_worker_change: bool = False, ray=None) -> dict:
    """Train and print where the run is and its final metrics. Returns the run's summary.

    Args:
        spec: the spec file; None with `resume` (the spec the run was started with is used).
        overrides: `--set` arguments.
        output: folder runs are created in.
        resume: a run folder to continue.
        dry_run: check data and model, train nothing.
        quiet: no progress output.
        folds: k-fold cross-validation with this many folds (>= 2); None trains once.
        cache: the prepared-data cache (`modelctl.data.cache.DataCache`); default None: the default folder.
        track: `--track`: None (default: as the spec's `tracking` section says) or `mlflow`.
        track_strict: `--track-strict`: a tracking server that cannot be reached is an error; default False.
        run_dir: `--run-dir`: write the run into exactly this folder (created when missing; it must hold no run)
            instead of `output/<name>/<timestamp>/`, for pipelines that need fixed paths; default None.
        resume_if_exists: `--resume-if-exists`: with `run_dir`, continue the run in it when it holds a completed
            epoch, start it there otherwise (`modelctl.training.restart`); default False.
        allow_worker_change: `--allow-worker-change`: resume on another number of workers or replicas than the
            run was started on; default False.
        ray: `--ray`: `(address, launch.ray_train.Shape)` to train on a Ray cluster (None for $RAY_ADDRESS or a
            local Ray), in `run_dir` (continued when it holds a run) or a new run folder; default None: here.
    """
    from modelctl.runs import RunFolder, create_run_dir, find_run
    from modelctl.spec.run import load_run_spec

    if resume is not None:
        run = find_run(resume, completed_only=False)
        if overrides:
            raise UsageError("--set cannot change a run being resumed; its spec is the one it was started with")
        if run.record.kind == "cross_validation":
            raise UsageError(f"{run}: a cross-validation's folder; resume one of its folds ({run.fold(1)}, ...), or "
                             "train the cross-validation again")
        resume = run.path
        document = load_run_spec(run)
    elif spec is None:
        raise UsageError("give a spec file to train, or --resume RUN_DIR")
    else:
        document = load_spec(spec, overrides)
    if document.spec.data is None:  # before TensorFlow is imported: nothing to train on
        raise DataError(f"{document.source}: the spec has no `data` section; add one to train (`modelctl summary` "
                        "shows a model without data)")
    from modelctl.evaluation.plots import learning_curves_plot
    from modelctl.training.trainer import train
    from modelctl.util.storage import is_remote

    if is_remote(output) and run_dir is None and not dry_run:
        # On object storage the run's folder is named here; the run starts there (`training.remote`).
        from modelctl.training.remote import new_run_url

        run_dir = new_run_url(output, document.spec.name)
    if run_dir is not None and is_remote(run_dir):
        if folds is not None:
            raise UsageError("--folds keeps its folds in a local folder: give a local --output")
        resume_if_exists = True  # a run folder on object storage continues what it holds
    if ray is not None:
        if resume is not None or folds is not None or dry_run:
            raise UsageError("--ray trains a new run, or continues the one in --run-dir DIR: it takes neither "
                             "--resume, --folds nor --dry-run")
        resume_if_exists = run_dir is not None
    if resume_if_exists and (run_dir is None or folds is not None):
        raise UsageError("--resume-if-exists continues the run in --run-dir DIR, the folder every restart of the "
                         "command names: add --run-dir (and leave out --folds)")
    if run_dir is not None and not resume_if_exists:
        if resume is not None:
            raise UsageError("--run-dir and --resume cannot be combined: a resumed run stays in its folder")
        if Path(run_dir).exists() and not Path(run_dir).is_dir():
            raise UsageError(f"--run-dir {run_dir}: is a file; give a folder (made when missing)")
        if RunFolder(run_dir).is_run:
            raise UsageError(f"{run_dir}: already holds a run (its {RunFolder(run_dir).record_file.name}); --run-dir "
                             "writes a new run into a folder that holds none")
    from modelctl.tracking.settings import mlflow_settings

    tracking = mlflow_settings(document.spec, track=track, strict=track_strict)
    live = console.is_terminal and not quiet
    command = [Path(sys.argv[0]).name, *sys.argv[1:]]
    if ray is not None:
        from modelctl.launch.ray_train import train_on_ray

        address, shape = ray
        result = train_on_ray(spec, overrides, run_dir or create_run_dir(output, document.spec.name), shape=shape,
                              address=address, console=console, quiet=quiet, command_line=command,
                              cache_dir=None if cache is None else cache.folder,
                              use_cache=True if cache is None else cache.enabled,
                              allow_worker_change=allow_worker_change, tracking=tracking)
        render_result(result.run_dir, result.metrics, console)
        return {"run_dir": str(result.run_dir), "metrics": result.metrics}
    if resume_if_exists and not dry_run:
        from modelctl.training.restart import train_or_resume

        result = train_or_resume(document, run_dir, console, output=output, quiet=quiet, live=live,
                                 command_line=command, plot_history=learning_curves_plot, cache=cache,
                                 tracking=tracking, allow_worker_change=allow_worker_change)
        render_result(result.run_dir, result.metrics, console)
        return {"run_dir": None if result.run_dir is None else str(result.run_dir), "metrics": result.metrics}
    if folds is None or dry_run:
        result = train(document, output, console, quiet=quiet, live=live, resume=resume, dry_run=dry_run,
                       command_line=command, plot_history=learning_curves_plot, cache=cache, tracking=tracking,
                       run_dir=None if dry_run else run_dir, allow_worker_change=allow_worker_change)
        if result.run_dir is not None or result.metrics:
            render_result(result.run_dir, result.metrics, console)
        return {"run_dir": None if result.run_dir is None else str(result.run_dir), "metrics": result.metrics}
    if resume is not None:
        raise UsageError("--folds and --resume cannot be combined")
    from modelctl.training.kfold import cross_validate

    result = cross_validate(document, output, console, folds=folds, run_dir=run_dir, quiet=quiet, live=live,
                            command_line=command, plot_history=learning_curves_plot, cache=cache, tracking=tracking)
    summary = result.record.summary
    render_cross_validation(result.run.path, summary, console)
    return {"run_dir": str(result.run.path), "metrics": summary}


def render_result(run_dir: Path | None, metrics: dict, console) -> None:
    """The final metrics of a run, titled with its folder; None for a worker of a multi-worker run other than the
    chief, which keeps no run folder (its metrics are the chief's)."""
    from rich.table import Table

    from modelctl.util.tables import print_table

    title = f"Run {run_dir}" if run_dir is not None else \
        "Metrics (a worker of a multi-worker run; the chief keeps the run)"
    table = Table(title=title, title_justify="left")
    names = list(dict.fromkeys(name for values in metrics.values() for name in values))
    table.add_column("split")
    for name in names:
        table.add_column(name, justify="right")
    for split, values in metrics.items():
        table.add_row(split, *(f"{values[name]:.4f}" if name in values else "" for name in names))
    print_table(table, console)


def render_cross_validation(parent: Path, summary: dict, console) -> None:
    from rich.table import Table

    from modelctl.util.tables import print_table

    table = Table(title=f"Cross-validation {parent}", title_justify="left")
    for column in ("split", "metric", "mean", "std"):
        table.add_column(column, justify="left" if column in ("split", "metric") else "right")
    for split, values in summary.items():
        for name, value in values.items():
            table.add_row(split, name, f"{value['mean']:.4f}", f"{value['std']:.4f}")
    print_table(table, console)
