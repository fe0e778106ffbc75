"""`modelctl search`: a hyperparameter search over the spec's `search.parameters`, one run per trial."""

from __future__ import annotations

from pathlib import Path


def run_search_command(spec: str, overrides: list[str], *, output: Path, trials: int | None, workers: int,
                       storage: str | None, study: str | None, resume: bool, folds: int | None, console,
                       cache_dir: Path | None = None, use_cache: bool = True, track: str | None = None,
                       ray: tuple | None = None) -> dict:
    """Run the search and print its table; returns search.json's content.

    `ray`: `(address, cpus_per_worker, gpus_per_worker)` to run the workers as Ray tasks (`--ray`); default None.

    Raises:
        MissingExtra: Optuna (the `search` extra) is not installed.
    """
    from modelctl.util.lazy import MissingExtra, installed

    if not installed("optuna"):
        raise MissingExtra("optuna", "modelctl search", extra="search")
    from modelctl.search.runner import run_search

    launch = None
    if ray is not None:
        from modelctl.launch.ray_search import ray_tasks

        address, cpus, gpus = ray
        launch = ray_tasks(address, cpus_per_worker=cpus, gpus_per_worker=gpus)
    return run_search(spec, overrides, output=output, trials=trials, workers=workers, storage=storage, study=study,
                      resume=resume, folds=folds, console=console, cache_dir=cache_dir, use_cache=use_cache,
                      track=track, launch=launch)
