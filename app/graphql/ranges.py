"""Time-range arguments shared by the analytics fields: UTC, half-open `[from, to)`.

Resolvers that read raw data build their ranges with `retained_range` /
`retained_optional_range`, which also clamp them to the workspace's retention.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from app.accounts.retention import clamp_optional_range, clamp_range, workspace_retention_start
from app.db import as_utc, utcnow
from app.errors import BadUserInput
from app.graphql.context import Context

DEFAULT_WINDOW = timedelta(days=30)


def resolve_range(
    start: datetime | None, end: datetime | None, *, default_window: timedelta = DEFAULT_WINDOW
) -> tuple[datetime, datetime]:
    """`[from, to)` in UTC (a datetime without offset is read as UTC). Defaults: `to` now,
    `from` `default_window` before `to`."""
    end_utc = as_utc(end) if end is not None else utcnow()
    start_utc = as_utc(start) if start is not None else end_utc - default_window
    if start_utc >= end_utc:
        raise BadUserInput("'from' must be before 'to'.", field="from")
    return start_utc, end_utc


def optional_range(
    start: datetime | None, end: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """Either bound may be absent (the event stream); when both are given, `from` < `to`."""
    start_utc = as_utc(start) if start is not None else None
    end_utc = as_utc(end) if end is not None else None
    if start_utc is not None and end_utc is not None and start_utc >= end_utc:
        raise BadUserInput("'from' must be before 'to'.", field="from")
    return start_utc, end_utc


# --- retention: the clamp every analytics read of raw data goes through -------------------------


async def retention_floor(context: Context, workspace_id: UUID) -> datetime:
    """The workspace's retention start (plan or override), read once per request."""

    async def load() -> datetime:
        return await context.read(
            lambda session: workspace_retention_start(session, workspace_id=workspace_id)
        )

    return await context.once(("retention_start", workspace_id), load)


async def retained_range(
    context: Context,
    workspace_id: UUID,
    start: datetime | None,
    end: datetime | None,
    *,
    default_window: timedelta = DEFAULT_WINDOW,
) -> tuple[datetime, datetime]:
    """`resolve_range`, then clamped to the workspace's retention: data older than the
    retention is never shown, even before the purge has deleted it. A range wholly before
    the retention start is empty (not an error)."""
    resolved_start, resolved_end = resolve_range(start, end, default_window=default_window)
    not_before = await retention_floor(context, workspace_id)
    return clamp_range(resolved_start, resolved_end, not_before=not_before)


async def retained_optional_range(
    context: Context, workspace_id: UUID, start: datetime | None, end: datetime | None
) -> tuple[datetime, datetime | None]:
    """`optional_range`, then clamped to the retention (an absent `from` becomes its start)."""
    checked_start, checked_end = optional_range(start, end)
    not_before = await retention_floor(context, workspace_id)
    return clamp_optional_range(checked_start, checked_end, not_before=not_before)
