"""Benchmark `modelctl train` against the script a skilled Keras user writes, for each family of data.

    python bench/bench_families.py [--data /tmp/modelctl-bench] [--repeats 3] [--only images,text,tabular]

The data is made once under `--data` (outside the repository) and reused:

- images: 20,000 RGB PNGs of 64x64 in ten class folders (2,000 each; a class is a colour and a shape drawn
  through noise, seeded), read class after class as every image folder is.
- text: 100,000 synthetic product reviews (the rules of examples/text/make_reviews.py) and their sentiment, a CSV.
- tabular: bench_train.py's table, 200,000 rows x 54 numeric columns and a 7-class label, a CSV.

Each family trains the same model for the same epochs and batch size both ways:

| family | modelctl | the script |
| --- | --- | --- |
| images | image_folder source, uint8 pixels rescaled in the model; conv 16-32 with pooling, batch 32, 3 epochs | `keras.utils.image_dataset_from_directory(...).cache().prefetch()` |
| text | text feature (vocabulary of 200, 32 tokens); embedding 32 + LSTM 32, batch 64, 3 epochs | pandas, `TextVectorization` adapted on the texts in tf.data, `.cache().shuffle().batch().prefetch()` |
| tabular | 54 standardized columns; MLP 256-256-7, batch 256, 3 epochs | `pyarrow.csv.read_csv`, `Normalization.adapt`, tf.data, `steps_per_execution` |

Both do the whole job a run does: read the data, train on every example, evaluate the training split once
more at the end and save the model. Every script sets `steps_per_execution` as modelctl's `auto` does at most
(32). Each run is a fresh process; modelctl with an empty prepared-data cache (so its figures include decoding
and writing the cache), the pairs alternating which goes first. Reported per family (medians of `--repeats`,
and each pair's ratio): the whole command's wall time, its CPU time (user + system) and peak resident memory,
and training examples/s of the steady epochs (every epoch after the first, from the epoch times each prints).
Results are printed and written to bench/results/families.json.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAMILIES = ("images", "text", "tabular")

EPOCH_TIMER = r'''
import time, json, keras


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)
        print(f"epoch {epoch + 1}  {self.seconds[-1]:.3f}s  accuracy {logs['accuracy']:.4f}", flush=True)
'''
"""The callback every script prints its epoch times with, as `modelctl train` prints them."""

SCRIPTS = {
    "images": EPOCH_TIMER + r'''
import sys
import tensorflow as tf

folder, output = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
train = keras.utils.image_dataset_from_directory(folder, image_size=(64, 64), batch_size=32, seed=0)
count = sum(len(files) for _, _, files in __import__("os").walk(folder))
train = train.cache().prefetch(tf.data.AUTOTUNE)
model = keras.Sequential([
    keras.Input((64, 64, 3)),
    keras.layers.Rescaling(1 / 255),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.Conv2D(32, 3, activation="relu"),
    keras.layers.MaxPooling2D(2),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(keras.optimizers.Adam(0.001), "sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=32)
model.fit(train, epochs=3, verbose=0, callbacks=[EpochTimer()])
print("final", json.dumps(model.evaluate(train, verbose=0, return_dict=True)))
model.save(f"{output}/model.keras")
''',
    "text": EPOCH_TIMER + r'''
import sys
import numpy as np
import pandas as pd
import tensorflow as tf

path, output = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
table = pd.read_csv(path)
texts, labels = table["review"].to_numpy(str), (table["sentiment"] == "positive").to_numpy(np.int32)
vectorize = keras.layers.TextVectorization(max_tokens=200, output_sequence_length=32)
vectorize.adapt(tf.data.Dataset.from_tensor_slices(texts).batch(1024))
train = tf.data.Dataset.from_tensor_slices((texts, labels)).batch(1024) \
    .map(lambda text, label: (vectorize(text), label), num_parallel_calls=tf.data.AUTOTUNE).unbatch() \
    .cache().shuffle(len(texts), seed=0).batch(64).prefetch(tf.data.AUTOTUNE)
model = keras.Sequential([
    keras.Input((32,), dtype="int64"),
    keras.layers.Embedding(200, 32, mask_zero=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(2, activation="softmax"),
])
model.compile(keras.optimizers.Adam(0.003), "sparse_categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=32)
model.fit(train, epochs=3, verbose=0, callbacks=[EpochTimer()])
print("final", json.dumps(model.evaluate(train, verbose=0, return_dict=True)))
model.save(f"{output}/model.keras")
''',
    "tabular": EPOCH_TIMER + r'''
import sys
import numpy as np
import pyarrow.csv
import tensorflow as tf

path, output = sys.argv[1], sys.argv[2]
keras.utils.set_random_seed(0)
table = pyarrow.csv.read_csv(path)
x = np.stack([table.column(f"f{index}").to_numpy() for index in range(54)], axis=1).astype(np.float32)
y = table.column("label").to_numpy().astype(np.int32)
normalization = keras.layers.Normalization()
normalization.adapt(x)
train = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0).batch(256).prefetch(tf.data.AUTOTUNE)
model = keras.Sequential([
    keras.Input((54,)),
    normalization,
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(256, activation="relu"),
    keras.layers.Dense(7, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"], steps_per_execution=32)
model.fit(train, epochs=3, verbose=0, callbacks=[EpochTimer()])
print("final", json.dumps(model.evaluate(train, verbose=0, return_dict=True)))
model.save(f"{output}/model.keras")
''',
}

SPECS = {
    "images": """
