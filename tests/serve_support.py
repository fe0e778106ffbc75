"""What the serve and predict tests share: an iris run exported to ONNX and TFLite, a stand-in model of NumPy
functions, a `modelctl serve` process to talk to over HTTP, and Starlette's TestClient for the app in-process."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import numpy as np

from conftest import ROOT, quiet_console

with warnings.catch_warnings():  # Starlette deprecates httpx for its TestClient, which still works with it
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

IRIS_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VECTOR = list(IRIS_ROW.values())
MODELCTL = [sys.executable, "-c", "from modelctl.cli.app import main; main()"]


def train_iris(folder: Path, formats: tuple[str, ...] = ("onnx",)) -> Path:
    """An iris run of one epoch of three steps under `folder`, exported to `formats`; its folder."""
    from modelctl.export.from_run import export_run
    from modelctl.spec.validate import load_spec
    from modelctl.training.trainer import train

    document = load_spec(ROOT / "examples" / "iris" / "spec.yaml", ["training.epochs=1", "training.steps_per_epoch=3"])
    run_dir = train(document, folder / "runs", quiet_console(), quiet=True).run_dir
    export_run(run_dir, list(formats))
    return run_dir


def stand_in(features: dict, fitted: dict, scores, *, name: str = "toy", version: int = 1):
    """A `ServedModel` whose model is `scores` (raw values by feature -> outputs by label), a NumPy function."""
    from modelctl.predict import Predictor
    from modelctl.serve import ServedModel

    predictor = Predictor(features, fitted, "numpy", Path("stand-in"), {"spec_name": name, "spec_hash": "0" * 64},
                          lambda: scores)
    return ServedModel(name=name, version=version, predictor=predictor)


def two_labels():
    """A stand-in of two numeric inputs and two labels: `kind` (classes a, b: softmax of x and y) and `size`
    (the value x + y)."""
    features = {"x": {"type": "numeric", "column": "x"}, "y": {"type": "numeric", "column": "y"}}
    fitted = {"features": {name: {"type": "numeric", "columns": [name], "width": 1, "shape": None,
                                  "augmentation": [], "steps": []} for name in features},
              "labels": {"kind": {"type": "categorical", "column": "kind", "classes": ["a", "b"]},
                         "size": {"type": "regression", "column": "size"}}}

    def scores(values):
        both = np.concatenate([values["x"], values["y"]], axis=1).astype(np.float64)
        exp = np.exp(both - both.max(axis=1, keepdims=True))
        return {"kind": (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32),
                "size": both.sum(axis=1, keepdims=True).astype(np.float32)}

    return stand_in(features, fitted, scores, name="two")


class ServeProcess:
    """`modelctl serve TARGET --port 0 OPTIONS` in a process of its own, once it listens; its stderr is kept.

        with ServeProcess(run_dir, "--max-rows", "10") as server:
            status, headers, body = server.call("/v1/models/iris:predict", {"instances": [...]})
    """

    def __init__(self, target, *options: str, env: dict | None = None):
        self.process = subprocess.Popen([*MODELCTL, "serve", str(target), "--port", "0", *options],
                                        stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
        self.lines: list[str] = []
        self.listening = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if not self.listening.wait(120):
            self.process.kill()
            raise AssertionError("the server did not start:\n" + self.stderr)
        self.url = re.search(r"listening on (http://[^ ]+)", self.stderr)[1]
        self.port = int(self.url.rsplit(":", 1)[1])

    def _read(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)
            if line.startswith("listening on "):
                self.listening.set()
        self.listening.set()

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def call(self, path: str, body=None, headers: dict | None = None, timeout: float = 60):
        """(status, headers, parsed JSON or text) of a GET (no body) or a POST of `body` (JSON, or bytes)."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data, {"Content-Type": "application/json",
                                                                 **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                status, found, text = answer.status, dict(answer.headers), answer.read().decode()
        except urllib.error.HTTPError as error:
            status, found, text = error.code, dict(error.headers), error.read().decode()
        try:
            return status, found, json.loads(text)
        except json.JSONDecodeError:
            return status, found, text

    def healthy(self) -> bool:
        """Whether /healthz answers 200 (not yet, while the workers start)."""
        try:
            return self.call("/healthz", timeout=5)[0] == 200
        except OSError:
            return False

    def metric(self, name: str) -> float:
        """A sample of /metrics, by its full name with labels; 0 when absent."""
        text = self.call("/metrics")[2]
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, and the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.reader.join(10)

    def __enter__(self) -> ServeProcess:
        return self

    def descendants(self) -> list[int]:
        """The processes the server started (workers, reading processes), and theirs."""
        found, pending = [], [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except FileNotFoundError:
                continue
            for task in tasks:
                try:
                    children = [int(child) for child in open(f"/proc/{pid}/task/{task}/children").read().split()]
                except FileNotFoundError:
                    continue
                found += children
                pending += children
        return found

    def __exit__(self, *exc) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the workers stop with it; a killed supervisor would leave them
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_until(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


__all__ = ["IRIS_ROW", "MODELCTL", "ServeProcess", "TestClient", "VECTOR", "stand_in", "train_iris", "two_labels",
           "wait_until"]
