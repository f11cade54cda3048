"""Time-range arguments shared by the analytics fields: UTC, half-open `[from, to)`."""

from __future__ import annotations

from datetime import datetime, timedelta

from app.db import as_utc, utcnow
from app.errors import BadUserInput

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