modelctl: 1
name: bench-images
seed: 0
data:
  source: {format: image_folder, path: %(data)s/images}
  features:
    image: {type: image, size: [64, 64], channels: 3, preprocessing: [{rescale: 0.00392157}]}
  labels:
    label: {column: label, type: categorical}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  batch_size: 32
model:
  layers:
    - conv2d: {filters: 16, kernel_size: 3, activation: relu}
    - max_pooling2d: {pool_size: 2}
    - conv2d: {filters: 32, kernel_size: 3, activation: relu}
    - max_pooling2d: {pool_size: 2}
    - global_average_pooling2d
    - dense: {units: 10, activation: softmax}
training:
  epochs: 3
  optimizer: {type: adam, learning_rate: 0.001}
  metrics: [accuracy]
  early_stopping: false
""",
    "text": """
modelctl: 1
name: bench-text
seed: 0
data:
  source: {format: csv, path: %(data)s/reviews.csv}
  features:
    review: {type: text, column: review, max_tokens: 200, sequence_length: 32}
  labels:
    sentiment: {column: sentiment, type: categorical, classes: [negative, positive]}
  split: {train: 1.0, validation: 0.0, test: 0.0}
  batch_size: 64
model:
  layers:
    - embedding: {input_dim: 200, output_dim: 32, mask_zero: true}
    - lstm: {units: 32}
    - dense: {units: 2, activation: softmax}
training:
  epochs: 3
  optimizer: {type: adam, learning_rate: 0.003}
  metrics: [accuracy]
  early_stopping: false
""",
    "tabular": """
modelctl: 1
name: bench-tabular
seed: 0
data:
  source: {format: csv, path: %(data)s/table.csv}
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
  early_stopping: false
""",
}

MODELCTL = shutil.which("modelctl") or str(Path(sys.executable).with_name("modelctl"))
"""The `modelctl` command of this Python's environment."""

INPUTS = {"images": "images", "text": "reviews.csv", "tabular": "table.csv"}
"""What each family's script reads, in the data folder."""

MEASURED = r'''
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"returncode": done.returncode, "stdout": done.stdout, "stderr": done.stderr[-3000:],
                  "wall_seconds": wall, "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "peak_rss_bytes": usage.ru_maxrss * 1024}))
'''
"""Runs a command in a process of its own and reports its wall time, CPU time and peak resident memory (its
children's usage, which is the command's alone)."""


def make_images(folder: Path, per_class: int = 2000) -> None:
    """Ten classes of 64x64 RGB pictures: a class is a background colour and a shape (a square, a disc or a bar
    at one of several places), drawn through noise."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    colours = rng.integers(40, 216, size=(10, 3))
    for label in range(10):
        target = folder / f"class_{label}"
        target.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            base = np.clip(colours[label] + rng.normal(scale=40, size=(64, 64, 3)), 0, 255).astype(np.uint8)
            picture = Image.fromarray(base)
            draw = ImageDraw.Draw(picture)
            x, y = (int(value) for value in rng.integers(8, 40, size=2))
            shape = label % 3
            fill = tuple(int(value) for value in 255 - colours[label])
            if shape == 0:
                draw.rectangle([x, y, x + 16, y + 16], fill=fill)
            elif shape == 1:
                draw.ellipse([x, y, x + 18, y + 18], fill=fill)
            else:
                draw.rectangle([x, y, x + 24, y + 6], fill=fill)
            picture.save(target / f"{index:05d}.png")


def make_reviews(path: Path, rows: int = 100_000) -> None:
    import csv

    sys.path.insert(0, str(ROOT / "examples" / "text"))
    from make_reviews import rows as reviews

    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["review", "sentiment"])
        writer.writerows(reviews(rows))


def make_table(folder: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_train import write_table

    write_table(folder, 200_000)


def ensure_data(data: Path, family: str) -> None:
    """Make a family's data under `data` unless it is there (a marker file says it was finished)."""
    done = data / f".{family}-done"
    if done.exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    print(f"making the {family} data in {data}", flush=True)
    if family == "images":
        shutil.rmtree(data / "images", ignore_errors=True)
        make_images(data / "images")
    elif family == "text":
        make_reviews(data / "reviews.csv")
    else:
        make_table(data)
    done.write_text("")


