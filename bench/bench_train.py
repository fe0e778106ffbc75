"""Benchmark `modelctl train` against the same model written as a plain Keras script.

    python bench/bench_train.py [--epochs 10] [--repeats 3]

Both run as fresh processes on specs/small-cnn.yaml's data (1,797 8x8 digits,
80 % for training, batch 64) with the same layers, optimizer, epochs and a
validation split each epoch. The plain script loads the CSV with numpy, scales
it and calls `model.fit` on arrays. Reported:

  - training examples/s of `fit` (the fit call alone, tracing included) for each, and their ratio
    (target: modelctl / plain >= 1.0);
  - time from command start to the first training step for `modelctl train`, against the time
    `import tensorflow` takes in a fresh process (target: at most 2 s more);
  - the whole command's wall time for each.

Results are printed and written as JSON to bench/results/train.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "specs" / "small-cnn.yaml"

PLAIN = r'''
import sys, time, json
start = time.time()
import numpy as np
import keras
epochs = int(sys.argv[2])
table = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, dtype=np.float32)
x, y = table[:, :64].reshape(-1, 8, 8, 1) * 0.0625, table[:, 64].astype(np.int32)
order = np.random.default_rng(7).permutation(len(x))
train, valid = order[: int(0.8 * len(x))], order[int(0.8 * len(x)): int(0.9 * len(x))]
keras.utils.set_random_seed(7)
model = keras.Sequential([
    keras.Input((8, 8, 1)),
    keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(0.002), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
fit_start = time.perf_counter()
history = model.fit(x[train], y[train], batch_size=64, epochs=epochs, validation_data=(x[valid], y[valid]), verbose=0)
seconds = time.perf_counter() - fit_start
print(json.dumps({"fit_seconds": seconds, "examples": len(train), "val_accuracy": history.history["val_accuracy"][-1]}))
'''


def modelctl_run(epochs: int, output: Path) -> dict:
    started = time.time()
    done = subprocess.run(["modelctl", "train", str(SPEC), "--quiet", "--output", str(output),
                           "--set", f"training.epochs={epochs}", "--set", "training.early_stopping=false"],
                          capture_output=True, text=True)
    wall = time.time() - started
    if done.returncode != 0:
        raise SystemExit(f"modelctl train failed:\n{done.stderr[-3000:]}")
    run = sorted((output / "small-cnn").iterdir())[-1]
    record = json.loads((run / "run.json").read_text())
    metrics = json.loads((run / "metrics.json").read_text())
    return {"fit_seconds": record["seconds"], "examples": record["examples"]["train"], "wall_seconds": wall,
            "first_step_seconds": record["first_step_at"] - started,
            "val_accuracy": metrics["validation"]["accuracy"]}


def plain_run(epochs: int) -> dict:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", PLAIN, str(ROOT / "examples" / "digits" / "digits.csv"),
                           str(epochs)], capture_output=True, text=True, env={"TF_CPP_MIN_LOG_LEVEL": "3",
                                                                               **__import__("os").environ})
    if done.returncode != 0:
        raise SystemExit(f"plain Keras script failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.time() - started
    return result


def import_seconds() -> float:
    started = time.time()
    subprocess.run([sys.executable, "-c", "import tensorflow"], capture_output=True,
                   env={"TF_CPP_MIN_LOG_LEVEL": "3", **__import__("os").environ}, check=True)
    return time.time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ours, plain, imports = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(args.repeats):
            imports.append(import_seconds())
            plain.append(plain_run(args.epochs))
            ours.append(modelctl_run(args.epochs, Path(folder) / f"runs-{repeat}"))

    def rate(run: dict) -> float:
        return run["examples"] * args.epochs / run["fit_seconds"]

    result = {
        "epochs": args.epochs, "repeats": args.repeats,
        "modelctl_examples_per_second": statistics.median(rate(run) for run in ours),
        "plain_keras_examples_per_second": statistics.median(rate(run) for run in plain),
        "modelctl_wall_seconds": statistics.median(run["wall_seconds"] for run in ours),
        "plain_keras_wall_seconds": statistics.median(run["wall_seconds"] for run in plain),
        "first_step_seconds": statistics.median(run["first_step_seconds"] for run in ours),
        "import_tensorflow_seconds": statistics.median(imports),
        "modelctl_val_accuracy": statistics.median(run["val_accuracy"] for run in ours),
        "plain_keras_val_accuracy": statistics.median(run["val_accuracy"] for run in plain),
    }
    result["throughput_ratio"] = result["modelctl_examples_per_second"] / result["plain_keras_examples_per_second"]
    result["first_step_over_import_seconds"] = result["first_step_seconds"] - result["import_tensorflow_seconds"]
    for key, value in result.items():
        print(f"{key:36s} {value:.3f}" if isinstance(value, float) else f"{key:36s} {value}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "train.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
