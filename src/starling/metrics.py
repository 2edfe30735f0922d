"""Prometheus metrics of the server: one module holds every metric object.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before the
workers start (and empty it again on every start): each process then writes its samples there and
``/metrics`` on any worker sums them all. Gauges say how they combine across processes.

The job runner reports each finished job with :func:`observe_job_done`; the fan-out lag is that
latency for ``fan_out_status`` jobs, which are written in the same transaction as the status.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from starling.models.base import utcnow

CONTENT_TYPE = CONTENT_TYPE_LATEST

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)

HTTP_REQUESTS = Counter(
    "starling_http_requests_total",
    "HTTP requests answered, by route template and status class.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "starling_http_request_duration_seconds",
    "Time from receiving a request to the end of its response, by route template and status class.",
    ["method", "route", "status"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "starling_http_requests_in_flight",
    "Requests being handled now (admitted or waiting).",
    multiprocess_mode="livesum",
)
ADMITTED_IN_FLIGHT = Gauge(
    "starling_admission_in_flight",
    "Requests holding an admission slot now.",
    multiprocess_mode="livesum",
)
ADMISSION_QUEUED = Gauge(
    "starling_admission_queued",
    "Requests waiting for an admission slot, by priority.",
    ["priority"],
    multiprocess_mode="livesum",
)
ADMISSION_WAIT = Histogram(
    "starling_admission_wait_seconds",
    "Time admitted requests waited for a slot, by priority.",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ADMISSION_ENTRY_DELAY = Histogram(
    "starling_admission_entry_delay_seconds",
    "Time from a request's arrival (its connection accepted) to the admission decision, by priority: "
    "time spent waiting for a busy event loop.",
    ["priority"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
SHED = Counter(
    "starling_requests_shed_total",
    "Requests refused with 503 because the server was busy, by priority and reason.",
    ["priority", "reason"],
)
STALE_SERVED = Counter(
    "starling_stale_responses_total",
    "Anonymous reads answered from the stale cache instead of being shed.",
)
RATE_LIMITED = Counter(
    "starling_rate_limited_total",
    "Requests refused with 429, by the limit they exceeded.",
    ["rule"],
)
RATELIMIT_STORE_ERRORS = Counter(
    "starling_ratelimit_store_errors_total",
    "Failures of the shared rate-limit store (Redis); the process counted locally instead.",
)
_LOCK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
WRITE_GATE_WAIT = Histogram(
    "starling_db_write_gate_wait_seconds",
    "SQLite: time a write transaction waited for the write gate (another transaction was writing).",
    buckets=_LOCK_BUCKETS,
)
WRITE_GATE_HELD = Histogram(
    "starling_db_write_gate_held_seconds",
    "SQLite: time a write transaction held the write gate, from taking it to its end: how long it kept "
    "every other writer waiting.",
    buckets=_LOCK_BUCKETS,
)
JOB_LATENCY = Histogram(
    "starling_job_latency_seconds",
    "Time from a job's creation to its successful completion, by kind (fan_out_status: the fan-out lag).",
    ["kind"],
    buckets=_JOB_BUCKETS,
)


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def observe_job_done(kind: str, created_at: datetime, finished_at: datetime | None = None) -> None:
    """Called by the job runner after a job's transaction committed."""
    finished = finished_at or utcnow()
    JOB_LATENCY.labels(kind=kind).observe(max(0.0, (finished - created_at).total_seconds()))


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


class _Snapshot:
    """A collector for values read at scrape time (job queue figures), exposed once."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self.families


def render(extra: Iterable[Metric] = ()) -> bytes:
    """The exposition text: this process's metrics (or every worker's, in multiprocess mode) and ``extra``."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    families = list(extra)
    if families:
        snapshot = CollectorRegistry()
        snapshot.register(_Snapshot(families))
        body += generate_latest(snapshot)
    return body
