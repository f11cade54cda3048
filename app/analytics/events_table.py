"""The row of the `events` table as it travels through the queue, and its insert form.

Queued rows are plain JSON (strings, numbers, null) so that every queue backend can carry them;
`to_insert_row` turns one into typed Python values for the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

EVENTS_TABLE = "events"
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
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def to_insert_row(row: QueuedRow) -> dict[str, Any]:
    cost = row["estimated_cost_eur"]
    return {
        **row,
        "workspace_id": UUID(row["workspace_id"]),
        "app_id": UUID(row["app_id"]),
        "timestamp": parse_timestamp(row["timestamp"]),
        "received_at": parse_timestamp(row["received_at"]),
        "estimated_cost_eur": None if cost is None else Decimal(cost),
    }


def row_key(row: QueuedRow) -> tuple[str, str]:
    """Events are unique by (app, event_id)."""
    return row["app_id"], row["event_id"]
