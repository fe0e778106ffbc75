"""Load and fault benchmark of `modelctl serve`, on the loopback interface only, bounded in time.

    python bench/bench_serve.py [--seconds 3] [--backends onnx,tflite,saved_model,keras] [--connections 1,8,32,128]
                                [--rows 1,64] [--epochs 5]

Trains examples/iris/spec.yaml (the tabular example model) for --epochs epochs and exports it to ONNX, TFLite and
SavedModel, then measures, each server a `modelctl serve` process on 127.0.0.1:

- start-up: seconds from starting the process to its first answer (median of --starts starts; CPU seconds too),
  for each backend;
- load: for each backend, each number of --connections (keep-alive connections sending predict requests back to
  back) and each number of --rows per request, requests/s and p50/p99 latency over --seconds seconds (after half
  a second of warm-up), answers other than 200, the mean batch and the server's CPU per request; the server's
  resident memory after its first answer and after the load;
- batching: one-row requests at 1 and 32 connections with the default batching and with `--max-batch 1`;
- the event loop: the longest `/healthz` answer (probed every 10 ms) while the largest requests the server
  allows run: 10,000 rows (--max-rows), and a body just under 16 MiB (--max-body-mb) of 380,000 rows, refused
  with 413 once decoded;
- faults: 128 connections against `--max-queue 32 --timeout-ms 200` (503s counted, latency bounded), 200
  connections that send half a request head against `--header-timeout 2` (closed, while /healthz answers), and
  20 clients that leave in the middle of their body (counted 499, none 500).

Writes bench/results/serve.json; `markdown()` renders it for docs/benchmarks.md (bench/run_all.py). The load
generator speaks HTTP/1.1 over asyncio streams itself (an HTTP client library spends more CPU per request than the
server), in this process, on the same machine as the server: on a 2-core machine they share the cores, and the
load average before and after is recorded with the figures.
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
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELCTL = [sys.executable, "-c", "from modelctl.cli.app import main; main()"]
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
ARTIFACTS = {"onnx": "export/model.onnx", "tflite": "export/model.tflite", "saved_model": "export/saved_model",
             "keras": "model.keras"}
"""Each backend's artifact in the run folder."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A `modelctl serve` process on a free loopback port."""

    def __init__(self, target: Path, options: list[str], cache: Path):
        self.port = free_port()
        # As installed: modules compiled to bytecode once (pip does it), whatever PYTHONDONTWRITEBYTECODE says here.
        environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        self.begin = time.perf_counter()
        self.process = subprocess.Popen([*MODELCTL, "serve", str(target), "--port", str(self.port), *options],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env={**environment, "PYTHONPYCACHEPREFIX": str(cache)})

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def first_answer(self, body: bytes, deadline: float = 120.0) -> float:
        """Seconds from the start to the first 200 answer to `body`."""
        request = urllib.request.Request(self.url("/v1/models/iris:predict"), body,
                                         {"Content-Type": "application/json"})
        end = time.perf_counter() + deadline
        while time.perf_counter() < end:
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - self.begin
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"the server exited: {self.process.stderr.read()[-2000:]}")
                time.sleep(0.005)
        raise SystemExit(f"the server did not answer within {deadline:g} s")

    def cpu_seconds(self) -> float:
        """User and system CPU seconds the server process has used so far (Linux's /proc/PID/stat)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def resident_mb(self) -> dict:
        """Resident memory in MB of the server process, and of it with its children (the decoding processes)."""
        def rss(pid: int) -> float:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
            return 0.0

        pid = self.process.pid
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        main = rss(pid)
        return {"server": round(main, 1), "with_children": round(main + sum(rss(child) for child in children), 1)}

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.url("/metrics"), timeout=10) as answer:
            text = answer.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line and not line.startswith("#")}

    def mean_batch(self) -> float | None:
        values = self.metrics()
        count = values.get("modelctl_serve_batch_size_count")
        return round(values["modelctl_serve_batch_size_sum"] / count, 2) if count else None

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(60)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def request_bytes(body: bytes, path: str = "/v1/models/iris:predict") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def connection(port: int, requests: list[bytes], until: float, record: list, statuses: dict) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            begin = time.perf_counter()
            writer.write(random.choice(requests))
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length:"))
            await reader.readexactly(length)
            status = int(lines[0].split(b" ", 2)[1])
            record.append((time.perf_counter() - begin, status))
            statuses[status] = statuses.get(status, 0) + 1
            if any(line.lower() == b"connection: close" for line in lines):
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def percentile(ordered: list[float], fraction: float) -> float:
    return round(1000 * ordered[min(len(ordered) - 1, int(fraction * len(ordered)))], 2) if ordered else None


async def load(port: int, requests: list[bytes], connections: int, seconds: float) -> dict:
    await asyncio.gather(*(connection(port, requests, time.perf_counter() + 0.5, [], {}) for _ in range(connections)))
    answers: list[tuple[float, int]] = []
    statuses: dict[int, int] = {}
    begin = time.perf_counter()
    await asyncio.gather(*(connection(port, requests, begin + seconds, answers, statuses)
                           for _ in range(connections)))
    elapsed = time.perf_counter() - begin
    ordered = sorted(latency for latency, _ in answers)
    answered = sorted(latency for latency, status in answers if status == 200)
    return {"connections": connections, "requests": len(answers), "seconds": round(elapsed, 3),
            "requests_per_second": round(len(answers) / elapsed, 1), "p50_ms": percentile(ordered, 0.50),
            "p99_ms": percentile(ordered, 0.99), "max_ms": percentile(ordered, 1.0),
            "p99_ms_of_200": percentile(answered, 0.99),
            "statuses": {str(key): value for key, value in sorted(statuses.items())}}


def predict_bodies(rows: list[list[float]], per_request: int) -> list[bytes]:
    """Request bytes of `per_request` rows each, drawn in turn from `rows`."""
    bodies = []
    for start in range(0, len(rows), max(1, len(rows) // 16)):
        chosen = [rows[(start + offset) % len(rows)] for offset in range(per_request)]
        bodies.append(request_bytes(json.dumps({"instances": [dict(zip(COLUMNS, row)) for row in chosen]})
                                    .encode()))
    return bodies


def under_load(server: Server, bodies: dict[int, list[bytes]], connections: list[int], seconds: float) -> list:
    results = []
    for per_request, requests in bodies.items():
        for count in connections:
            before = server.cpu_seconds()
            metrics = server.metrics()
            row = asyncio.run(load(server.port, requests, count, seconds))
            after = server.metrics()
            calls = after.get("modelctl_serve_batch_size_count", 0) - metrics.get("modelctl_serve_batch_size_count", 0)
            examples = after.get("modelctl_serve_batch_size_sum", 0) - metrics.get("modelctl_serve_batch_size_sum", 0)
            row.update(rows=per_request, mean_batch=round(examples / calls, 2) if calls else None,
                       server_cpu_ms_per_request=round(1000 * (server.cpu_seconds() - before)
                                                       / max(1, row["requests"]), 3))
            print(f"  {per_request} rows x {count} connections: {row}", flush=True)
            results.append(row)
    return results


def healthz_stall(server: Server, bodies: dict[str, bytes], repeats: int = 3) -> dict:
    """The longest /healthz answer while each body is sent `repeats` times, and when the server is idle."""
    timings: list[float] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            begin = time.perf_counter()
            with urllib.request.urlopen(server.url("/healthz"), timeout=30) as answer:
                answer.read()
            timings.append(time.perf_counter() - begin)
            time.sleep(0.01)

    def post(body: bytes) -> tuple[int, float]:
        request = urllib.request.Request(server.url("/v1/models/iris:predict"), body,
                                         {"Content-Type": "application/json"})
        begin = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        return status, round(time.perf_counter() - begin, 3)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    time.sleep(1.0)
    idle = sorted(timings)
    timings.clear()
    answers = {name: [post(body) for _ in range(repeats)] for name, body in bodies.items()}
    stop.set()
    thread.join(30)
    during = sorted(timings)
    return {"idle_max_ms": percentile(idle, 1.0), "idle_p99_ms": percentile(idle, 0.99),
            "during_max_ms": percentile(during, 1.0), "during_p99_ms": percentile(during, 0.99),
            "probes": len(during), "requests": {name: [{"status": status, "seconds": took} for status, took in found]
                                                for name, found in answers.items()}}


def slow_headers(server: Server, count: int = 200, timeout: float = 2.0) -> dict:
    """Open `count` connections that send half a request head; how many the server closed within `timeout` + 1 s,
    and the longest /healthz answer meanwhile."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
        sockets.append(sock)
    begin, longest = time.perf_counter(), 0.0
    while time.perf_counter() - begin < timeout + 1.0:
        started = time.perf_counter()
        with urllib.request.urlopen(server.url("/healthz"), timeout=30) as answer:
            answer.read()
        longest = max(longest, time.perf_counter() - started)
        time.sleep(0.05)
    closed = 0
    for sock in sockets:
        sock.settimeout(0.5)
        try:
            closed += sock.recv(1) == b""
        except (socket.timeout, OSError):
            pass
        sock.close()
    return {"connections": count, "closed": closed, "header_timeout_seconds": timeout,
            "healthz_max_ms": round(1000 * longest, 2)}


