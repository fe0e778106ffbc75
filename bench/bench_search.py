"""Benchmark what `modelctl search` adds to each trial beyond training it.

    python bench/bench_search.py [--trials 10] [--sampler tpe]

One worker in this process runs a search over examples/iris/spec.yaml (one epoch of three steps per trial, the
journal file storage). TensorFlow is imported and the prepared-data cache filled before the clock starts, as
they are once per worker. Each trial's training is its call of `modelctl.training.trainer.train` (reading the
prepared data, building, fitting, evaluating and saving the run), timed inside the trial; the overhead is the
rest of the worker's time, divided by the trials: drawing the values, loading and validating the trial's spec,
the storage's reads and writes, clearing the Keras session. Writing the report (search.json, best.yaml, three
plots) happens once per search and is given apart. Target: overhead <= 1 s per trial.
Writes bench/results/search.json.
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SPEC = ROOT / "examples" / "iris" / "spec.yaml"
TRAIN = ["training.epochs=1", "training.steps_per_epoch=3"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--sampler", default="tpe")
    options = parser.parse_args()

    import keras  # noqa: F401  (imported once per worker, before its first trial)
    from rich.console import Console

    from modelctl.data.cache import DataCache
    from modelctl.search.report import write_report
    from modelctl.search.runner import settings_for
    from modelctl.search.study import open_study
    from modelctl.search.worker import run_worker
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    folder = Path(tempfile.mkdtemp(prefix="modelctl-bench-search-"))
    cache = folder / "cache"
    try:
        console = Console(file=io.StringIO())
        overrides = [*TRAIN, f"search.sampler={options.sampler}", "search.pruner=none"]
        train(load_spec(SPEC, TRAIN), folder / "warm", console, quiet=True, cache=DataCache(folder=cache))
        settings, document = settings_for(str(SPEC), overrides, output=folder / "runs", trials=options.trials,
                                          storage=None, study=None, cache_dir=cache)
        search = document.spec.search
        open_study(settings, search, seed=0, create=True, join=False)
        started = time.perf_counter()
        run_worker(settings, console, index=0)
        loop = time.perf_counter() - started
        study = open_study(settings, search, seed=0, create=False, join=True)
        started = time.perf_counter()
        write_report(study, settings, search, console=console)
        report = time.perf_counter() - started
        trials = [trial for trial in study.trials if trial.state.name == "COMPLETE"]
        assert len(trials) == options.trials, [trial.state for trial in study.trials]
        training = sum(trial.user_attrs["train_seconds"] for trial in trials)
        figures = {
            "spec": "examples/iris/spec.yaml", "trials": options.trials, "sampler": options.sampler,
            "storage": "journal file", "loop_seconds": round(loop, 3), "training_seconds": round(training, 3),
            "training_per_trial_seconds": round(training / len(trials), 3),
            "overhead_per_trial_seconds": round((loop - training) / len(trials), 3),
            "report_seconds": round(report, 3),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "search.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