def measured(command: list[str]) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURED, json.dumps(command)], capture_output=True, text=True,
                          env={"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ}, check=True)
    result = json.loads(done.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{result['stderr']}")
    seconds = [float(found) for found in re.findall(r"^epoch \d+\S*\s+([0-9.]+)s", result["stdout"], re.M)]
    result["epoch_seconds"] = seconds
    return result


def one_pair(family: str, data: Path, work: Path, examples: int, *, modelctl_first: bool) -> dict:
    spec = work / f"{family}.yaml"
    spec.write_text(SPECS[family] % {"data": data})
    runs = {}
    order = ("modelctl", "script") if modelctl_first else ("script", "modelctl")
    for side in order:
        output = work / f"{side}-{len(list(work.iterdir()))}"
        output.mkdir()
        if side == "modelctl":
            command = [MODELCTL, "train", str(spec), "--output", str(output), "--cache-dir", str(output / "cache")]
        else:
            command = [sys.executable, "-c", SCRIPTS[family], str(data / INPUTS[family]), str(output)]
        run = measured(command)
        steady = run["epoch_seconds"][1:]
        run["steady_examples_per_second"] = examples * len(steady) / sum(steady) if steady else None
        runs[side] = {key: value for key, value in run.items() if key not in ("stdout", "stderr", "returncode")}
        runs[side]["notices"] = [line for line in run["stdout"].splitlines() if line.startswith(("data", "final"))]
        shutil.rmtree(output, ignore_errors=True)
    return runs


def family_benchmark(family: str, data: Path, repeats: int) -> dict:
    ensure_data(data, family)
    examples = {"images": 20_000, "text": 100_000, "tabular": 200_000}[family]
    pairs = []
    with tempfile.TemporaryDirectory() as folder:
        for repeat in range(repeats):
            pair = one_pair(family, data, Path(folder), examples, modelctl_first=repeat % 2 == 0)
            pairs.append(pair)
            print(f"{family} repeat {repeat + 1}: " + ", ".join(
                f"{side} {run['wall_seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, "
                f"{run['peak_rss_bytes'] / 2**20:.0f} MiB, epochs {[round(value, 1) for value in run['epoch_seconds']]}"
                for side, run in pair.items()), flush=True)

    def median(side: str, key: str) -> float:
        return statistics.median(pair[side][key] for pair in pairs)

    def ratios(key: str) -> list[float]:
        return [pair["modelctl"][key] / pair["script"][key] for pair in pairs]

    result = {"date": datetime.date.today().isoformat(), "examples": examples, "repeats": repeats,
              "load_average": os.getloadavg()[0]}
    for key in ("wall_seconds", "cpu_seconds", "peak_rss_bytes", "steady_examples_per_second"):
        result[key] = {"modelctl": median("modelctl", key), "script": median("script", key),
                       "ratios": ratios(key)}
        result[key]["median_ratio"] = statistics.median(result[key]["ratios"])
    result["epoch_seconds"] = {side: [pair[side]["epoch_seconds"] for pair in pairs] for side in ("modelctl", "script")}
    result["first_over_steady_epoch"] = statistics.median(
        seconds[0] / statistics.mean(seconds[1:]) for seconds in result["epoch_seconds"]["modelctl"])
    result["notices"] = pairs[-1]["modelctl"]["notices"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "modelctl-bench")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", default=",".join(FAMILIES))
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    out = ROOT / "bench" / "results"
    saved = json.loads((out / "families.json").read_text()) if (out / "families.json").is_file() else {}
    for family in chosen:
        saved[family] = family_benchmark(family, args.data.resolve(), args.repeats)
        figures = saved[family]
        print(f"{family}: wall {figures['wall_seconds']['median_ratio']:.2f}x, CPU "
              f"{figures['cpu_seconds']['median_ratio']:.2f}x, steady examples/s "
              f"{figures['steady_examples_per_second']['median_ratio']:.2f}x, peak RSS modelctl "
              f"{figures['peak_rss_bytes']['modelctl'] / 2**20:.0f} MiB / script "
              f"{figures['peak_rss_bytes']['script'] / 2**20:.0f} MiB", flush=True)
        out.mkdir(exist_ok=True)
        (out / "families.json").write_text(json.dumps(saved, indent=2) + "\n")


if __name__ == "__main__":
    main()