def clients_leaving(server: Server, count: int = 20) -> dict:
    """`count` clients that send half their body and close; the server's counts of 499 and 500 answers."""
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(b"POST /v1/models/iris:predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 1000\r\n\r\n{\"instances\": [")
        time.sleep(0.02)
        sock.close()
    time.sleep(0.5)
    metrics = server.metrics()
    return {"clients": count,
            "counted_499": metrics.get('modelctl_serve_requests_total{route="predict",status="499"}', 0),
            "counted_500": metrics.get('modelctl_serve_requests_total{route="predict",status="500"}', 0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="Seconds of load per measurement (default 3).")
    parser.add_argument("--backends", default="onnx,tflite,saved_model,keras")
    parser.add_argument("--connections", default="1,8,32,128")
    parser.add_argument("--rows", default="1,64", help="Rows per request (default 1,64).")
    parser.add_argument("--starts", type=int, default=3, help="Starts per backend for the start-up time.")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    connections = [int(value) for value in args.connections.split(",")]
    per_request = [int(value) for value in args.rows.split(",")]
    rows = [[float(value) for value in line.split(",")[:4]]
            for line in (ROOT / "examples" / "iris" / "iris.csv").read_text().splitlines()[1:]]
    one = json.dumps({"instances": [dict(zip(COLUMNS, rows[0]))]}).encode()
    load_average = [round(value, 2) for value in os.getloadavg()]
    results: dict = {"date": datetime.date.today().isoformat(), "cores": os.cpu_count(),
                     "model": f"examples/iris/spec.yaml trained {args.epochs} epochs", "seconds": args.seconds,
                     "load_average_before": load_average, "backends": {}}
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([*MODELCTL, "train", str(ROOT / "examples" / "iris" / "spec.yaml"), "--quiet", "--output",
                        folder, "--set", f"training.epochs={args.epochs}"], check=True, capture_output=True)
        run = sorted(Path(folder, "iris").iterdir())[-1]
        subprocess.run([*MODELCTL, "export", str(run), "--format", "onnx", "--format", "tflite", "--format",
                        "saved_model"], check=True, capture_output=True)
        cache = Path(folder) / "bytecode"
        bodies = {count: predict_bodies(rows, count) for count in per_request}
        for backend in backends:
            target = run / ARTIFACTS[backend]
            options = ["--backend", "keras"] if backend == "keras" else []
            starts, cpu = [], []
            for attempt in range(args.starts + 1):  # the first start compiles the bytecode: not counted
                server = Server(run if backend == "keras" else target, options, cache)
                took = server.first_answer(one)
                if attempt:
                    starts.append(took)
                    cpu.append(server.cpu_seconds())
                if attempt < args.starts:
                    server.stop()
            print(f"{backend}: start-up {statistics.median(starts):.2f} s", flush=True)
            memory_first = server.resident_mb()
            try:
                measured = under_load(server, bodies, connections, args.seconds)
                memory_after = server.resident_mb()
            finally:
                exit_code = server.stop()
            results["backends"][backend] = {
                "startup_seconds": [round(value, 3) for value in starts],
                "startup_median_seconds": round(statistics.median(starts), 3),
                "startup_cpu_median_seconds": round(statistics.median(cpu), 3),
                "memory_mb_after_first_answer": memory_first, "memory_mb_after_load": memory_after,
                "load": measured, "exit_code_on_sigterm": exit_code}
        onnx = run / ARTIFACTS["onnx"]
        single = bodies[1] if 1 in bodies else predict_bodies(rows, 1)
        batch_one = Server(onnx, ["--max-batch", "1"], cache)
        batch_one.first_answer(one)
        try:
            print("--max-batch 1:", flush=True)
            results["batch_1"] = under_load(batch_one, {1: single}, [1, 32], args.seconds)
        finally:
            batch_one.stop()
        server = Server(onnx, [], cache)
        server.first_answer(one)
        try:
            largest = {"10,000 rows": json.dumps({"instances": [rows[index % len(rows)] for index in range(10_000)]})
                       .encode(),
                       "16 MiB body (380,000 rows)": json.dumps({"instances": [[5.123457, 3.523457, 1.423457, 0.223457]]
                                                                 * 380_000}).encode()}
            # The 16 MiB body is under --max-body-mb and over --max-rows: refused once decoded, the most work a
            # refused body can cost.
            results["healthz"] = healthz_stall(server, largest)
            print(f"healthz: {results['healthz']}", flush=True)
            results["clients_leaving"] = clients_leaving(server)
        finally:
            server.stop()
        shedding = Server(onnx, ["--max-queue", "32", "--timeout-ms", "200"], cache)
        shedding.first_answer(one)
        try:
            results["overload"] = under_load(shedding, {1: single}, [128], args.seconds)[0]
            results["overload"]["options"] = "--max-queue 32 --timeout-ms 200"
        finally:
            shedding.stop()
        headers = Server(onnx, ["--header-timeout", "2"], cache)
        headers.first_answer(one)
        try:
            results["slow_headers"] = slow_headers(headers)
        finally:
            headers.stop()
    results["load_average_after"] = [round(value, 2) for value in os.getloadavg()]
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "serve.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\n".join(markdown(results)))


