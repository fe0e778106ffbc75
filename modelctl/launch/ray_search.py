"""`modelctl search SPEC --ray --workers N`: the search's workers as Ray tasks, sharing one study.

    codes = ray_tasks(address=None, cpus_per_worker=1, gpus_per_worker=0)(settings, workers, console)

Each task is one search worker (`modelctl.search.worker.run_worker`), as a process started by `--workers N` on
one machine is: it asks the study for trials until the study has its trials, and runs again the trials of a
worker that died (`modelctl.search.liveness`). Optuna's samplers and pruners work as they do locally. The study
lives where every task reaches it: its journal file in the study's folder (a folder every node shares), or
the database of `--storage`. A task whose process dies is started again by Ray (`RETRIES` times).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

RETRIES = 3
"""Times Ray starts a search task again after its process died."""


def ray_tasks(address: str | None, *, cpus_per_worker: float = 1, gpus_per_worker: float = 0):
    """A `launch` for `modelctl.search.runner.run_search` that runs the workers as Ray tasks.

    Args:
        address: the Ray cluster (`modelctl.util.raycluster.connect`); None: $RAY_ADDRESS, else a local Ray.
        cpus_per_worker: CPUs Ray reserves for each task; default 1.
        gpus_per_worker: GPUs Ray gives each task; default 0.
    """

    def launch(settings, workers: int, console) -> list[int]:
        from modelctl.util.raycluster import connect

        # Tasks start in another folder, maybe on another machine: every path is made absolute here.
        settings = dataclasses.replace(
            settings, spec=str(Path(settings.spec).resolve()), output=str(Path(settings.output).resolve()),
            folder=str(Path(settings.folder).resolve()),
            cache_dir=str(Path(settings.cache_dir).resolve()) if settings.cache_dir else
            os.environ.get("MODELCTL_CACHE_DIR"))
        with connect(address, console=console):
            import ray

            task = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_retries=RETRIES)(worker)
            console.print(f"ray: {workers} search task{'s' if workers != 1 else ''} on study {settings.study}",
                          markup=False)
            return ray.get([task.remote(settings.as_dict(), index) for index in range(workers)])

    return launch


def worker(values: dict, index: int) -> int:
    """One Ray task: a search worker on the study; returns its exit code, as a worker process would."""
    import json

    from modelctl.search.worker import main

    return main([json.dumps(values), str(index)])
