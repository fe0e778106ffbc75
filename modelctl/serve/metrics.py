"""The server's Prometheus metrics, served at `/metrics` in Prometheus's text format (prometheus_client).

    modelctl_serve_requests_total{route="predict",status="200"}      requests answered, by route and status
    modelctl_serve_request_seconds_bucket{route="predict",le="..."}  latency histogram, by route
    modelctl_serve_batch_size_bucket{le="..."}                       examples per model call

Routes are named, not taken from the URL (`predict`, `classify`, `regress`,
`status`, `metadata`, `page`, `healthz`, `metrics`, `other`), so that a client
cannot grow the label set. Each server process (each of `--workers`) counts its
own requests.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, disable_created_metrics, \
    generate_latest

# The `_created` timestamp series double the output and no dashboard reads them.
disable_created_metrics()

LATENCY_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
"""Upper bounds of the latency histogram, in seconds."""


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

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def text(self) -> bytes:
        """Every metric in Prometheus's text format."""
        return generate_latest(self.registry)


__all__ = ["LATENCY_BUCKETS", "Metrics"]
