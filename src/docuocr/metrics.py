"""Prometheus metrics for `GET /metrics`, on a registry each app owns (so two apps in one process,
as in the tests, never clash).

Everything is counted in the server process: the requests, the admission decisions and the pool's
futures all live there, and an OCR worker only sends back its Document and how long it ran. So
prometheus-client's multiprocess mode (a PROMETHEUS_MULTIPROC_DIR of files written by every
process) is not needed, and a worker that crashes or is replaced takes no counts with it.

Labels hold only values the server chose, never anything a client sent: route templates rather
than paths (an unknown path is `unmatched`), status codes, the sniffed document kind and fixed
reasons. No API key, file name, request id or client address can reach the output.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

from docuocr.intake.sniff import MIME

__all__ = ["CONTENT_TYPE_LATEST", "UNMATCHED", "Metrics"]

UNMATCHED = "unmatched"  # the endpoint label of a path no route serves
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A small page takes about a second, a full one several; the request timeout is 180 s.
REQUEST_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 180, 300)
PAGE_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120)
REJECT_REASONS = ("rate_limit", "queue_full", "queue_time")
RESTART_REASONS = ("crash", "max_tasks")


class _JobStates:
    """`docuocr_async_jobs{state}`, read from the job store at scrape time: the store is the
    truth (it outlives restarts and is shared by the servers on one data dir)."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self.counts = counts

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "docuocr_async_jobs", "Async OCR jobs kept in the store, by state", labels=["state"]
        )

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for state, n in sorted(self.counts().items()):
            family.add_metric([state], n)
        yield family


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        ProcessCollector(registry=r)  # the server process's CPU, memory and open files
        self.requests = Counter(
            "docuocr_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["endpoint", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "docuocr_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template",
            ["endpoint"],
            buckets=REQUEST_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "docuocr_http_requests_in_flight", "HTTP requests being answered now", registry=r
        )
        self.pages = Counter(
            "docuocr_pages", "Pages read by OCR, by input format", ["format"], registry=r
        )
        self.page_seconds = Histogram(
            "docuocr_ocr_page_seconds",
            "Worker seconds per page read (a job's time, decoding included, over its pages)",
            buckets=PAGE_BUCKETS,
            registry=r,
        )
        self.rejected = Counter(
            "docuocr_too_many_requests",
            "429 answers, by reason: rate_limit (the key's rate), queue_full (workers and queue "
            "taken), queue_time (the queued work would not finish within the request timeout)",
            ["reason"],
            registry=r,
        )
        self.restarts = Counter(
            "docuocr_worker_restarts",
            "Times the OCR worker pool was replaced, by reason: crash or max_tasks",
            ["reason"],
            registry=r,
        )
        self.queue_depth = Gauge(
            "docuocr_pool_queue_depth", "OCR jobs waiting for a free worker", registry=r
        )
        self.admitted = Gauge(
            "docuocr_pool_admitted",
            "OCR requests holding an admission place (at most docuocr_pool_capacity)",
            registry=r,
        )
        self.capacity = Gauge(
            "docuocr_pool_capacity", "Admission places: workers plus queue", registry=r
        )
        self.workers = Gauge("docuocr_pool_workers", "OCR worker processes", registry=r)
        self.ready = Gauge(
            "docuocr_ready", "1 when every worker has its models loaded, as GET /ready", registry=r
        )
        # Every series exists from the start, at 0, so rate() and increase() see the first one.
        for kind in MIME:
            self.pages.labels(kind)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        for reason in RESTART_REASONS:
            self.restarts.labels(reason)

    def request_done(self, endpoint: str, method: str, status: int, seconds: float) -> None:
        """`endpoint` is a route template or UNMATCHED, never a raw path."""
        method = method if method in METHODS else "other"
        self.requests.labels(endpoint, method, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def pages_read(self, kind: str, pages: int, seconds: float) -> None:
        """One OCR job: `pages` pages of a `kind` document in `seconds` of worker time."""
        if pages <= 0:
            return
        self.pages.labels(kind if kind in MIME else "unknown").inc(pages)
        for _ in range(pages):
            self.page_seconds.observe(seconds / pages)

    def watch_jobs(self, counts: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_JobStates(counts))

    def render(self) -> bytes:
        return generate_latest(self.registry)
