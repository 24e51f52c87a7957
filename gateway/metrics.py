"""The gateway's Prometheus metrics, served at ``GET /metrics`` beside TorchServe's own (its metrics
port): requests by route and status, their latency, the requests in flight, and PDF pages by where
their text came from.

Gunicorn runs several worker processes, and a scrape reaches one of them: when
``PROMETHEUS_MULTIPROC_DIR`` is set (``gateway/gunicorn.conf.py`` sets it) every process writes its
values there and ``/metrics`` adds them up. Without it (one process, as in the app's unit tests)
each app counts in a registry of its own.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: a line takes tens of milliseconds, a page about one second, a PDF up to its deadline.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class GatewayMetrics:
    """One app's metrics; ``render`` is what ``/metrics`` answers."""

    def __init__(self) -> None:
        self.shared = bool(os.environ.get(MULTIPROC_ENV))
        # Shared: values live in the multiprocess directory and no registry holds the metrics.
        registry = None if self.shared else CollectorRegistry()
        self._registry = registry
        self.requests = Counter(
            "ocr_gateway_requests",
            "Requests answered, by route and HTTP status.",
            ["route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "ocr_gateway_request_seconds",
            "Time from a request's arrival to its answer, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.in_flight = Gauge(
            "ocr_gateway_in_flight",
            "Requests being answered now (all processes together): the load to scale on.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.pdf_pages = Counter(
            "ocr_gateway_pdf_pages", "PDF pages answered, by where their text came from.", ["source"], registry=registry
        )

    def render(self) -> bytes:
        """The Prometheus text exposition of every process's values."""
        if self.shared:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self._registry)
