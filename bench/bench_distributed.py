"""Benchmark training beyond one process: scaling over 2 workers, recovery from a killed worker, Ray's start-up.

    python bench/bench_distributed.py [--rows 20000] [--epochs 4] [--parts scaling,recovery,ray]

Every process runs inside a network namespace with only a loopback interface (TensorFlow's gRPC servers listen
on all interfaces), so the benchmark needs root and `ip`.

- Scaling: `modelctl train` of an MLP on a table of `--rows` rows (32 numeric columns, 3 classes), as one
  process and as two TF_CONFIG workers on this machine, each worker reading its shard. Examples/s is the
  training split's examples times the epochs over run.json's `seconds` (the training loop's time); the
  efficiency is 2 workers' examples/s over twice one worker's. On a machine whose every core one worker already
  uses, efficiency near 0.5 is the most there is.
- Recovery: the same run with worker 1 killed (SIGKILL) once epoch 2 is saved; recovery is the time from the
  kill to the next completed epoch (checkpoints/last.json), under Ray Train (`--ray --workers 2`, restarted by
  its FailureConfig) and under TF_CONFIG processes that a scheduler starts again as soon as the survivor exits
  (`--run-dir DIR --resume-if-exists`).
- Ray's start-up: a local Ray started and connected (`ray.init`), and the whole command on examples/iris/spec.yaml
  (5 epochs) with `--ray --workers 2` against two TF_CONFIG processes.

Writes bench/results/distributed.json (`--parts` measures some parts and keeps the saved figures of the
others).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = "from modelctl.cli.app import main; main()"
IRIS = ROOT / "examples" / "iris" / "spec.yaml"
SPEC = """modelctl: 1
name: wide
seed: 1
data:
  source: {{format: csv, path: '{path}'}}
  features:
    x: {{type: numeric, columns: [{columns}], preprocessing: [standardize]}}
  labels:
    y: {{column: y, type: categorical}}
  split: {{train: 0.8, validation: 0.1, test: 0.1}}
  batch_size: 256
model:
  layers:
    - dense: {{units: 256, activation: relu}}
    - dense: {{units: 256, activation: relu}}
    - dense: {{units: 3, activation: softmax}}
training:
  epochs: {epochs}
  optimizer: {{type: adam, learning_rate: 0.001}}
  metrics: [accuracy]
  scale_learning_rate: none
