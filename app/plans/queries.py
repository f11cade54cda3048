"""ClickHouse usage figures of plans: events a month per workspace, of one workspace or of many
(set-based, for lists), and the UTC months they are counted over.

IMPORTANT: every query is scoped by workspace ids bound from the authenticated principal by the
caller (or the operator's list), never taken from user input. Ranges are half-open,
`[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from app.store.interface import AnalyticsStore
from app.store.time_split import Granularity, next_bucket_start


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
