"""Splitting a time range between rollup tables and raw rows.

A report over `[start, end)` is exact only if every event of the range is read once: the whole
weeks come from a weekly rollup (where one serves the report), the whole days left from a daily
one, the whole hours left at either end from an hourly one, and what remains (partial hours)
from the rows. `branches` returns one SELECT target per source, with its time condition over
the source's own time key; the caller writes one SELECT of partial aggregates per branch and
merges them (UNION ALL, then -Merge / sum). The rollup tables and why they are tables, not
projections: app/store/rollups.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any


class Granularity(Enum):
    """The width of a time-series bucket (weeks start on Monday, all in UTC)."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


_START_OF = {
    Granularity.HOUR: "toStartOfHour({t})",
    Granularity.DAY: "toStartOfDay({t})",
    Granularity.WEEK: "toDateTime(toStartOfWeek({t}, 1), 'UTC')",
}


def start_of(grain: Granularity, column: str) -> str:
    """The start of the period of `grain` (HOUR, DAY or WEEK) holding `column`, a DateTime."""
    return _START_OF[grain].format(t=column)


# What a rollup's `period` is of a row, per grain.
GRAIN_KEY = {grain: start_of(grain, "timestamp") for grain in _START_OF}


def floor_to(instant: datetime, granularity: Granularity) -> datetime:
    """The start of the bucket holding `instant`, in UTC."""
    hour = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if granularity is Granularity.HOUR:
        return hour
    day = hour.replace(hour=0)
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket_start(instant: datetime, granularity: Granularity) -> datetime:
    """The start of the bucket after the one starting at `instant`."""
    if granularity is Granularity.HOUR:
        return instant + timedelta(hours=1)
    if granularity is Granularity.DAY:
        return instant + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return instant + timedelta(weeks=1)
    if instant.month == 12:
        return instant.replace(year=instant.year + 1, month=1)
    return instant.replace(month=instant.month + 1)


def ceil_to(instant: datetime, granularity: Granularity) -> datetime:
    """The first bucket start at or after `instant`."""
    floor = floor_to(instant, granularity)
    return floor if floor == instant else next_bucket_start(floor, granularity)


@dataclass(frozen=True)
class PeriodTable:
    """A table of aggregates per period: its name and the grain of its `period` (HOUR, DAY or
    WEEK)."""

    name: str
    grain: Granularity


@dataclass(frozen=True)
class Branch:
    """One source of a report's range: read it with `condition` in the WHERE clause."""

    condition: str  # the branch's part of the range, over `time_key`
    time_key: str  # what buckets derive from: a rollup's `period`, or the hour of a row
    source: str  # the table to read
    rollup: str | None = None  # the rollup it reads; None for the rows


Interval = tuple[datetime, datetime]


def branches(
    table: str,
    start: datetime,
    end: datetime,
    rollups: Sequence[PeriodTable],
    params: dict[str, Any],
    *,
    cuts: Sequence[datetime] = (),
) -> list[Branch]:
    """The sources of `[start, end)`: at most one per rollup, plus the rows of `table`.

    `rollups` are tried coarsest first: each takes the whole periods of its grain not already
    taken. No piece of a rollup straddles an instant of `cuts` (e.g. the midpoint of an
    activity trend), so that a condition on `period` splits the range exactly there. Bounds
    are bound into `params` (as t0, t1, …). An empty range is one branch that reads nothing,
    so that callers always have a SELECT to write.
    """
    inside = sorted({c for c in cuts if start < c < end})
    intervals = list(zip([start, *inside], [*inside, end], strict=True))
    taken: dict[str, list[Interval]] = {}
    rows: list[Interval] = []
    for low, high in intervals:
        remaining = [(low, high)]
        for rollup in rollups:
            lower, upper = ceil_to(low, rollup.grain), floor_to(high, rollup.grain)
            if lower >= upper:
                continue
            pieces = taken.setdefault(rollup.name, [])
            left: list[Interval] = []
            for a, b in remaining:  # take the whole periods out of what is left
                cut_a, cut_b = max(a, lower), min(b, upper)
                if cut_a < cut_b:
                    pieces.append((cut_a, cut_b))
                    left += [(a, cut_a), (cut_b, b)]
                else:
                    left.append((a, b))
            remaining = [(a, b) for a, b in left if a < b]
        rows += remaining
    result = [
        Branch(
            condition=within("period", "DateTime('UTC')", taken[rollup.name], params),
            time_key="period",
            source=rollup.name,
            rollup=rollup.name,
        )
        for rollup in rollups
        if taken.get(rollup.name)
    ]
    if rows or not result:
        result.append(
            Branch(
                condition=within("timestamp", "DateTime64(3, 'UTC')", rows, params),
                time_key=GRAIN_KEY[Granularity.HOUR],
                source=table,
            )
        )
    return result


def within(column: str, type_: str, pieces: Sequence[Interval], params: dict[str, Any]) -> str:
    """`column` in any of the non-empty half-open `pieces`, bounds bound into `params`."""
    conditions = []
    for low, high in _coalesced(pieces):
        n = sum(1 for name in params if name.startswith("t") and name[1:].isdigit())
        params.update({f"t{n}": low, f"t{n + 1}": high})
        conditions.append(f"({column} >= {{t{n}:{type_}}} AND {column} < {{t{n + 1}:{type_}}})")
    return f"({' OR '.join(conditions)})" if conditions else "0"


def _coalesced(pieces: Sequence[Interval]) -> list[Interval]:
    """The non-empty pieces, sorted, adjacent ones joined."""
    joined: list[Interval] = []
    for low, high in sorted(p for p in pieces if p[0] < p[1]):
        if joined and joined[-1][1] == low:
            joined[-1] = (joined[-1][0], high)
        else:
            joined.append((low, high))
    return joined
