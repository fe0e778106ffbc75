"""Benchmark the input pipeline against the training step, and memory when training from a large CSV.

    python bench/bench_pipeline.py [--csv-gb 2.0] [--skip-memory] [--skip-rates]

1. For each shipped spec with data (every spec in specs/ and examples/ but those in `SKIPPED`):
   examples/s of the training dataset alone (three epochs through `Prepared.dataset("train",
   training=True)`, nothing else running) against examples/s of training (`modelctl train`'s own figure
   in run.json, 3 epochs). The pipeline is not the bottleneck when its rate is at least three times the
   training rate (target: ratio >= 3).
2. Writes a CSV of --csv-gb gigabytes (20 numeric columns and a class, generated with a fixed seed; once
   in `--data` when given) and trains one epoch from it with `modelctl train` in a fresh process, with an
   empty prepared-data cache, every epoch reading the cache's pieces in a permuted order (the global
   shuffle); reports the peak resident memory of that process (target: under 1 GB for 2 GB of CSV), the
   epoch's training time from run.json (target: at most 60 s) and the whole command's wall time.

Results are printed and written to bench/results/pipeline.json; `--skip-rates` and `--skip-memory` keep
the saved figures of the part they skip.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SKIPPED = {"plugin": "needs its plug-in installed", "mobilenet-transfer": "its backbone is bigger than a benchmark run",
           "student": "its teacher is a run that training examples/digits/teacher.yaml makes"}


def shipped_specs() -> list[Path]:
    """Every spec in specs/ and examples/ that trains from data, but those in `SKIPPED`."""
    from modelctl.spec.validate import load_spec

    found = []
    for path in [*sorted((ROOT / "specs").glob("*.yaml")), *sorted((ROOT / "examples").glob("*/*.yaml"))]:
        name = path.stem if path.parent.name == "specs" else path.parent.name
        if name in SKIPPED or path.stem in SKIPPED:
            continue
        if (load_spec(path).data.get("data") or {}):
            found.append(path)
    return found


def spec_name(path: Path) -> str:
    return path.relative_to(ROOT).with_suffix("").as_posix()

BIG_SPEC = """
modelctl: 1
name: big-csv
seed: 1
data:
  source: {format: csv, path: big.csv}
  features:
    x: {type: numeric, columns: "f*", preprocessing: [standardize]}
  labels:
    y: {column: y, type: categorical, num_classes: 2}
  split: {train: 0.9, validation: 0.05, test: 0.05}
  batch_size: 1024
model:
  layers:
    - dense: {units: 32, activation: relu}
    - dense: {units: 2, activation: softmax}
training:
  epochs: 1
  metrics: [accuracy]
"""


def pipeline_rate(spec: Path, epochs: int = 3) -> float:
    from modelctl.data.pipeline import prepare
    from modelctl.spec.validate import load_spec

    prepared = prepare(load_spec(spec))
    dataset = prepared.dataset("train", ["output"] * len(prepared.labels), training=True, epochs=epochs)
    steps = prepared.steps("train") * epochs
    next(iter(dataset))  # start-up (iterator creation) is not part of the rate
    started = time.perf_counter()
    for _ in dataset.take(steps):
        pass
    return prepared.counts["train"] * epochs / (time.perf_counter() - started)


def training_rate(spec: Path, folder: Path) -> float:
    done = subprocess.run(["modelctl", "train", str(spec), "--quiet", "--output", str(folder), "--set",
                           "training.epochs=3", "--set", "training.early_stopping=false"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"training {spec.name} failed:\n{done.stderr[-2000:]}")
    run = sorted(path for path in folder.rglob("run.json"))[-1]
    return json.loads(run.read_text())["examples_per_second"]


def write_big_csv(path: Path, gigabytes: float) -> int:
    """20 standard normal columns (5 decimals) and a class from the first two, in blocks of 50,000 rows, until
    the file passes `gigabytes`; the rows written. Written by pyarrow (formatting 12 million rows in Python takes
    many minutes)."""
    import pyarrow
    import pyarrow.csv

    rng = np.random.default_rng(0)
    target = int(gigabytes * 2**30)
    rows = 0
    with pyarrow.OSFile(str(path), "wb") as sink:
        writer = None
        while sink.tell() < target:
            block = rng.normal(size=(50_000, 20)).astype(np.float32).round(5)
            columns = {f"f{index}": block[:, index].astype(np.float64).round(5) for index in range(20)}
            columns["y"] = (block[:, 0] + block[:, 1] > 0).astype(np.int64)
            table = pyarrow.table(columns)
            if writer is None:
                writer = pyarrow.csv.CSVWriter(sink, table.schema,
                                               write_options=pyarrow.csv.WriteOptions(quoting_style="none"))
            writer.write_table(table)
            rows += len(block)
        writer.close()
    return rows


def big_csv(folder: Path, gigabytes: float) -> tuple[Path, int]:
    """The big CSV in `folder`, written unless a finished one of this size is there (its rows in a marker)."""
    path, marker = folder / "big.csv", folder / f".big-{gigabytes:g}-rows"
    if not (marker.exists() and path.exists()):
        folder.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(write_big_csv(path, gigabytes)))
    return path, int(marker.read_text())


def big_csv_memory(gigabytes: float, data: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path, rows = big_csv(data or folder, gigabytes)
        (folder / "spec.yaml").write_text(BIG_SPEC.replace("path: big.csv", f"path: {path}"))
        started = time.perf_counter()
        done = subprocess.run(["modelctl", "train", str(folder / "spec.yaml"), "--quiet", "--output",
                               str(folder / "runs"), "--cache-dir", str(folder / "cache")],
                              capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"training from the big CSV failed:\n{done.stderr[-2000:]}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        run = json.loads(sorted((folder / "runs").rglob("run.json"))[-1].read_text())
        return {"csv_bytes": path.stat().st_size, "rows": rows, "peak_rss_bytes": peak,
                "wall_seconds": wall, "epoch_seconds": run["seconds"],
                "examples_per_second": run["examples_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-gb", type=float, default=2.0)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-rates", action="store_true")
    parser.add_argument("--data", type=Path, default=None,
                        help="A folder to write the big CSV in once and reuse (default: a temporary one each time).")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    out = ROOT / "bench" / "results"
    saved = json.loads((out / "pipeline.json").read_text()) if (out / "pipeline.json").is_file() else {}
    results: dict = {"specs": saved.get("specs", {}) if args.skip_rates else {}}
    if args.skip_memory and "big_csv" in saved:
        results["big_csv"] = saved["big_csv"]
    with tempfile.TemporaryDirectory() as folder:
        for spec in ([] if args.skip_rates else shipped_specs()):
            name = spec_name(spec)
            pipeline = pipeline_rate(spec)
            training = training_rate(spec, Path(folder) / name)
            results["specs"][name] = {"pipeline_examples_per_second": round(pipeline, 1),
                                      "training_examples_per_second": training,
                                      "ratio": round(pipeline / training, 2)}
            print(f"{name:20s} pipeline {pipeline:12.1f} ex/s   training {training:10.1f} ex/s   "
                  f"ratio {pipeline / training:6.2f}")
    if not args.skip_memory:
        memory = big_csv_memory(args.csv_gb, args.data)
        results["big_csv"] = memory
        print(f"big CSV {memory['csv_bytes'] / 2**30:.2f} GiB, {memory['rows']} rows: peak RSS "
              f"{memory['peak_rss_bytes'] / 2**20:.0f} MiB, {memory['wall_seconds']:.0f} s")
    out.mkdir(exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
