"""The event as it flows from ingest through pricing and the queue to the workers: the validated
`IncomingEvent` that pricing prices, and the `QueuedRow` (a row of the `events` table in its
queue form) that ingest enqueues and the queues, the live hub and the workers carry.

A neutral module: ingest, pricing, the queues, the workers and the store all import it, and it
imports nothing of theirs. Queued rows are plain JSON (strings, numbers, null) so that every
queue backend can carry them; the store's insert form is app/store/events_table.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

AI_CALL_COMPLETED = "ai_call_completed"
AI_CALL_FAILED = "ai_call_failed"
AI_OUTPUT_EVENTS = ("ai_output_accepted", "ai_output_rejected", "ai_output_edited")
AI_EVENTS = (AI_CALL_COMPLETED, AI_CALL_FAILED, *AI_OUTPUT_EVENTS)


@dataclass(slots=True)
class IncomingEvent:
    """One event as it will be priced and stored.

    `properties` is flattened (`properties.ai.*` lifted), stripped of prompts and transcripts,
    and normalised: token counts are ints, money amounts are `Decimal`, `success` is a bool.
    """

    event: str
    event_id: str
    timestamp: datetime
    environment: str
    customer_org_id: str
    user_hash: str
    properties: dict[str, Any]


EVENT_COLUMNS: tuple[str, ...] = (
    "workspace_id",
    "app_id",
    "event_id",
    "event",
    "timestamp",
    "received_at",
    "environment",
    "customer_org_id",
    "user_hash",
    "properties",
    "ai_cost_status",
    "ai_pricing_source",
    "ai_canonical_model_key",
    "estimated_cost_eur",
)

QueuedRow = dict[str, Any]


def format_timestamp(value: datetime) -> str:
    # isoformat is several times faster than strftime, and this runs twice per event.
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)
