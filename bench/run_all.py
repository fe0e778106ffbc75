"""Run every benchmark and write docs/benchmarks.md.

    python bench/run_all.py [--csv-gb 2.0] [--quick]
                            [--only validate,train,pipeline,export,matrix,serve,search,distributed]
                            [--render-only]

Runs, each as its own process: bench_validate.py (validate against check-jsonschema),
bench_train.py (modelctl train against a plain Keras script; time to the first step),
bench_pipeline.py (input pipeline against the training step; memory training from a large CSV)
bench_export.py (every export format and quantization: size, latency, accuracy), bench_matrix.py
(every family through every command, the seconds of each step), bench_serve.py (`modelctl serve`: start-up,
throughput and latency per backend under load, batching, the event loop, load shedding and faults),
bench_search.py (what `modelctl search` adds to each trial beyond training it) and bench_distributed.py (2
workers against 1, recovery from a killed worker, Ray's start-up; needs root for its network namespace). Each writes
its figures to bench/results/<name>.json, and this script the date, machine and package versions to
bench/results/machine.json; it then writes docs/benchmarks.md from them (a test checks that the page
is what these files give). `--quick` uses fewer repeats and a 0.25 GB CSV; `--only`
runs some of the benchmarks and keeps the saved figures of the others.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCHMARKS = ("validate", "train", "pipeline", "export", "matrix", "serve", "search", "distributed")
STEPS = ("validate", "validate --deep", "summary", "train", "eval", "export", "predict", "serve", "search")
"""The columns of the matrix table, in the order a user runs the commands."""


def run(script: str, *arguments: str) -> None:
    print(f"running {script} {' '.join(arguments)}", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / script), *arguments], check=True,
                   env={"TF_CPP_MIN_LOG_LEVEL": "3", **os.environ})


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def machine() -> list[str]:
    from importlib import metadata

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() \
        else platform.processor()
    lines = [f"- Machine: {os.cpu_count()} cores ({cpu}), {platform.platform()}",
             f"- Python {platform.python_version()}"]
    for package in ("modelctl", "tensorflow", "keras", "tf2onnx", "onnx", "onnxruntime", "ai-edge-litert", "numpy"):
        try:
            lines.append(f"- {package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    return lines


def table_lines(table: dict) -> list[str]:
    """The 200,000-row table against a plain pandas + Keras script (`bench_train.py`'s second part)."""
    lines = ["## A 200,000-row table against pandas + Keras", "",
             f"{table['rows']:,} rows x 54 numeric columns and a 7-class label ({table['csv_bytes'] / 1e6:.0f} MB of "
             "CSV), an MLP 256-256-7, batch 256, 3 epochs on every row; medians of "
             f"{table['repeats']} alternating run{'s' if table['repeats'] != 1 else ''}, fresh processes.", "",
             "| measure | modelctl | reference | target |", "|---|---:|---:|---|",
             f"| whole command, CSV | {table['modelctl_wall_seconds']:.1f} s | pandas + Keras "
             f"{table['plain_keras_wall_seconds']:.1f} s | ratio <= 0.9: **{table['wall_ratio']:.2f}** |",
             f"| whole command, Parquet | {table['modelctl_parquet_wall_seconds']:.1f} s | CSV "
             f"{table['modelctl_wall_seconds']:.1f} s | not slower than CSV |",
             f"| steady training examples/s | {table['modelctl_examples_per_second']:.0f} | pandas + Keras "
             f"{table['plain_keras_examples_per_second']:.0f} | ratio >= 1.7: **"
             f"{table['modelctl_examples_per_second'] / table['plain_keras_examples_per_second']:.2f}** |",
             *([f"| steady training examples/s, each repeat's ratio | "
                f"{', '.join(f'{ratio:.2f}' for ratio in table['steady_ratios'])} | | median "
                f"**{table['steady_ratio_median_of_pairs']:.2f}** |"] if "steady_ratios" in table else []),
             f"| data preparation, as `train --dry-run` reports it | "
             f"{table['data_preparation_seconds']:.2f} s | `pyarrow.csv.read_csv` {table['pyarrow_read_csv_seconds']:.2f} s"
             f" | ratio <= 2: **{table['preparation_over_read_csv']:.2f}** |"]
    if "dry_run_minus_imports_seconds" in table:
        lines.append(f"| `train --dry-run` wall time minus `import tensorflow, keras` | "
                     f"{table['dry_run_minus_imports_seconds']:.2f} s | `pyarrow.csv.read_csv` "
                     f"{table['pyarrow_read_csv_seconds']:.2f} s | ratio "
                     f"{table['dry_run_minus_imports_seconds'] / table['pyarrow_read_csv_seconds']:.2f} |")
    if "prepare_uncached_seconds" in table:
        lines.append(f"| data preparation: `prepare()` alone | {table['prepare_uncached_seconds']:.2f} s | "
                     f"`pyarrow.csv.read_csv` {table['pyarrow_read_csv_seconds']:.2f} s | ratio "
                     f"**{table['prepare_over_read_csv']:.2f}** |")
    lines.append(f"| data preparation, Parquet | {table['parquet_data_preparation_seconds']:.2f} s | "
                 f"`pyarrow.parquet.read_table` {table['pyarrow_read_parquet_seconds']:.2f} s | not slower than CSV |")
    if "cached_over_first" in table:
        lines += [f"| data preparation, second run from the cache | {table['cached_data_preparation_seconds']:.2f} s | "
                  f"first run {table['cache_fill_data_preparation_seconds']:.2f} s | ratio <= 0.2: "
                  f"**{table['cached_over_first']:.2f}** |"]
        if "cached_dry_run_minus_imports_seconds" in table:
            lines.append(f"| second `train --dry-run` from the cache, wall time minus the imports | "
                         f"{table['cached_dry_run_minus_imports_seconds']:.2f} s | first run "
                         f"{table['cache_fill_dry_run_minus_imports_seconds']:.2f} s | ratio "
                         f"{table['cached_dry_run_minus_imports_seconds'] / table['cache_fill_dry_run_minus_imports_seconds']:.2f} |")
        lines.append(f"| `prepare()` alone, from the cache | {table['prepare_cached_seconds']:.2f} s | filling it "
                     f"{table['prepare_fill_seconds']:.2f} s | ratio **{table['prepare_cached_over_fill']:.2f}** |")
    lines += ["", "Data preparation as the dry run reports it is the command's own timing of its data step (reading, "
                  "splitting, fitting, encoding, or reading the cache). The dry run's wall time minus the imports "
                  "also holds loading the spec, choosing the hardware and building the model, the same whatever "
                  "the data. A `modelctl` command ends without Python's shutdown of TensorFlow's objects, which "
                  "takes 1.5-2 s here after the work is done and which the plain script pays, as any script does; "
                  "the imports subtracted are timed in a process that ends the same way. Steady training "
                  "examples/s count every epoch after the first (which traces the step function); modelctl's are "
                  "timed by a Keras callback in a process started right after the plain script's run, since this "
                  "machine's speed drifts over minutes, and each repeat's ratio is shown beside the ratio of the "
                  "medians.", ""]
    return lines


def serve_lines(serve: dict) -> list[str]:
    """`modelctl serve` under load and faults: bench_serve.py renders its own figures."""
    spec = importlib.util.spec_from_file_location("bench_serve", ROOT / "bench" / "bench_serve.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.markdown(serve)


def render() -> str:
    validate, train, pipeline, export = load("validate"), load("train"), load("pipeline"), load("export")
    matrix, serve = load("matrix"), load("serve")
    measured = load("machine") or {"date": "not yet", "machine": []}
    lines = ["# Benchmarks", "", f"Measured {measured['date']} with `python bench/run_all.py`; every figure comes "
             "from the files in `bench/results/`.", "", *measured["machine"], ""]
    if validate:
        lines += ["## validate against check-jsonschema", "",
                  "| measure | modelctl | check-jsonschema | target |", "|---|---:|---:|---|",
                  f"| one spec, whole command | {validate['one_spec_s']:.3f} s | "
                  f"{validate.get('check_jsonschema_one_s', float('nan')):.3f} s | < 0.5 s |",
                  f"| {validate['many_specs']} specs in one call | {validate['many_specs_s']:.3f} s | "
                  f"{validate.get('check_jsonschema_many_s', float('nan')):.3f} s | < 3 s |", "",
                  "modelctl also runs the checks a schema cannot express (references, losses against labels, "
                  "files).", ""]
    if train:
        lines += ["## train against a plain Keras script", "",
                  f"specs/small-cnn.yaml's data and model, {train['epochs']} epochs, median of {train['repeats']} "
                  "fresh processes each; examples/s of the `fit` call.", "",
                  "| measure | modelctl train | plain Keras | target |", "|---|---:|---:|---|",
                  f"| training examples/s | {train['modelctl_examples_per_second']:.0f} | "
                  f"{train['plain_keras_examples_per_second']:.0f} | ratio >= 1.0: "
                  f"**{train['throughput_ratio']:.2f}** |",
                  f"| whole command | {train['modelctl_wall_seconds']:.1f} s | {train['plain_keras_wall_seconds']:.1f} s "
                  "| |",
                  f"| command start to first step | {train['first_step_seconds']:.2f} s | | import tensorflow "
                  f"{train['import_tensorflow_seconds']:.2f} s + 2 s at most: "
                  f"**{train['first_step_over_import_seconds']:+.2f} s** |", ""]
    table = (train or {}).get("table")
    if table:
        lines += table_lines(table)
    if pipeline:
        lines += ["## Input pipeline against the training step", "",
                  "| spec | pipeline examples/s | training examples/s | ratio (target >= 3) |",
                  "|---|---:|---:|---:|"]
        lines += [f"| {name} | {row['pipeline_examples_per_second']:.0f} | {row['training_examples_per_second']:.0f} "
                  f"| {row['ratio']:.1f} |" for name, row in pipeline.get("specs", {}).items()]
        big = pipeline.get("big_csv")
        if big:
            epoch = (f" The epoch trained in **{big['epoch_seconds']:.0f} s** ({big['examples_per_second']:,.0f} "
                     "examples/s; target: at most 120 s)." if "epoch_seconds" in big else "")
            lines += ["", f"Training one epoch from a {big['csv_bytes'] / 2**30:.2f} GiB CSV ({big['rows']:,} rows, "
                          f"20 numeric columns): peak resident memory **{big['peak_rss_bytes'] / 2**20:.0f} MiB** "
                          f"(target: under 1 GB for a 2 GB CSV); the whole command took {big['wall_seconds']:.0f} s "
                          f"(reading, fitting, the epoch, evaluating every split).{epoch}"]
        lines.append("")
    if export:
        lines += ["## Exported formats", "", f"{export.get('model', '')}", "",
                  "| format | quantization | size | max difference | class agreement | accuracy | latency (batch 1) |",
                  "|---|---|---:|---:|---:|---:|---:|"]
        for row in export.get("results", []):
            metric = row.get("metric") or {}
            lines.append(f"| {row['format']} | {row['quantization']} | {row['size_bytes'] / 1024:.1f} KiB | "
                         f"{max(row['max_abs_diff'].values()):.2g} | "
                         f"{100 * min(row['class_agreement'].values()):.1f}% | "
                         f"{metric.get('artifact', float('nan')):.4f} | {row['latency_ms']:.3f} ms |")
        lines.append("")
    if matrix:
        lines += ["## Every family through every command", "",
                  "Seconds per step in one test process (`tests/test_matrix.py`, as CI runs it): training is one "
                  "epoch of three steps; export writes every format; predict runs on the run and on every artifact "
                  "and compares their answers; serve answers the same rows through `modelctl serve`'s routes. Specs "
                  "without data stop after summary.", "",
                  "| spec | " + " | ".join(STEPS) + " | total |", "|---|" + "---:|" * (len(STEPS) + 1)]
        for name, steps in matrix["families"].items():
            cells = [f"{steps[step]:.1f}" if step in steps else "-" for step in STEPS]
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {sum(steps.values()):.1f} |")
        lines.append("")
    if serve:
        lines += serve_lines(serve)
    search = load("search")
    if search:
        lines += ["## What a search adds to each trial", "",
                  f"`modelctl search` over {search['spec']} with the {search['sampler']} sampler, {search['trials']} "
                  f"trials of one epoch of three steps, one worker, the {search['storage']} storage "
                  "(bench_search.py). A trial's training is its call of `train` (reading the prepared data, building, "
                  "fitting, evaluating and saving the run); the overhead is the rest of the worker's time: drawing "
                  "the values, checking the trial's spec, the storage, clearing the Keras session.", "",
                  "| measure | seconds | target |", "|---|---:|---|",
                  f"| overhead per trial beyond its training | **{search['overhead_per_trial_seconds']:.2f}** | <= 1 s |",
                  f"| training per trial | {search['training_per_trial_seconds']:.2f} | |",
                  f"| report, once per search (search.json, best.yaml, 3 plots) | {search['report_seconds']:.2f} | |",
                  ""]
    distributed = load("distributed")
    if distributed:
        lines += distributed_lines(distributed)
    return "\n".join(lines)


def distributed_lines(result: dict) -> list[str]:
    scaling, ray = result["scaling"], result["ray_startup"]
    by_hand, on_ray = result["recovery_tf_config"], result["recovery_ray"]
    return ["## Beyond one process", "",
            f"bench_distributed.py, measured {result['date']} while other work shared the machine, every process in "
            "a loopback-only network namespace on this one machine. Scaling: "
            f"an MLP (32 inputs, 256-256-3) on a {result['rows']}-row table, {result['epochs']} epochs, global batch "
            "256, as one process and as two TF_CONFIG workers each reading its shard; examples/s over run.json's "
            "training seconds. Both workers share the machine's 2 cores, which one process already keeps busy, so "
            "the efficiency here is the cost of the collectives, not what two machines give. Recovery: worker 1 "
            "killed (SIGKILL) once epoch 2 is saved, timed to the next completed epoch.", "",
            "| measure | figure |", "|---|---:|",
            f"| 1 worker, examples/s | {scaling['one_worker_examples_per_second']} |",
            f"| 2 workers, examples/s | {scaling['two_workers_examples_per_second']} |",
            f"| scaling efficiency (2 workers / twice 1) | **{scaling['efficiency']:.2f}** |",
            f"| recovery under Ray Train (`--ray --workers 2`, FailureConfig), kill to next epoch | "
            f"**{on_ray['kill_to_next_epoch_seconds']:.1f} s** |",
            f"| recovery of TF_CONFIG processes started again at once, kill to next epoch | "
            f"**{by_hand['kill_to_next_epoch_seconds']:.1f} s** |",
            f"| of which: kill to the survivor's exit (code {by_hand['survivor_exit_code']}) | "
            f"{by_hand['kill_to_survivor_exit_seconds']:.1f} s |",
            f"| Ray's start-up: `ray.init` of a local Ray | **{ray['ray_init_seconds']:.1f} s** |",
            f"| iris, 5 epochs, 2 workers: two TF_CONFIG processes | "
            f"{ray['iris_two_tf_config_processes_seconds']:.1f} s |",
            f"| the same with `--ray --workers 2` (a local Ray started by the command) | "
            f"{ray['iris_ray_two_workers_seconds']:.1f} s (+{ray['ray_added_seconds']:.1f} s) |", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-gb", type=float, default=2.0)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(BENCHMARKS),
                        help="Comma-separated benchmarks to run: validate, train, pipeline, export, matrix, serve, "
                             "search, distributed.")
    parser.add_argument("--render-only", action="store_true", help="Write docs/benchmarks.md from saved results.")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; expected some of {', '.join(BENCHMARKS)}")
    repeats = "1" if args.quick else "3"
    arguments = {"validate": ["--repeats", repeats], "train": ["--repeats", repeats],
                 "pipeline": ["--csv-gb", "0.25" if args.quick else str(args.csv_gb)], "export": [], "matrix": [],
                 "serve": ["--seconds", "1" if args.quick else "3"],
                 "search": ["--trials", "5" if args.quick else "10"],
                 "distributed": ["--rows", "20000"]}
    if not args.render_only:
        for name in chosen:
            run(f"bench_{name}.py", *arguments[name])
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "machine.json").write_text(json.dumps({"date": datetime.date.today().isoformat(),
                                                          "machine": machine()}, indent=2) + "\n")
    (ROOT / "docs" / "benchmarks.md").write_text(render())
    print(f"wrote {ROOT / 'docs' / 'benchmarks.md'}")


if __name__ == "__main__":
    main()
