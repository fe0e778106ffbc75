"""`modelctl search`: a hyperparameter search over the spec's `search.parameters`, one run per trial."""

from __future__ import annotations

from pathlib import Path


def run_search_command(spec: str, overrides: list[str], *, output: Path, trials: int | None, workers: int,
                       storage: str | None, study: str | None, resume: bool, folds: int | None, console,
                       cache_dir: Path | None = None, use_cache: bool = True) -> dict:
    """Run the search and print its table; returns search.json's content.

    Raises:
        UsageError: `--folds`, which searches do not take yet.
    """
    from modelctl.errors import UsageError
    from modelctl.search.runner import run_search

    if folds is not None:
        raise UsageError("--folds is not supported by `modelctl search` yet: each trial trains once on the "
                         "spec's split; cross-validate the best spec with `modelctl train best.yaml --folds K`")
    return run_search(spec, overrides, output=output, trials=trials, workers=workers, storage=storage, study=study,
                      resume=resume, console=console, cache_dir=cache_dir, use_cache=use_cache)
