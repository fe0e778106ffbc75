"""The server's Prometheus metrics, served at `/metrics` in Prometheus's text format (prometheus_client).

    modelctl_serve_requests_total{route="predict",status="200"}      requests answered, by route and status
    modelctl_serve_request_seconds_bucket{route="predict",le="..."}  latency histogram, by route
    modelctl_serve_batch_size_bucket{le="..."}                       examples per model call
    modelctl_serve_requests_in_progress                              model requests admitted and not yet answered

Routes are named, not taken from the URL (`predict`, `classify`, `regress`,
`status`, `metadata`, `page`, `healthz`, `metrics`, `other`), so that a client
cannot grow the label set. A request shed for load is counted with status 503,
one whose client left before its body arrived with 499 (as nginx counts it).

With `--workers N`, the processes share one set of metrics: prometheus_client's
multiprocess mode, whose folder `MULTIPROCESS_VARIABLE` names (the server sets
it before starting the workers). Each process writes its values there, and a
scrape, whichever worker answers it, reads them all; a worker that ends is
marked dead so that its in-progress gauge no longer counts.
"""

from __future__ import annotations

import os

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, \
    disable_created_metrics, generate_latest

# The `_created` timestamp series double the output and no dashboard reads them.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
"""Upper bounds of the latency histogram, in seconds."""

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's variable naming the folder of multiprocess mode; read when it is first imported."""


class Metrics:
    """The metrics of one server (their own registry, so that servers in one process do not mix).

    Args:
        max_batch: the largest batch; the batch size histogram's buckets are the powers of 2 up to it.
    """

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, max_batch: int = 64):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("modelctl_serve_requests", "Requests answered, by route and HTTP status.",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("modelctl_serve_request_seconds", "Seconds from a request's start to its answer, "
                                 "by route.", ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        buckets = sorted({*(2 ** power for power in range(max_batch.bit_length()) if 2 ** power <= max_batch),
                          max_batch})
        self.batch_size = Histogram("modelctl_serve_batch_size", "Examples per model call.",
                                    buckets=[float(bound) for bound in buckets], registry=self.registry)
        self._children: dict[tuple[str, int], tuple] = {}
        self.in_progress = Gauge("modelctl_serve_requests_in_progress", "Model requests admitted and not yet "
                                 "answered.", registry=self.registry, multiprocess_mode="livesum")

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        key = (route, status)
        children = self._children.get(key)
        if children is None:  # looked up once per route and status: `labels()` costs more than counting
            children = self._children[key] = (self.requests.labels(route, str(status)), self.latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)

    def text(self) -> bytes:
        """Every metric in Prometheus's text format: this process's, or in multiprocess mode every worker's."""
        if not multiprocess():
            return generate_latest(self.registry)
        from prometheus_client import multiprocess as shared

        registry = CollectorRegistry()
        shared.MultiProcessCollector(registry)
        return generate_latest(registry)


def multiprocess() -> bool:
    """Whether the metrics are shared by several processes (`MULTIPROCESS_VARIABLE` is set)."""
    return bool(os.environ.get(MULTIPROCESS_VARIABLE))


def process_ended(pid: int | None = None) -> None:
    """Mark this process (or `pid`) dead in multiprocess mode, so that its live gauges stop counting."""
    if multiprocess():
        from prometheus_client import multiprocess as shared

        shared.mark_process_dead(pid if pid is not None else os.getpid())


__all__ = ["LATENCY_BUCKETS", "MULTIPROCESS_VARIABLE", "Metrics", "multiprocess", "process_ended"]
