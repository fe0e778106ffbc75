"""Benchmark fused training steps (`training.steps_per_execution`) and XLA (`training.jit_compile`).

    python bench/bench_steps.py [--repeats 1] [--rows 200000] [--skip-conv] [--skip-jit]

Every run is a fresh process. Three parts:

1. The 200,000-row table of bench_train.py (scikit-learn's `make_classification`, 54 features, 30
   informative, 7 classes, random_state 0; values times 10 plus 50), made in memory and written as a
   CSV to a temporary folder. A spec reads the 54 columns as one standardized feature and trains a
   256-256-7 MLP with batch 256 for 3 epochs through modelctl's trainer, the split held in memory.
   `training.steps_per_epoch` is 768 (a multiple of 64, so that every execution below is whole), at
   `steps_per_execution` 1, 8, 32, 64 and auto; then auto on the whole table (782 steps per epoch,
   where auto picks 61: 13 executions, the last of 50 steps). The same model as a plain Keras `fit`
   on arrays, at 1 and 64 steps per execution, for comparison.
2. XLA: the MLP through modelctl at 1 and 64 steps per execution with `jit_compile: true`.
3. A convolutional model (32x32x3 random images, conv 32-64-128 with pooling, batch 64, 64 steps
   per epoch) as a plain Keras `fit` at 1 and 64 steps per execution: a step that takes long gains
   nothing from fusing.

Reported for each: training examples/s of the steady epochs (every epoch after the first, which
traces the step functions), the median over `--repeats`. The figures are printed, not saved.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SPEC = """
modelctl: 1
name: steps
seed: 0
data:
  source: {format: csv, path: table.csv}
  features:
    x: {type: numeric, columns: "f*", preprocessing: [standardize]}
  labels:
    label: {column: label, type: categorical}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  batch_size: 256
model:
  layers:
    - dense: {units: 256, activation: relu}
    - dense: {units: 256, activation: relu}
    - dense: {units: 7, activation: softmax}
training:
  epochs: 3
  metrics: [accuracy]
  steps_per_epoch: %(steps_per_epoch)s
  steps_per_execution: %(steps_per_execution)s
  jit_compile: %(jit_compile)s
