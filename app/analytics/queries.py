"""Read-side ClickHouse queries for the dashboard: set-based, one statement per breakdown.

IMPORTANT: every query is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller and never taken from user input; filters are bound
parameters too. The only SQL text chosen at run time comes from which optional filters are
present.

The AI cost reports live in `app.analytics.ai_cost` (re-exported here).
Ranges are half-open, `[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from app.analytics.ai_cost import (
    COST_QUANTUM,
    MAX_SERIES_POINTS,
    AiCostFigures,
    AiCostPoint,
    AiCostRow,
    AiScope,
    Breakdown,
    EditRatioBucket,
    LatencyPercentiles,
    ai_cost_breakdown,
    ai_cost_series,
    ai_cost_totals,
    ai_latency,
    bucket_count,
    bucket_starts,
    edit_ratio_distribution,
)
from app.analytics.store import AnalyticsStore
from app.analytics.time_split import Granularity, next_bucket_start

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
    "ai_cost_breakdown",
    "ai_cost_series",
    "ai_cost_totals",
    "ai_latency",
    "bucket_count",
    "bucket_starts",
    "count_events",
    "edit_ratio_distribution",
    "month_start",
    "next_month_start",
]


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
