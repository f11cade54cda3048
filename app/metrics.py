"""Prometheus metrics, exposed at GET /metrics by every API process.

Labels are closed sets only (statuses, reasons): model strings come from clients and would make
the label cardinality unbounded, so unknown models are a plain counter here and listed by name
in the admin's unmapped-models view.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

INGEST_REQUESTS = Counter(
    "saas_tracker_ingest_requests_total", "Ingest requests by HTTP status.", ["status"]
)
EVENTS_ACCEPTED = Counter("saas_tracker_events_accepted_total", "Events answered 202.")
EVENTS_REJECTED = Counter(
    "saas_tracker_events_rejected_total",
    "Requests refused, by reason (each may carry several events).",
    ["reason"],
)
UNKNOWN_MODEL_EVENTS = Counter(
    "saas_tracker_unknown_model_events_total", "AI events whose (provider, model) did not map."
)
BATCH_ROWS = Histogram(
    "saas_tracker_batch_rows",
    "Rows per ClickHouse insert.",
    buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000),
)
INSERT_SECONDS = Histogram("saas_tracker_insert_seconds", "Duration of one ClickHouse insert.")
ROWS_WRITTEN = Counter("saas_tracker_rows_written_total", "Events written to ClickHouse.")
DUPLICATES_SKIPPED = Counter(
    "saas_tracker_duplicates_skipped_total", "Events already stored (retries, repeated event_id)."
)
DEAD_LETTERS = Counter("saas_tracker_dead_letters_total", "Events parked in the dead-letter table.")
WRITE_LOCK_WAITS = Gauge(
    "saas_tracker_write_lock_waits",
    "Batches waiting for a workspace's write lock that another worker process holds.",
)
QUEUE_DEPTH = Gauge("saas_tracker_queue_depth", "Events (embedded) or messages (Redis) waiting.")
WRITE_FAILURES = Counter(
    "saas_tracker_write_failures_total", "Batches that could not be written (they stay queued)."
)
WRITE_FAILING = Gauge("saas_tracker_write_failing", "1 while the last attempt to write failed.")
QUEUE_STALLED = Gauge(
    "saas_tracker_queue_stalled_seconds",
    "How long events have been queued with no batch written (0 while the queue is empty).",
)
INGEST_LAG = Gauge(
    "saas_tracker_ingest_lag_seconds",
    "From the ingest (202) of the oldest event of the last batch written to its being visible.",
)
DATA_FREE_BYTES = Gauge("saas_tracker_data_free_bytes", "Free space on the data disk.")


def track_queue_depth(read: Callable[[], float]) -> None:
    QUEUE_DEPTH.set_function(read)


def track_writing(stalled: Callable[[], float], free_bytes: Callable[[], float]) -> None:
    QUEUE_STALLED.set_function(stalled)
    DATA_FREE_BYTES.set_function(free_bytes)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