"""

TIMER = r'''
import sys, time, json
import keras


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
'''

MODELCTL = TIMER + r'''
from pathlib import Path
from rich.console import Console
from modelctl.spec.validate import load_spec
from modelctl.runs import read_json
from modelctl.training.trainer import train

timer = EpochTimer()
result = train(load_spec(sys.argv[1]), Path(sys.argv[2]), Console(quiet=True), quiet=True, extra_callbacks=[timer])
execution = read_json(result.run_dir / "run.json")["execution"]
examples = min(execution["steps_per_epoch"] * 256, result.counts["train"])
print(json.dumps({"epoch_seconds": timer.seconds, "examples": examples,
                  "steps_per_execution": execution["steps_per_execution"]}))
'''

PLAIN_MLP = TIMER + r'''
import numpy as np
from sklearn.datasets import make_classification

steps_per_execution = int(sys.argv[1])
x, y = make_classification(n_samples=int(sys.argv[2]), n_features=54, n_informative=30, n_classes=7, random_state=0)
x = (x * 10 + 50).astype(np.float32)
x = (x - x.mean(axis=0)) / x.std(axis=0)
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((54,)), keras.layers.Dense(256, activation="relu"),
                          keras.layers.Dense(256, activation="relu"), keras.layers.Dense(7, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=steps_per_execution)
timer = EpochTimer()
model.fit(x, y, batch_size=256, epochs=3, verbose=0, callbacks=[timer])
print(json.dumps({"epoch_seconds": timer.seconds, "examples": len(x), "steps_per_execution": steps_per_execution}))
'''

PLAIN_CONV = TIMER + r'''
import numpy as np

steps_per_execution = int(sys.argv[1])
rng = np.random.default_rng(0)
x = rng.normal(size=(4096, 32, 32, 3)).astype(np.float32)
y = rng.integers(0, 10, 4096)
keras.utils.set_random_seed(0)
layers = keras.layers
model = keras.Sequential([
    keras.Input((32, 32, 3)),
    layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(128, 3, padding="same", activation="relu"), layers.GlobalAveragePooling2D(),
    layers.Dense(10, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=steps_per_execution)
timer = EpochTimer()
model.fit(x, y, batch_size=64, epochs=3, verbose=0, callbacks=[timer])
print(json.dumps({"epoch_seconds": timer.seconds, "examples": len(x), "steps_per_execution": steps_per_execution}))
'''


def _env() -> dict:
    return {"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ}


def write_table(folder: Path, rows: int) -> None:
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=rows, n_features=54, n_informative=30, n_classes=7, random_state=0)
    frame = pd.DataFrame((x * 10 + 50).astype(np.float64), columns=[f"f{index}" for index in range(54)])
    frame["label"] = y
    frame.to_csv(folder / "table.csv", index=False, float_format="%.4f")


def run(arguments: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", *arguments], capture_output=True, text=True, env=_env())
    if done.returncode != 0:
        raise SystemExit(f"a benchmark process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def steady_rate(result: dict) -> float:
    """Examples/s over every epoch after the first (the first traces the step functions)."""
    steady = result["epoch_seconds"][1:]
    return result["examples"] * len(steady) / sum(steady)


def modelctl_case(folder: Path, steps_per_epoch, steps_per_execution, jit_compile: str = "auto") -> list[str]:
    name = f"spec-{steps_per_epoch}-{steps_per_execution}-{jit_compile}.yaml"
    (folder / name).write_text(SPEC % {"steps_per_epoch": steps_per_epoch, "steps_per_execution": steps_per_execution,
                                       "jit_compile": jit_compile})
    return [MODELCTL, str(folder / name), str(folder / "runs")]


def measure(label: str, arguments: list[str], repeats: int) -> dict:
    results = [run(arguments) for _ in range(repeats)]
    row = {"case": label, "steps_per_execution": results[0]["steps_per_execution"],
           "examples_per_second": round(statistics.median(steady_rate(result) for result in results)),
           "first_epoch_seconds": round(statistics.median(result["epoch_seconds"][0] for result in results), 2)}
    print(f"{row['case']:<44} {row['steps_per_execution']:>4} {row['examples_per_second']:>10,} "
          f"{row['first_epoch_seconds']:>8}", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--skip-conv", action="store_true")
    parser.add_argument("--skip-jit", action="store_true")
    options = parser.parse_args()
    rows: list[dict] = []
    print(f"{'case':<44} {'spe':>4} {'examples/s':>10} {'epoch 1 s':>8}", flush=True)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        write_table(folder, options.rows)
        for value in ("1", "8", "32", "64", "auto"):
            rows.append(measure(f"modelctl MLP, 768 steps/epoch, spe {value}", modelctl_case(folder, 768, value),
                                options.repeats))
        rows.append(measure("modelctl MLP, whole table, spe auto", modelctl_case(folder, "null", "auto"),
                            options.repeats))
        if not options.skip_jit:
            for value in ("1", "64"):
                rows.append(measure(f"modelctl MLP, 768 steps/epoch, spe {value}, XLA",
                                    modelctl_case(folder, 768, value, "true"), options.repeats))
    for value in ("1", "64"):
        rows.append(measure(f"plain Keras MLP on arrays, spe {value}", [PLAIN_MLP, value, str(options.rows)],
                            options.repeats))
    if not options.skip_conv:
        for value in ("1", "64"):
            rows.append(measure(f"plain Keras conv model, spe {value}", [PLAIN_CONV, value], options.repeats))
    print(json.dumps({"rows": options.rows, "repeats": options.repeats, "cpu_cores": os.cpu_count(),
                      "results": rows}, indent=2))


if __name__ == "__main__":
    main()
