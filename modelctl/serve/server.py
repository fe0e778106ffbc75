"""Running the application under uvicorn: `modelctl serve`'s process.

    serve("runs/iris", options=ServeOptions(max_batch=64), host="127.0.0.1", port=8501)   # until SIGTERM

One process serves by default; `workers` > 1 starts that many processes on
the same port (uvicorn's supervisor), each loading the model and batching its
own requests. SIGTERM and SIGINT stop the server gracefully: it stops taking
connections, answers the requests in flight, and the process exits 0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path
from typing import Callable

import uvicorn

from modelctl.serve.app import ServeOptions, create_app
from modelctl.serve.errors import ServeError

CONFIG_VARIABLE = "MODELCTL_SERVE_CONFIG"
"""How the processes of `workers` > 1 learn what to serve: the target and options as JSON."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
"""TensorFlow Serving's REST port."""

GRACE_SECONDS = 30
"""Longest wait for the requests in flight after SIGTERM."""


def serve(target: str | Path, *, backend: str = "auto", name: str | None = None,
          options: ServeOptions = ServeOptions(), host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = 1,
          on_ready: Callable | None = None, log_level: str = "warning") -> None:
    """Serve `target` until SIGTERM or SIGINT.

    Args:
        target: what `open_model` takes: a run folder, a spec's runs folder, an artifact...
        backend: `auto` (default), `onnx`, `tflite`, `saved_model` or `keras`.
        name: the model's name in the URLs; default None: the spec's name.
        options: batching, token and body limit (`ServeOptions`).
        host: the address to listen on (default 127.0.0.1: this machine only).
        port: the port (default 8501; 0 picks a free one, which `on_ready` is told).
        workers: processes serving the port (default 1).
        on_ready: called with (served model, host, port) once the server listens (with `workers` > 1, as the
            workers start); default None.
        log_level: uvicorn's log level (default `warning`): `info` logs every request.

    Raises:
        ServeError: workers below 1, an address that cannot be listened on.
    """
    from modelctl.serve.model import open_model

    if workers < 1:
        raise ServeError(f"invalid number of workers. Expected at least 1. Received: workers={workers}")
    served = open_model(target, backend=backend, name=name)  # a bad target is refused before anything listens
    if workers > 1:
        os.environ[CONFIG_VARIABLE] = json.dumps({"target": str(target), "backend": backend, "name": name,
                                                  "options": dataclasses.asdict(options)})
        config = uvicorn.Config("modelctl.serve.server:from_environment", factory=True, host=host, port=port,
                                workers=workers, log_level=log_level, timeout_graceful_shutdown=GRACE_SECONDS)
        _graceful()
        if on_ready is not None:
            on_ready(served, host, port)
        from uvicorn.supervisors import Multiprocess

        _run(lambda: Multiprocess(config, sockets=[config.bind_socket()]).run(), host, port)
        return
    config = uvicorn.Config(create_app(served, options), host=host, port=port, log_level=log_level,
                            timeout_graceful_shutdown=GRACE_SECONDS, lifespan="on")
    server = _Listening(config, lambda host, port: on_ready(served, host, port) if on_ready else None)
    _graceful()
    _run(server.run, host, port)


def _run(run: Callable[[], None], host: str, port: int) -> None:
    try:
        run()
    except SystemExit as stop:  # uvicorn exits when it cannot listen (it has logged why)
        if stop.code not in (0, None):
            raise ServeError(f"cannot listen on {host}:{port}: the port is in use, or the address is not this "
                             "machine's") from None


class _Listening(uvicorn.Server):
    """A uvicorn server that says which port it listens on once it does (port 0 picks a free one)."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str, int], None]):
        super().__init__(config)
        self.on_listening = on_listening

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.on_listening(host, port)


def from_environment():
    """The application of one worker process, from `CONFIG_VARIABLE`."""
    from modelctl.serve.model import open_model

    config = json.loads(os.environ[CONFIG_VARIABLE])
    served = open_model(config["target"], backend=config["backend"], name=config["name"])
    return create_app(served, ServeOptions(**config["options"]))


def _graceful() -> None:
    """Make SIGTERM and SIGINT end the process with 0 once uvicorn has shut down gracefully.

    uvicorn answers the requests in flight, then restores the handlers it found and raises the signal again;
    these handlers take it and let `serve` return.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, frame: None)


__all__ = ["CONFIG_VARIABLE", "DEFAULT_HOST", "DEFAULT_PORT", "from_environment", "serve"]
