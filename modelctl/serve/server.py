"""Running the application under uvicorn: `modelctl serve`'s process.

    serve("runs/iris", options=ServeOptions(max_batch=64), host="127.0.0.1", port=8501)   # until SIGTERM

One process serves by default; `workers` > 1 starts that many processes on
the same port (uvicorn's supervisor), each loading the model and batching its
own requests, and sharing one set of metrics (`modelctl.serve.metrics`).
SIGTERM and SIGINT stop the server gracefully: it stops taking connections,
answers the requests in flight (for at most `Connections.grace_seconds`), and
the process exits 0.

The connections are bounded as well as the requests (`Connections`): at most
`max_connections` at once (uvicorn answers 503 beyond), and a connection that
has not sent a whole request head within `header_timeout` seconds of opening,
or of its previous answer, is closed, so that half-sent headers cannot hold the
server's file descriptors.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Callable

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelctl.serve.app import ServeOptions, create_app
from modelctl.serve.errors import ServeError
from modelctl.serve.metrics import MULTIPROCESS_VARIABLE

CONFIG_VARIABLE = "MODELCTL_SERVE_CONFIG"
"""How the processes of `workers` > 1 learn what to serve (the target and options) and their supervisor's process
id, as JSON."""

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8501
"""TensorFlow Serving's REST port."""

LOOPBACK = ("127.0.0.1", "localhost", "::1")
"""Addresses that only this machine reaches."""


@dataclasses.dataclass(frozen=True)
class Connections:
    """How many connections the server holds, and for how long.

    Args:
        max_connections: most connections (and requests) at once (default 1,000); beyond, requests are answered
            503 (uvicorn's `limit_concurrency`).
        header_timeout: seconds a connection may take to send a request's head (default 10); then it is closed.
        keep_alive: seconds an idle connection is kept open between requests (default 5).
        grace_seconds: after SIGTERM, the longest wait for the requests in flight (default 30).
    """

    max_connections: int = 1000
    header_timeout: float = 10.0
    keep_alive: float = 5.0
    grace_seconds: float = 30.0


class _Config(uvicorn.Config):
    """uvicorn's configuration, carrying the header timeout to `_HeaderTimeout` (in every worker process: a
    configuration is pickled to them)."""

    def __init__(self, app, *, header_timeout: float, **options):
        super().__init__(app, **options)
        self.header_timeout = header_timeout


