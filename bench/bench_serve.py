"""Benchmark `modelctl serve`: start-up to the first answer, and throughput and latency under load, with dynamic
batching and with batch-1 serving.

    python bench/bench_serve.py [--seconds 10] [--connections 32] [--epochs 5]

Trains examples/iris/spec.yaml (the tabular example model) for --epochs epochs and exports it to ONNX. Start-up:
`modelctl serve RUN` is started 5 times; the median seconds from starting the process to the first answer to a
predict request. Load: for `--max-batch 64 --batch-timeout-ms 2` (dynamic batching) and `--max-batch 1` (each
request by itself), --connections keep-alive connections each send one-row predict requests back to back for
--seconds seconds (after a second of warm-up), from this process on the same machine; requests per second,
latency percentiles, errors (any answer but 200), and the server's CPU milliseconds per request (warm-up
included), which do not depend on what else runs on the machine. Writes bench/results/serve.json.

The load generator speaks HTTP/1.1 over asyncio streams itself: an HTTP client library (httpx) spends more CPU
per request than the server, and on a 2-core machine the generator shares the cores with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELCTL = [sys.executable, "-c", "from modelctl.cli.app import main; main()"]
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MODES = {"dynamic batching": ["--max-batch", "64", "--batch-timeout-ms", "2"], "batch-1": ["--max-batch", "1"]}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(run: Path, port: int, options: list[str], cache: Path) -> subprocess.Popen:
    # As installed: modules compiled to bytecode once (pip does it), whatever PYTHONDONTWRITEBYTECODE says here.
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.Popen([*MODELCTL, "serve", str(run), "--port", str(port), *options],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**environment, "PYTHONPYCACHEPREFIX": str(cache)})


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds a process has used so far (Linux's /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_answer(port: int, body: bytes, deadline: float = 30.0) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/models/iris:predict", body,
                                     {"Content-Type": "application/json"})
    end = time.perf_counter() + deadline
    while time.perf_counter() < end:
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.005)
    raise SystemExit("the server did not answer within 30 s")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    code = process.wait(30)
    if code != 0:
        raise SystemExit(f"the server exited with {code} on SIGTERM")


def startup_seconds(run: Path, body: bytes, cache: Path, repeats: int = 5) -> tuple[list[float], list[float]]:
    """Seconds from starting `modelctl serve` to its first answer, and the CPU seconds it used by then; the first
    start (which compiles the bytecode) is not counted."""
    times, cpu = [], []
    for attempt in range(repeats + 1):
        port = free_port()
        begin = time.perf_counter()
        process = start(run, port, [], cache)
        first_answer(port, body)
        if attempt:
            times.append(time.perf_counter() - begin)
            cpu.append(cpu_seconds(process.pid))
        stop(process)
    return times, cpu


async def connection(port: int, bodies: list[bytes], until: float, record: list, errors: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            body = random.choice(bodies)
            begin = time.perf_counter()
            writer.write(b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            status = int(head.split(b" ", 2)[1])
            record.append(time.perf_counter() - begin)
            if status != 200:
                errors.append(status)
    finally:
        writer.close()


async def load(port: int, bodies: list[bytes], connections: int, seconds: float) -> dict:
    warm: list = []
    await asyncio.gather(*(connection(port, bodies, time.perf_counter() + 1.0, warm, []) for _ in range(connections)))
    latencies: list[float] = []
    errors: list[int] = []
    begin = time.perf_counter()
    await asyncio.gather(*(connection(port, bodies, begin + seconds, latencies, errors) for _ in range(connections)))
    elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)

    def percentile(fraction: float) -> float:
        return 1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    return {"requests": len(latencies), "seconds": round(elapsed, 3),
            "requests_per_second": round(len(latencies) / elapsed, 1), "p50_ms": round(percentile(0.50), 2),
            "p90_ms": round(percentile(0.90), 2), "p99_ms": round(percentile(0.99), 2),
            "max_ms": round(1000 * ordered[-1], 2), "errors": len(errors)}


def batch_sizes(port: int) -> float | None:
    """The mean examples per model call, from the server's /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith("modelctl_serve_batch_size_sum") or line.startswith("modelctl_serve_batch_size_count")}
    count = values.get("modelctl_serve_batch_size_count")
    return round(values["modelctl_serve_batch_size_sum"] / count, 2) if count else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds of load per mode (default 10; 30 for "
                                                                     "the issue's figure).")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    rows = [line.split(",") for line in (ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()[1:]]
    bodies = [json.dumps({"instances": [dict(zip(COLUMNS, map(float, row[:4])))]}).encode() for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([*MODELCTL, "train", str(ROOT / "examples" / "iris" / "spec.yaml"), "--quiet", "--output",
                        folder, "--set", f"training.epochs={args.epochs}"], check=True, capture_output=True)
        run = sorted(Path(folder, "iris").iterdir())[-1]
        subprocess.run([*MODELCTL, "export", str(run), "--format", "onnx"], check=True, capture_output=True)
        cache = Path(folder) / "bytecode"
        startup, startup_cpu = startup_seconds(run, bodies[0], cache)
        print(f"start-up to first answer: median {statistics.median(startup):.3f} s of {startup}, CPU "
              f"{statistics.median(startup_cpu):.3f} s", flush=True)
        modes = {}
        for mode, options in MODES.items():
            port = free_port()
            process = start(run, port, options, cache)
            try:
                first_answer(port, bodies[0])
                before = cpu_seconds(process.pid)
                modes[mode] = asyncio.run(load(port, bodies, args.connections, args.seconds))
                used = cpu_seconds(process.pid) - before  # warm-up included, as its requests are not counted
                modes[mode]["mean_batch"] = batch_sizes(port)
                modes[mode]["server_cpu_ms_per_request"] = round(1000 * used / modes[mode]["requests"], 3)
            finally:
                stop(process)
            print(f"{mode}: {modes[mode]}", flush=True)
    results = {
        "date": datetime.date.today().isoformat(),
        "model": f"examples/iris/spec.yaml trained {args.epochs} epochs, exported to ONNX; one row per request",
        "connections": args.connections, "seconds": args.seconds, "cores": os.cpu_count(),
        "load_average": round(os.getloadavg()[0], 2),
        "startup_seconds": [round(value, 3) for value in startup],
        "startup_median_seconds": round(statistics.median(startup), 3),
        "startup_cpu_seconds": [round(value, 3) for value in startup_cpu],
        "startup_cpu_median_seconds": round(statistics.median(startup_cpu), 3),
        "modes": modes,
        "batching_speedup": round(modes["dynamic batching"]["requests_per_second"]
                                  / modes["batch-1"]["requests_per_second"], 2),
    }
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "serve.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