def _cell(row: dict) -> str:
    return f"{row['requests_per_second']:.0f} / {row['p50_ms']:.1f} / {row['p99_ms']:.1f}"


def markdown(results: dict) -> list[str]:
    """The section of docs/benchmarks.md for `results` (bench/results/serve.json)."""
    backends = results["backends"]
    lines = ["## modelctl serve: load and faults", "",
             f"Measured {results['date']} with bench/bench_serve.py: {results['model']}, served by `modelctl serve` "
             f"on 127.0.0.1, the load generator in one process on the same {results['cores']}-core machine; "
             f"{results['seconds']:g} s per measurement after 0.5 s of warm-up. The machine was shared: load average "
             f"{results['load_average_before'][0]:g} before, {results['load_average_after'][0]:g} after.", "",
             "Requests/s / p50 ms / p99 ms, by backend, rows per request and keep-alive connections:", ""]
    connections = sorted({row["connections"] for backend in backends.values() for row in backend["load"]})
    lines += ["| backend | rows | " + " | ".join(f"{count} conn." for count in connections) + " |",
              "|---|---:|" + "---:|" * len(connections)]
    for name, backend in backends.items():
        for rows in sorted({row["rows"] for row in backend["load"]}):
            cells = {row["connections"]: _cell(row) for row in backend["load"] if row["rows"] == rows}
            lines.append(f"| {name} | {rows} | " + " | ".join(cells.get(count, "-") for count in connections) + " |")
    lines += ["", "| backend | start-up to first answer | CPU by then | memory after first answer | after the load "
              "| answers other than 200 |", "|---|---:|---:|---:|---:|---:|"]
    for name, backend in backends.items():
        other = sum(count for row in backend["load"] for status, count in row["statuses"].items() if status != "200")
        lines.append(f"| {name} | {backend['startup_median_seconds']:.2f} s | "
                     f"{backend['startup_cpu_median_seconds']:.2f} s | "
                     f"{backend['memory_mb_after_first_answer']['with_children']:.0f} MB | "
                     f"{backend['memory_mb_after_load']['with_children']:.0f} MB | {other} |")
    onnx = {(row["rows"], row["connections"]): row for row in backends.get("onnx", {}).get("load", [])}
    single = {row["connections"]: row for row in results["batch_1"]}
    health, overload, slow, leaving = (results["healthz"], results["overload"], results["slow_headers"],
                                       results["clients_leaving"])
    lines += ["", "| target | measured |", "|---|---|"]
    if (1, 32) in onnx:
        row = onnx[(1, 32)]
        lines.append(f"| 32 connections, ONNX, 1 row: >= 1,000 requests/s with p99 <= 50 ms | "
                     f"**{row['requests_per_second']:.0f}** requests/s, p99 **{row['p99_ms']:.1f} ms** |")
    if (1, 1) in onnx:
        ratio = onnx[(1, 1)]["p50_ms"] / single[1]["p50_ms"]
        lines.append(f"| 1 connection: batch-1 latency within 20 % of `--max-batch 1` | p50 "
                     f"**{onnx[(1, 1)]['p50_ms']:.2f} ms** against {single[1]['p50_ms']:.2f} ms "
                     f"(**{100 * (ratio - 1):+.0f} %**) |")
    if (1, 32) in onnx:
        lines.append(f"| 32 connections: batching >= 2x `--max-batch 1` | "
                     f"**{onnx[(1, 32)]['requests_per_second'] / single[32]['requests_per_second']:.2f}x** "
                     f"({onnx[(1, 32)]['requests_per_second']:.0f} against {single[32]['requests_per_second']:.0f} "
                     f"requests/s; mean batch {onnx[(1, 32)]['mean_batch']}) |")
    requests = "; ".join(f"{name}: {', '.join(str(item['status']) for item in items)} in "
                         f"{max(item['seconds'] for item in items):.2f} s at most"
                         for name, items in health["requests"].items())
    lines += [f"| `/healthz` never stalls > 100 ms during the largest allowed requests | longest "
              f"**{health['during_max_ms']:.1f} ms** (p99 {health['during_p99_ms']:.1f} ms over {health['probes']} "
              f"probes; idle {health['idle_max_ms']:.1f} ms); {requests} |",
              f"| 128 connections against `{overload['options']}`, retrying at once: p99 under the deadline, "
              f"503s counted | p99 **{overload['p99_ms']:.1f} ms** (of the 200s {overload['p99_ms_of_200']:.1f} ms), "
              f"answers {overload['statuses']}, {overload['requests_per_second']:.0f} requests/s |",
              f"| {slow['connections']} connections sending half a request head, `--header-timeout "
              f"{slow['header_timeout_seconds']:g}` | **{slow['closed']}** closed by the server; `/healthz` at most "
              f"{slow['healthz_max_ms']:.1f} ms meanwhile |",
              f"| {leaving['clients']} clients leaving mid-body | counted **{leaving['counted_499']:.0f}** as 499, "
              f"**{leaving['counted_500']:.0f}** as 500 |", ""]
    return lines


if __name__ == "__main__":
    main()
