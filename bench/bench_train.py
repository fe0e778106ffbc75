"""Benchmark `modelctl train` against the same model written as a plain Keras script.

    python bench/bench_train.py [--epochs 10] [--repeats 3] [--skip-small] [--skip-table]

Everything runs as fresh processes. Two comparisons:

1. specs/small-cnn.yaml's data (1,797 8x8 digits, 80 % for training, batch 64) with the same layers,
   optimizer, epochs and a validation split each epoch. The plain script loads the CSV with numpy,
   scales it and calls `model.fit` on arrays. Reported:

   - training examples/s of `fit` (the fit call alone, tracing included) for each, and their ratio
     (target: modelctl / plain >= 1.0);
   - time from command start to the first training step for `modelctl train`, against the time
     `import tensorflow` takes in a fresh process (target: at most 2 s more);
   - the whole command's wall time for each.

2. A 200,000-row table (scikit-learn's `make_classification` with 54 features, 30 informative, 7
   classes, random_state 0; values times 10 plus 50, written with 4 decimals) as CSV and as Parquet.
   The spec reads the 54 columns as one standardized numeric feature and the class as a categorical
   label, trains a 256-256-7 MLP with batch 256 for 3 epochs on every row. The plain script reads the
   CSV with `pandas.read_csv`, adapts `keras.layers.Normalization` and fits a `Sequential` model.
   Reported (medians of `--repeats` alternating pairs):

   - the whole command's wall time for each, and modelctl / plain (target: <= 0.9);
   - data preparation as `modelctl train --dry-run` reports it ("data prepared in S s": reading,
     splitting, fitting and encoding, timed by the command around its data step), against
     `pyarrow.csv.read_csv` of the same file (target: at most 2x); the same for Parquet against
     `pyarrow.parquet.read_table` (target: not slower than CSV). Beside it, the dry run's wall time
     minus a process that imports tensorflow and keras and ends as modelctl does (the imports the plain
     script pays too), which also holds loading the spec and building the model, about 1 s whatever
     the data; and `prepare()`
     alone without the cache, timed inside a process, imports apart;
   - training examples/s of the steady epochs (every epoch after the first) for each, modelctl's timed by a
     Keras callback in a process of its own right after the plain script's run; beside the ratio of the
     medians, the median of each repeat's ratio;
   - with the prepared-data cache: `modelctl train --dry-run` twice on an empty cache folder, the
     first filling it, the second reading it; data preparation of each as the command reports it, and
     the second over the first (target: <= 0.2); beside them the same from wall times minus the
     imports, and `prepare()` alone, timed inside a process, filling the cache and reading it.

   The other figures are taken with `--no-cache`, so every run reads and fits the source.

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


TABLE_SPEC = """
modelctl: 1
name: table-200k
seed: 0
data:
  source: {format: %(format)s, path: %(path)s}
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
%(extra)s"""

EPOCH_TIMER = r'''

class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)

'''
"""A Keras callback timing each epoch, written into both scripts below (each runs in a process of its own)."""

PLAIN_TABLE = r'''
import sys, time, json
import numpy as np
import pandas as pd
import keras

''' + EPOCH_TIMER + r'''

table = pd.read_csv(sys.argv[1])
x = table[[f"f{index}" for index in range(54)]].to_numpy(np.float32)
y = table["label"].to_numpy()
keras.utils.set_random_seed(0)
normalization = keras.layers.Normalization()
normalization.adapt(x)
model = keras.Sequential([
    keras.Input((54,)),
    normalization,
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(7, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
timer = EpochTimer()
model.fit(x, y, batch_size=256, epochs=3, verbose=0, callbacks=[timer])
print(json.dumps({"epoch_seconds": timer.seconds, "examples": len(x)}))
'''

TIMED_TRAIN = r'''
import sys, time, json
import keras
from modelctl.spec.validate import load_spec
from modelctl.data.cache import DataCache
from modelctl.training.trainer import train
from rich.console import Console

''' + EPOCH_TIMER + r'''

timer = EpochTimer()
result = train(load_spec(sys.argv[1]), __import__("pathlib").Path(sys.argv[2]), Console(quiet=True), quiet=True,
               extra_callbacks=[timer], cache=DataCache(enabled=False))
print(json.dumps({"epoch_seconds": timer.seconds, "examples": result.counts["train"]}))
'''


TIMED_PREPARE = r'''
import sys, time
from pathlib import Path
import pandas, pyarrow.csv, pyarrow.ipc  # imports apart: `modelctl train` has them from TensorFlow's import
from modelctl.data.cache import DataCache
from modelctl.data.pipeline import prepare
from modelctl.spec.validate import load_spec

document = load_spec(sys.argv[1])
started = time.perf_counter()
prepare(document, cache=DataCache(enabled=False) if sys.argv[2] == "off" else DataCache(Path(sys.argv[2])))
print(time.perf_counter() - started)
'''


def _env() -> dict:
    import os

    return {"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ}


def write_table(folder: Path, rows: int) -> dict[str, Path]:
    """The benchmark table as table.csv and table.parquet in `folder`."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=rows, n_features=54, n_informative=30, n_classes=7, random_state=0)
    frame = pd.DataFrame((x * 10 + 50).astype(np.float64), columns=[f"f{index}" for index in range(54)])
    frame["label"] = y
    frame.to_csv(folder / "table.csv", index=False, float_format="%.4f")
    pd.read_csv(folder / "table.csv").to_parquet(folder / "table.parquet", index=False)
    return {"csv": folder / "table.csv", "parquet": folder / "table.parquet"}