class _HeaderTimeout(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline for each request's head (see the module docstring)."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.header_timeout = getattr(config, "header_timeout", None)
        self.header_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.header_timer is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self.header_timeout:
            self.header_timer = self.loop.call_later(self.header_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _timed_out(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()


def serve(target: str | Path, *, backend: str = "auto", name: str | None = None,
          options: ServeOptions = ServeOptions(), connections: Connections = Connections(),
          host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, workers: int = 1, on_ready: Callable | None = None,
          log_level: str = "warning") -> None:
    """Serve `target` until SIGTERM or SIGINT.

    Args:
        target: what `open_model` takes: a run folder, a spec's runs folder, an artifact...
        backend: `auto` (default), `onnx`, `tflite`, `saved_model` or `keras`.
        name: the model's name in the URLs; default None: the spec's name.
        options: batching, limits, token, response shape (`ServeOptions`).
        connections: connection limit, header timeout, keep-alive, SIGTERM grace (`Connections`).
        host: the address to listen on (default 127.0.0.1: this machine only).
        port: the port (default 8501; 0 picks a free one, which `on_ready` is told).
        workers: processes serving the port (default 1).
        on_ready: called with (served model, host, port) once the server listens (with `workers` > 1, once the
            port is bound, as the workers start); default None.
        log_level: uvicorn's log level (default `warning`): `info` logs every request.

    Raises:
        ServeError: workers below 1, an address that cannot be listened on, a version label for another version.
    """
    from modelctl.serve.model import open_model

    if workers < 1:
        raise ServeError(f"invalid number of workers. Expected at least 1. Received: workers={workers}")
    served = open_model(target, backend=backend, name=name)  # a bad target is refused before anything listens
    uvicorn_options = dict(host=host, port=port, log_level=log_level, http=_HeaderTimeout, lifespan="on",
                           header_timeout=connections.header_timeout, limit_concurrency=connections.max_connections,
                           timeout_keep_alive=connections.keep_alive,
                           timeout_graceful_shutdown=connections.grace_seconds)
    if workers > 1:
        app = create_app(served, options)  # checks the options (version labels) before the workers start
        del app
        os.environ[CONFIG_VARIABLE] = json.dumps({"target": str(target), "backend": backend, "name": name,
                                                  "options": dataclasses.asdict(options), "supervisor": os.getpid()})
        shared = tempfile.mkdtemp(prefix="modelctl-serve-metrics-")
        os.environ[MULTIPROCESS_VARIABLE] = shared  # read by prometheus_client in each worker as it starts
        config = _Config("modelctl.serve.server:from_environment", factory=True, workers=workers, **uvicorn_options)
        _graceful()
        from uvicorn.supervisors import Multiprocess

        try:
            sock = _run(config.bind_socket, host, port)
            if on_ready is not None:
                on_ready(served, *sock.getsockname()[:2])  # the port picked for port 0
            _run(lambda: Multiprocess(config, sockets=[sock]).run(), host, port)
        finally:
            shutil.rmtree(shared, ignore_errors=True)
        return
    config = _Config(create_app(served, options), **uvicorn_options)
    server = _Listening(config, lambda host, port: on_ready(served, host, port) if on_ready else None)
    _graceful()
    _run(server.run, host, port, app_failed=lambda: server.app_failed)


def _run(run: Callable, host: str, port: int, *, app_failed: Callable[[], bool] = lambda: False):
    """`run()`, with uvicorn's exit for a failed start as a `ServeError` that says which start failed."""
    try:
        return run()
    except SystemExit as stop:  # uvicorn exits when it cannot start (it has logged why)
        if stop.code in (0, None):
            return None
        if app_failed():
            raise ServeError("the server did not start: the application failed as it started (the log above has "
                             "its traceback)") from None
        raise ServeError(f"cannot listen on {host}:{port}: the port is in use, or the address is not this "
                         "machine's") from None


class _Listening(uvicorn.Server):
    """A uvicorn server that says which port it listens on once it does (port 0 picks a free one)."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str, int], None]):
        super().__init__(config)
        self.on_listening = on_listening
        self.app_failed = False

    async def startup(self, sockets=None) -> None:
        try:
            await super().startup(sockets=sockets)
        except SystemExit:
            # uvicorn exits alike when the application's start fails and when it cannot listen.
            self.app_failed = self.lifespan.should_exit
            raise
        if self.started and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            self.on_listening(host, port)


def from_environment():
    """The application of one worker process, from `CONFIG_VARIABLE`. A worker whose supervisor has ended stops
    gracefully, as on SIGTERM."""
    from modelctl.serve.model import open_model
    from modelctl.serve.work import watch_parent

    config = json.loads(os.environ[CONFIG_VARIABLE])
    watch_parent(lambda: os.kill(os.getpid(), signal.SIGTERM), parent=config["supervisor"])
    served = open_model(config["target"], backend=config["backend"], name=config["name"])
    options = config["options"]
    for key in ("allowed_hosts", "cors_origins"):
        if options.get(key) is not None:
            options[key] = tuple(options[key])
    return create_app(served, ServeOptions(**options))


def is_loopback(host: str) -> bool:
    """Whether only this machine reaches `host`."""
    return host in LOOPBACK or host.startswith("127.")


def _graceful() -> None:
    """Make SIGTERM and SIGINT end the process with 0 once uvicorn has shut down gracefully.

    uvicorn answers the requests in flight, then restores the handlers it found and raises the signal again;
    these handlers take it and let `serve` return.
    """
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, frame: None)


__all__ = ["CONFIG_VARIABLE", "Connections", "DEFAULT_HOST", "DEFAULT_PORT", "LOOPBACK", "from_environment",
           "is_loopback", "serve"]
