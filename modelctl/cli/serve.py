"""`modelctl serve`: check the options, run the server until SIGTERM, and say where it listens."""

from __future__ import annotations

import os


def run_serve(target: str, *, backend: str, name: str | None, host: str, port: int, max_batch: int,
              batch_timeout_ms: float, workers: int, token: str | None, max_body_mb: float, console) -> None:
    """Serve `target` (see `modelctl.serve.serve`) and print its address once it listens.

    Raises:
        MissingExtra: a package of the `serve` extra is not installed.
        ServeError: a bad option or target, or an address that cannot be listened on.
    """
    from modelctl.util.lazy import MissingExtra, installed

    for package in ("starlette", "uvicorn", "prometheus_client", "PIL"):
        if not installed(package):
            raise MissingExtra(package, "modelctl serve", extra="serve")
    from modelctl.serve import TOKEN_VARIABLE, ServeError, ServeOptions, serve

    if not 0 <= port <= 65535:
        raise ServeError(f"invalid value for --port. Expected an integer from 0 to 65535. Received: {port}")
    if max_batch < 1:
        raise ServeError(f"invalid value for --max-batch. Expected an integer of at least 1. Received: {max_batch}")
    if batch_timeout_ms < 0:
        raise ServeError(f"invalid value for --batch-timeout-ms. Expected a number of at least 0. Received: "
                         f"{batch_timeout_ms:g}")
    if max_body_mb <= 0:
        raise ServeError(f"invalid value for --max-body-mb. Expected a number above 0. Received: {max_body_mb:g}")
    token = token or os.environ.get(TOKEN_VARIABLE) or None
    options = ServeOptions(max_batch=max_batch, batch_timeout_ms=batch_timeout_ms, token=token,
                           max_body_bytes=int(max_body_mb * 2**20))

    def ready(served, listening_host: str, listening_port: int) -> None:
        shown = f"[{listening_host}]" if ":" in listening_host else listening_host
        console.print(f"serving {served.name} version {served.version} ({served.backend}: {served.path})",
                      markup=False)
        console.print(f"  POST http://{shown}:{listening_port}/v1/models/{served.name}:predict", markup=False)
        console.print(f"  page http://{shown}:{listening_port}/{'?token=...' if token else ''}", markup=False)
        guard = "bearer token required" if token else "no token"
        console.print(f"listening on http://{shown}:{listening_port} ({guard}; SIGTERM or Ctrl-C stops it)",
                      markup=False)

    serve(target, backend=backend, name=name, options=options, host=host, port=port,
          workers=workers, on_ready=ready)
