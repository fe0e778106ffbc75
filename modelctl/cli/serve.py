"""`modelctl serve`: check the options, run the server until SIGTERM, and say where it listens."""

from __future__ import annotations

import os

LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
"""The `Host` header values taken by default from a server listening on an IPv4 loopback address."""


def run_serve(target: str, *, backend: str, name: str | None, host: str, port: int, max_batch: int,
              batch_timeout_ms: float, workers: int, token: str | None, max_body_mb: float, max_rows: int,
              max_pixels: int | None, max_queue: int, timeout_ms: float, decode_processes: int, threads: int,
              response: str, version_labels: list[str], allowed_hosts: list[str], cors_origins: list[str],
              max_connections: int, header_timeout: float, grace_seconds: float, console) -> None:
    """Serve `target` (see `modelctl.serve.serve`) and print its address once it listens.

    Raises:
        MissingExtra: a package of the `serve` extra is not installed.
        ServeError: a bad option or target, or an address that cannot be listened on.
    """
    from modelctl.util.lazy import SERVE_EXTRA, SERVE_PACKAGES, MissingExtra, installed

    for package in SERVE_PACKAGES:
        if not installed(package):
            raise MissingExtra(package, "modelctl serve", extra=SERVE_EXTRA)
    from modelctl.serve import TOKEN_VARIABLE, Connections, ServeError, ServeOptions, serve
    from modelctl.serve.model import check_name
    from modelctl.serve.server import is_loopback

    if not 0 <= port <= 65535:
        raise ServeError(f"invalid value for --port. Expected an integer from 0 to 65535. Received: {port}")
    if batch_timeout_ms < 0:
        raise ServeError(f"invalid value for --batch-timeout-ms. Expected a number of at least 0. Received: "
                         f"{batch_timeout_ms:g}")
    for option, value in (("--max-body-mb", max_body_mb), ("--header-timeout", header_timeout),
                          ("--grace-seconds", grace_seconds)):
        if value <= 0:
            raise ServeError(f"invalid value for {option}. Expected a number above 0. Received: {value:g}")
    if max_connections < 1:
        raise ServeError(f"invalid value for --max-connections. Expected an integer of at least 1. Received: "
                         f"{max_connections}")
    if name is not None:
        check_name(name)
    token = token or os.environ.get(TOKEN_VARIABLE) or None
    hosts = _split(allowed_hosts)
    if not hosts and is_loopback(host):  # against DNS rebinding, the default for this machine
        hosts = list(dict.fromkeys([*LOOPBACK_HOSTS, f"[{host}]" if ":" in host else host]))
    options = ServeOptions(max_batch=max_batch, batch_timeout_ms=batch_timeout_ms, token=token,
                           max_body_bytes=int(max_body_mb * 2**20), max_rows=max_rows, max_pixels=max_pixels,
                           max_queue=max_queue, timeout_ms=timeout_ms, decode_processes=decode_processes,
                           threads=threads, response=response, version_labels=_labels(version_labels),
                           allowed_hosts=tuple(hosts) if hosts and "*" not in hosts else None,
                           cors_origins=tuple(_split(cors_origins)))
    connections = Connections(max_connections=max_connections, header_timeout=header_timeout,
                              grace_seconds=grace_seconds)
    if not is_loopback(host) and token is None:
        console.print(f"warning: listening on {host} without a token: anyone who can reach this port can use the "
                      f"model; set --token or ${TOKEN_VARIABLE}", markup=False)

    def ready(served, listening_host: str, listening_port: int) -> None:
        shown = f"[{listening_host}]" if ":" in listening_host else listening_host
        console.print(f"serving {served.name} version {served.version} ({served.backend}: {served.path})",
                      markup=False)
        console.print(f"  POST http://{shown}:{listening_port}/v1/models/{served.name}:predict", markup=False)
        console.print(f"  page http://{shown}:{listening_port}/{'?token=...' if token else ''}", markup=False)
        guard = "bearer token required" if token else "no token"
        console.print(f"listening on http://{shown}:{listening_port} ({guard}; SIGTERM or Ctrl-C stops it)",
                      markup=False)

    serve(target, backend=backend, name=name, options=options, connections=connections, host=host, port=port,
          workers=workers, on_ready=ready)


def _split(values: list[str]) -> list[str]:
    """Values given as repeated options, comma-separated, or both."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def _labels(values: list[str]) -> dict[str, int]:
    """`stable=1,canary=2` (or repeated) as label -> version.

    Raises:
        ServeError: an item that is not LABEL=VERSION with a whole-number version.
    """
    from modelctl.serve import ServeError

    labels = {}
    for item in _split(values):
        label, equals, version = item.partition("=")
        if not equals or not label.strip() or not version.strip().isdigit():
            raise ServeError(f"invalid value for --version-labels. Expected LABEL=VERSION, such as stable=1. "
                             f"Received: {item!r}")
        labels[label.strip()] = int(version)
    return labels
