"""ClickHouse usage figures of plans: events a month per workspace (set-based, for lists)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from app.analytics.store import AnalyticsStore


def events_by_workspace(
    store: AnalyticsStore, *, workspace_ids: Sequence[UUID], start: datetime, end: datetime
) -> dict[UUID, int]:
    """How many events each workspace has with a timestamp in `[start, end)`, in one query
    (workspaces without any are absent)."""
    if not workspace_ids:
        return {}
    rows = store.query(
        "SELECT workspace_id, count() AS n FROM events"
        " WHERE workspace_id IN {ids:Array(UUID)}"
        " AND timestamp >= {start:DateTime64(3, 'UTC')} AND timestamp < {end:DateTime64(3, 'UTC')}"
        " GROUP BY workspace_id",
        {"ids": sorted(set(workspace_ids)), "start": start, "end": end},
    )
    return {UUID(str(row["workspace_id"])): int(row["n"]) for row in rows}