def table_spec(folder: Path, fmt: str) -> Path:
    """The spec training on the table in format `fmt`; fused steps when the schema offers them."""
    from modelctl.spec.schema import build_schema

    training = build_schema()["properties"]["training"]
    properties = training.get("properties") or {}
    extra = "  steps_per_execution: auto\n" if "steps_per_execution" in properties else ""
    path = folder / f"{fmt}.yaml"
    path.write_text(TABLE_SPEC % {"format": fmt, "path": f"table.{fmt}", "extra": extra})
    return path


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=_env())
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def reported_preparation(output: str) -> float:
    """The seconds of data preparation a `train --dry-run` printed ("...; data prepared in 0.95 s")."""
    import re

    found = re.search(r"data prepared in ([0-9.]+) s", output)
    if found is None:
        raise SystemExit(f"`modelctl train --dry-run` printed no data preparation time:\n{output[-2000:]}")
    return float(found.group(1))


def steady_rate(run: dict) -> float:
    """Examples/s over every epoch after the first (the first traces the step functions)."""
    steady = run["epoch_seconds"][1:]
    return run["examples"] * len(steady) / sum(steady)


IMPORTS_ONLY = "import tensorflow, keras\nfrom modelctl.util.process import exit_process\nexit_process(0)"
"""The imports a run pays, in a process that ends as a `modelctl` command does: without Python's shutdown of
TensorFlow's objects (`modelctl.util.process`), which the plain scripts pay as any script does."""


def read_script(statement: str) -> str:
    """A script printing the seconds `statement` (reading the file `path`) takes, imports apart."""
    script = ("import sys, time, pyarrow, pyarrow.csv, pyarrow.parquet\npath = sys.argv[1]\n"
              f"started = time.perf_counter()\ntable = {statement}\nprint(time.perf_counter() - started)")
    return script


