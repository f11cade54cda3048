"""Read-side ClickHouse queries for the dashboard: set-based, one statement per breakdown.

IMPORTANT: every query is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller and never taken from user input; filters are bound
parameters too. The only SQL text chosen at run time comes from which optional filters are
present.

The AI cost reports live in `app.analytics.ai_cost` (re-exported here).
Ranges are half-open, `[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from app.analytics.ai_cost import (
    COST_QUANTUM,
    MAX_SERIES_POINTS,
    AiCostFigures,
    AiCostPoint,
    AiCostRow,
    AiScope,
    Breakdown,
    EditRatioBucket,
    Granularity,
    LatencyPercentiles,
    ai_cost_breakdown,
    ai_cost_series,
    ai_cost_totals,
    ai_latency,
    bucket_starts,
    edit_ratio_distribution,
    next_bucket_start,
)
from app.analytics.store import AnalyticsStore

__all__ = [
    "COST_QUANTUM",
    "MAX_SERIES_POINTS",
    "AiCostFigures",
    "AiCostPoint",
    "AiCostRow",
    "AiScope",
    "Breakdown",
    "EditRatioBucket",
    "Granularity",
    "LatencyPercentiles",
    "StoredEvent",
    "ai_cost_breakdown",
    "ai_cost_series",
    "ai_cost_totals",
    "ai_latency",
    "bucket_starts",
    "count_events",
    "edit_ratio_distribution",
    "list_events",
    "month_start",
    "next_month_start",
]


@dataclass(frozen=True)
class StoredEvent:
    """An event of the `events` table as the event stream shows it."""

    event_id: str
    event: str
    timestamp: datetime
    received_at: datetime
    app_id: UUID
    environment: str
    customer_org_id: str
    user_hash: str
    properties: dict[str, Any]
    ai_cost_status: str
    ai_pricing_source: str
    ai_canonical_model_key: str
    estimated_cost_eur: Decimal | None


def count_events(
    store: AnalyticsStore, *, workspace_id: UUID, start: datetime, end: datetime
) -> int:
    """How many events of the workspace have a timestamp in `[start, end)`."""
    rows = store.query(
        "SELECT count() AS n FROM events WHERE workspace_id = {workspace_id:UUID}"
        " AND timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}",
        {"workspace_id": workspace_id, "start": start, "end": end},
    )
    return int(rows[0]["n"])


def month_start(instant: datetime) -> datetime:
    """The first instant of the UTC month of `instant`."""
    return instant.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(instant: datetime) -> datetime:
    return next_bucket_start(month_start(instant), Granularity.MONTH)


def list_events(
    store: AnalyticsStore,
    *,
    workspace_id: UUID,
    limit: int,
    app_id: UUID | None = None,
    environment: str | None = None,
    event: str | None = None,
    customer_org_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[StoredEvent]:
    """The workspace's events, newest first (ties broken by event id for a stable order)."""
    sql = "SELECT * FROM events WHERE workspace_id = {workspace_id:UUID}"
    params: dict[str, Any] = {"workspace_id": workspace_id, "limit": limit}
    filters: list[tuple[str, str, Any]] = [
        ("app_id = {app_id:UUID}", "app_id", app_id),
        ("environment = {environment:String}", "environment", environment),
        ("event = {event:String}", "event", event),
        ("customer_org_id = {customer_org_id:String}", "customer_org_id", customer_org_id),
        ("timestamp >= {start:DateTime64(3, 'UTC')}", "start", start),
        ("timestamp < {end:DateTime64(3, 'UTC')}", "end", end),
    ]
    for clause, name, value in filters:
        if value is not None:
            sql += f" AND {clause}"
            params[name] = value
    sql += " ORDER BY timestamp DESC, event_id DESC LIMIT {limit:UInt32}"
    return [_stored_event(row) for row in store.query(sql, params)]


def _stored_event(row: Mapping[str, Any]) -> StoredEvent:
    properties = orjson.loads(row["properties"]) if row["properties"] else {}
    return StoredEvent(
        event_id=row["event_id"],
        event=row["event"],
        timestamp=row["timestamp"],
        received_at=row["received_at"],
        app_id=UUID(str(row["app_id"])),
        environment=row["environment"],
        customer_org_id=row["customer_org_id"],
        user_hash=row["user_hash"],
        properties=properties if isinstance(properties, dict) else {},
        ai_cost_status=row["ai_cost_status"],
        ai_pricing_source=row["ai_pricing_source"],
        ai_canonical_model_key=row["ai_canonical_model_key"],
        estimated_cost_eur=row["estimated_cost_eur"],
    )