"""


class Namespace:
    def __init__(self):
        self.name = f"modelctl-bench-{uuid.uuid4().hex[:8]}"

    def __enter__(self):
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        subprocess.run(["ip", "netns", "exec", self.name, "ip", "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *exc):
        listed = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        for pid in map(int, listed):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "delete", self.name])

    def popen(self, arguments, env, log: Path):
        return subprocess.Popen(["ip", "netns", "exec", self.name, sys.executable, "-c", CLI, *arguments], env=env,
                                stdout=log.open("w"), stderr=subprocess.STDOUT)


def environment(**extra) -> dict:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3", "RAY_AUTH_MODE": "disabled",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])), **extra}
    env.pop("TF_CONFIG", None)
    env.pop("RAY_ADDRESS", None)
    return env


def tf_config(index: int, workers: int = 2) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{23100 + i}" for i in range(workers)]},
                       "task": {"type": "worker", "index": index}})


def start_workers(namespace, arguments, env, folder: Path, tag: str) -> list:
    return [namespace.popen(arguments, {**env, "TF_CONFIG": tf_config(index)}, folder / f"{tag}-{index}.log")
            for index in range(2)]


def wait_all(processes, timeout: float = 900) -> list[int]:
    return [process.wait(timeout=timeout) for process in processes]


def last_epoch(run: Path) -> int:
    try:
        return json.loads((run / "checkpoints" / "last.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def wait_epoch(run: Path, epoch: int, timeout: float = 900) -> float:
    deadline = time.monotonic() + timeout
    while last_epoch(run) < epoch:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{run}: epoch {epoch} not reached")
        time.sleep(0.02)
    return time.monotonic()


def write_table(path: Path, rows: int) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 32)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1).astype(int)
    header = ",".join([f"f{i}" for i in range(32)] + ["y"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt=["%.5f"] * 32 + ["%d"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--parts", default="scaling,recovery,ray")
    options = parser.parse_args()
    parts = set(options.parts.split(","))
    out = ROOT / "bench" / "results" / "distributed.json"
    folder = Path(tempfile.mkdtemp(prefix="modelctl-bench-distributed-"))
    env = environment(MODELCTL_CACHE_DIR=str(folder / "cache"))
    results: dict = json.loads(out.read_text()) if out.is_file() and parts != {"scaling", "recovery", "ray"} else {}
    results.update(rows=options.rows, epochs=options.epochs, date=datetime.date.today().isoformat())
    try:
        write_table(folder / "table.csv", options.rows)
        spec = folder / "spec.yaml"
        spec.write_text(SPEC.format(path=folder / "table.csv", epochs=options.epochs,
                                    columns=", ".join(f"f{index}" for index in range(32))))
        with Namespace() as namespace:
            if "scaling" in parts:
                scaling(namespace, spec, env, folder, options, results)
            if "recovery" in parts:
                recovery(namespace, spec, env, folder, results)
            if "ray" in parts:
                ray_startup(namespace, env, folder, results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


def scaling(namespace, spec: Path, env: dict, folder: Path, options, results: dict) -> None:
    """One process, then two workers."""
    one = folder / "one"
    assert wait_all([namespace.popen(["train", str(spec), "--run-dir", str(one), "--quiet"], env,
                                     folder / "one.log")]) == [0]
    two = folder / "two"
    arguments = ["train", str(spec), "--run-dir", str(two), "--quiet",
                 "--set", "training.distribution=multi_worker"]
    assert wait_all(start_workers(namespace, arguments, env, folder, "two")) == [0, 0]
    single, pair = (json.loads((run / "run.json").read_text()) for run in (one, two))
    examples = single["examples"]["train"]
    rate_one = examples * options.epochs / single["seconds"]
    rate_two = examples * options.epochs / pair["seconds"]
    results["scaling"] = {"training_examples": examples, "one_worker_examples_per_second": round(rate_one),
                          "two_workers_examples_per_second": round(rate_two),
                          "efficiency": round(rate_two / (2 * rate_one), 3),
                          "one_worker_seconds": single["seconds"], "two_workers_seconds": pair["seconds"]}
    print("scaling", results["scaling"], flush=True)


def recovery(namespace, spec: Path, env: dict, folder: Path, results: dict) -> None:
    """Under TF_CONFIG processes started again as soon as the survivor exits, then under Ray Train."""
    run = folder / "restarted"
    arguments = ["train", str(spec), "--run-dir", str(run), "--resume-if-exists", "--quiet",
                 "--set", "training.distribution=multi_worker"]
    processes = start_workers(namespace, arguments, env, folder, "killed")
    wait_epoch(run, 2)
    saved = last_epoch(run)
    killed_at = time.monotonic()
    processes[1].send_signal(signal.SIGKILL)
    survivor = processes[0].wait(timeout=600)
    ended_at = time.monotonic()
    processes[1].wait()
    again = start_workers(namespace, arguments, env, folder, "again")
    recovered_at = wait_epoch(run, saved + 1)
    assert wait_all(again) == [0, 0]
    results["recovery_tf_config"] = {"survivor_exit_code": survivor,
                                     "kill_to_survivor_exit_seconds": round(ended_at - killed_at, 2),
                                     "kill_to_next_epoch_seconds": round(recovered_at - killed_at, 2),
                                     "epoch_saved": saved}
    print("recovery tf_config", results["recovery_tf_config"], flush=True)

    # Recovery under Ray Train.
    run = folder / "ray-run"
    driver = namespace.popen(["train", str(spec), "--ray", "--workers", "2", "--run-dir", str(run),
                              "--set", "training.distribution=multi_worker", "--quiet"], env,
                             folder / "ray.log")
    wait_epoch(run, 2)
    saved = last_epoch(run)
    titles = {}
    listed = subprocess.run(["ip", "netns", "pids", namespace.name], capture_output=True, text=True)
    for pid in map(int, listed.stdout.split()):
        try:
            titles[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        except OSError:
            pass
    workers = sorted(pid for pid, title in titles.items() if title.startswith("ray::RayTrainWorker"))
    killed_at = time.monotonic()
    os.kill(workers[-1], signal.SIGKILL)
    recovered_at = wait_epoch(run, saved + 1)
    assert driver.wait(timeout=900) == 0
    results["recovery_ray"] = {"kill_to_next_epoch_seconds": round(recovered_at - killed_at, 2),
                               "epoch_saved": saved}
    print("recovery ray", results["recovery_ray"], flush=True)


def ray_startup(namespace, env: dict, folder: Path, results: dict) -> None:
    """`ray.init` of a local Ray, and the whole command against two TF_CONFIG processes."""
    probe = subprocess.run(["ip", "netns", "exec", namespace.name, sys.executable, "-c",
                            "import time, ray; t = time.monotonic(); ray.init(num_cpus=2, "
                            "include_dashboard=False, _node_ip_address='127.0.0.1'); "
                            "print(time.monotonic() - t); ray.shutdown()"],
                           env=env, capture_output=True, text=True, timeout=300)
    init_seconds = float(probe.stdout.strip().splitlines()[-1])
    iris = ["train", str(IRIS), "--set", "training.epochs=5", "--set", "training.early_stopping=false",
            "--set", "training.distribution=multi_worker", "--quiet"]
    started = time.monotonic()
    assert wait_all(start_workers(namespace, [*iris, "--run-dir", str(folder / "iris-tf")], env, folder,
                                  "iris")) == [0, 0]
    tf_seconds = time.monotonic() - started
    started = time.monotonic()
    assert wait_all([namespace.popen([*iris, "--ray", "--workers", "2", "--run-dir",
                                      str(folder / "iris-ray")], env, folder / "iris-ray.log")]) == [0]
    ray_seconds = time.monotonic() - started
    results["ray_startup"] = {"ray_init_seconds": round(init_seconds, 2),
                              "iris_two_tf_config_processes_seconds": round(tf_seconds, 2),
                              "iris_ray_two_workers_seconds": round(ray_seconds, 2),
                              "ray_added_seconds": round(ray_seconds - tf_seconds, 2)}
    print("ray start-up", results["ray_startup"], flush=True)


if __name__ == "__main__":
    main()
