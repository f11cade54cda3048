"""Raw-data retention: the one definition of "too old to show", shared by reads and the purge.

A workspace keeps raw events for `retention_days` (its plan's, or its subscription's override).
Reads clamp their ranges to `retention_start` at once; the periodic purge
(`app.workers.retention`) deletes what lies before the same instant, a little later.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlmodel import Session

from app.accounts.service import get_workspace
from app.db import as_utc, utcnow
from app.plans.service import Limits, limits_for


def _to_millisecond(instant: datetime) -> datetime:
    # ClickHouse timestamps are DateTime64(3): the boundary must be one they can hold exactly.
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def retention_start(limits: Limits | int, now: datetime) -> datetime:
    """The oldest instant whose raw data is kept: `now` minus the retention days (UTC,
    millisecond precision). Events strictly before it are no longer shown nor kept."""
    days = limits if isinstance(limits, int) else limits.retention_days
    return _to_millisecond(as_utc(now) - timedelta(days=days))


def workspace_retention_start(
    session: Session, *, workspace_id: UUID, now: datetime | None = None
) -> datetime:
    """`retention_start` of the workspace's limits (plan and overrides)."""
    workspace = get_workspace(session, workspace_id)
    return retention_start(limits_for(session, workspace), now or utcnow())


def clamp_range(
    start: datetime, end: datetime, *, not_before: datetime
) -> tuple[datetime, datetime]:
    """`[start, end)` without what lies before `not_before`. A range wholly before it becomes
    the empty range `[not_before, not_before)`, so that queries answer nothing rather than an
    error: the caller asked a valid question whose data has expired."""
    clamped_start = max(start, not_before)
    return clamped_start, max(end, clamped_start)


def clamp_optional_range(
    start: datetime | None, end: datetime | None, *, not_before: datetime
) -> tuple[datetime, datetime | None]:
    """The same for ranges with optional bounds (the event stream): an absent `start` becomes
    `not_before`; an absent `end` stays open."""
    clamped_start = not_before if start is None else max(start, not_before)
    if end is None:
        return clamped_start, None
    return clamped_start, max(end, clamped_start)