def table_benchmark(repeats: int, rows: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files = write_table(folder, rows)
        specs = {fmt: table_spec(folder, fmt) for fmt in files}
        runs = folder / "runs"
        figures: dict[str, list[float]] = {name: [] for name in (
            "modelctl_csv", "modelctl_parquet", "plain", "dry_run_csv", "dry_run_parquet", "import",
            "read_csv", "read_parquet", "modelctl_rate", "plain_rate", "cache_fill", "cached",
            "prepare_uncached", "prepare_fill", "prepare_cached", "import_keras", "reported_csv",
            "reported_parquet", "reported_fill", "reported_cached")}
        for repeat in range(repeats):
            figures["import"].append(timed([sys.executable, "-c", "import tensorflow"])[0])
            figures["import_keras"].append(timed([sys.executable, "-c", IMPORTS_ONLY])[0])
            seconds, out = timed([sys.executable, "-c", PLAIN_TABLE, str(files["csv"])])
            figures["plain"].append(seconds)
            figures["plain_rate"].append(steady_rate(json.loads(out.strip().splitlines()[-1])))
            # Right after the script's epochs: this machine's speed drifts over minutes.
            out = timed([sys.executable, "-c", TIMED_TRAIN, str(specs["csv"]), str(runs)])[1]
            figures["modelctl_rate"].append(steady_rate(json.loads(out.strip().splitlines()[-1])))
            for fmt in files:
                figures[f"modelctl_{fmt}"].append(timed(["modelctl", "train", str(specs[fmt]), "--quiet",
                                                         "--output", str(runs), "--no-cache"])[0])
                seconds, out = timed(["modelctl", "train", str(specs[fmt]), "--quiet", "--dry-run", "--output",
                                      str(runs), "--no-cache"])
                figures[f"dry_run_{fmt}"].append(seconds)
                figures[f"reported_{fmt}"].append(reported_preparation(out))
            cached = ["modelctl", "train", str(specs["csv"]), "--quiet", "--dry-run", "--output", str(runs),
                      "--cache-dir", str(folder / f"cache-{repeat}")]
            for name in ("fill", "cached"):
                seconds, out = timed(cached)
                figures["cache_fill" if name == "fill" else "cached"].append(seconds)
                figures[f"reported_{name}"].append(reported_preparation(out))
            for name in ("prepare_uncached", "prepare_fill", "prepare_cached"):
                cache = "off" if name == "prepare_uncached" else str(folder / f"prepare-{repeat}")
                out = timed([sys.executable, "-c", TIMED_PREPARE, str(specs["csv"]), cache])[1]
                figures[name].append(float(out.strip().splitlines()[-1]))
            for name, statement in (("read_csv", "pyarrow.csv.read_csv(path)"),
                                    ("read_parquet", "pyarrow.parquet.read_table(path)")):
                path = files["csv" if name == "read_csv" else "parquet"]
                out = timed([sys.executable, "-c", read_script(statement), str(path)])[1]
                figures[name].append(float(out.strip().splitlines()[-1]))
        median = {name: statistics.median(values) for name, values in figures.items()}
        result = {
            "rows": rows, "repeats": repeats, "csv_bytes": files["csv"].stat().st_size,
            "parquet_bytes": files["parquet"].stat().st_size,
            "steps_per_execution": "auto" if "steps_per_execution" in specs["csv"].read_text() else None,
            "modelctl_wall_seconds": median["modelctl_csv"],
            "modelctl_parquet_wall_seconds": median["modelctl_parquet"],
            "plain_keras_wall_seconds": median["plain"],
            "import_tensorflow_seconds": median["import"],
            "import_tensorflow_keras_seconds": median["import_keras"],
            "data_preparation_seconds": median["reported_csv"],
            "parquet_data_preparation_seconds": median["reported_parquet"],
            "dry_run_minus_imports_seconds": median["dry_run_csv"] - median["import_keras"],
            "parquet_dry_run_minus_imports_seconds": median["dry_run_parquet"] - median["import_keras"],
            "pyarrow_read_csv_seconds": median["read_csv"],
            "pyarrow_read_parquet_seconds": median["read_parquet"],
            "cache_fill_data_preparation_seconds": median["reported_fill"],
            "cached_data_preparation_seconds": median["reported_cached"],
            "cache_fill_dry_run_minus_imports_seconds": median["cache_fill"] - median["import_keras"],
            "cached_dry_run_minus_imports_seconds": median["cached"] - median["import_keras"],
            "prepare_uncached_seconds": median["prepare_uncached"],
            "prepare_fill_seconds": median["prepare_fill"],
            "prepare_cached_seconds": median["prepare_cached"],
            "modelctl_examples_per_second": median["modelctl_rate"],
            "plain_keras_examples_per_second": median["plain_rate"],
            "steady_ratios": [ours / plain for ours, plain in zip(figures["modelctl_rate"], figures["plain_rate"])],
            "each_repeat": figures,
        }
    result["wall_ratio"] = result["modelctl_wall_seconds"] / result["plain_keras_wall_seconds"]
    result["steady_ratio_median_of_pairs"] = statistics.median(result["steady_ratios"])
    result["preparation_over_read_csv"] = result["data_preparation_seconds"] / result["pyarrow_read_csv_seconds"]
    result["cached_over_first"] = (result["cached_data_preparation_seconds"]
                                   / result["cache_fill_data_preparation_seconds"])
    result["prepare_cached_over_fill"] = result["prepare_cached_seconds"] / result["prepare_fill_seconds"]
    result["prepare_over_read_csv"] = result["prepare_uncached_seconds"] / result["pyarrow_read_csv_seconds"]
    return result


def small_benchmark(epochs: int, repeats: int) -> dict:
    ours, plain, imports = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(repeats):
            imports.append(import_seconds())
            plain.append(plain_run(epochs))
            ours.append(modelctl_run(epochs, Path(folder) / f"runs-{repeat}"))

    def rate(run: dict) -> float:
        return run["examples"] * epochs / run["fit_seconds"]

    result = {
        "epochs": epochs, "repeats": repeats,
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
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--table-rows", type=int, default=200_000)
    parser.add_argument("--skip-small", action="store_true", help="Keep the saved small-cnn figures.")
    parser.add_argument("--skip-table", action="store_true", help="Keep the saved 200,000-row table figures.")
    args = parser.parse_args()
    out = ROOT / "bench" / "results"
    saved = json.loads((out / "train.json").read_text()) if (out / "train.json").is_file() else {}
    result = {key: value for key, value in saved.items() if key != "table"} if args.skip_small else \
        small_benchmark(args.epochs, args.repeats)
    if args.skip_table:
        if "table" in saved:
            result["table"] = saved["table"]
    else:
        result["table"] = table_benchmark(args.repeats, args.table_rows)
    for key, value in result.items():
        if isinstance(value, dict):
            for inner, figure in value.items():
                if inner == "each_repeat":
                    continue
                print(f"{key + '.' + inner:44s} {figure:.3f}" if isinstance(figure, float) else
                      f"{key + '.' + inner:44s} {figure}")
        else:
            print(f"{key:44s} {value:.3f}" if isinstance(value, float) else f"{key:44s} {value}")
    out.mkdir(exist_ok=True)
    (out / "train.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
