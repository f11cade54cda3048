"""Read-side ClickHouse queries for the dashboard: set-based, one statement per breakdown.

IMPORTANT: every query is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller and never taken from user input; filters are bound
parameters too. The only SQL text chosen at run time comes from the closed whitelists below
(`_BREAKDOWN_KEYS`, `_BUCKETS`) and from which optional filters are present.

Ranges are half-open, `[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Any
from uuid import UUID

import orjson

from app.analytics.store import AnalyticsStore
from app.errors import BadUserInput

# A cost in the `Decimal(38, 12)` columns has 12 decimals; derived amounts are rounded to the same.
COST_QUANTUM = Decimal("0.000000000001")
# Output events are attributed to calls made up to this long before the start of the range: a
# suggestion accepted just after midnight still belongs to the call of the evening before.
CALL_LOOKBACK = timedelta(days=7)
# A time series with more points than this is refused: the caller picks a coarser granularity.
MAX_SERIES_POINTS = 2000
EDIT_RATIO_BUCKETS = 10

_CALL_EVENTS = "('ai_call_completed', 'ai_call_failed')"
_OUTPUT_EVENTS = "('ai_output_accepted', 'ai_output_rejected', 'ai_output_edited')"
_AI_EVENTS = (
    "('ai_call_completed', 'ai_call_failed', "
    "'ai_output_accepted', 'ai_output_rejected', 'ai_output_edited')"
)


class Breakdown(Enum):
    """A dimension of the AI cost report."""

    CUSTOMER = "customer"
    FEATURE = "feature"
    MODEL = "model"
    PROVIDER = "provider"
    PLAN = "plan"
    ENVIRONMENT = "environment"
    APP = "app"


class Granularity(Enum):
    """The width of a time-series bucket (weeks start on Monday, all in UTC)."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The dimension value of an `ai_usage_events` row. MODEL is the canonical catalog key when
# ingest resolved one (so aliases of one model group together), else "provider/model" as sent.
_BREAKDOWN_KEYS: Mapping[Breakdown, str] = {
    Breakdown.CUSTOMER: "customer_org_id",
    Breakdown.FEATURE: "toString(feature)",
    Breakdown.MODEL: (
        "multiIf(ai_canonical_model_key != '', toString(ai_canonical_model_key), "
        "provider != '' OR model != '', concat(provider, '/', model), '')"
    ),
    Breakdown.PROVIDER: "toString(provider)",
    Breakdown.PLAN: "toString(customer_plan)",
    Breakdown.ENVIRONMENT: "toString(environment)",
    Breakdown.APP: "toString(app_id)",
}

_BUCKETS: Mapping[Granularity, str] = {
    Granularity.HOUR: "toDateTime64(toStartOfHour(timestamp), 3, 'UTC')",
    Granularity.DAY: "toDateTime64(toStartOfDay(timestamp), 3, 'UTC')",
    Granularity.WEEK: "toDateTime64(toStartOfWeek(timestamp, 1), 3, 'UTC')",
    Granularity.MONTH: "toDateTime64(toStartOfMonth(timestamp), 3, 'UTC')",
}

# The figures of one row of the report, over `ai_usage_events`-shaped columns named event, cost,
# input_tokens and output_tokens. Failed calls that reported usage were paid for, so their known
# cost and tokens count; only completed calls can have an "unknown" cost, since failed calls
# without usage are not costed by design (CONTRACT §3).
_FIGURES = f"""
    sumIf(assumeNotNull(cost), event IN {_CALL_EVENTS} AND cost IS NOT NULL) AS known_cost,
    countIf(event IN {_CALL_EVENTS} AND cost IS NOT NULL) AS costed_events,
    countIf(event = 'ai_call_completed') AS calls,
    countIf(event = 'ai_call_completed' AND cost IS NULL) AS calls_with_unknown_cost,
    countIf(event = 'ai_call_failed') AS failed_calls,
    sumIf(input_tokens, event IN {_CALL_EVENTS}) AS input_tokens_sum,
    sumIf(output_tokens, event IN {_CALL_EVENTS}) AS output_tokens_sum,
    countIf(event = 'ai_output_accepted') AS accepted,
    countIf(event = 'ai_output_rejected') AS rejected,
    countIf(event = 'ai_output_edited') AS edited
"""


@dataclass(frozen=True)
class AiScope:
    """Which AI events a report covers: one workspace, a time range, maybe one environment."""

    workspace_id: UUID
    start: datetime
    end: datetime
    environment: str | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        """The WHERE clause over `ai_usage_events` and its bound parameters."""
        sql = (
            "workspace_id = {workspace_id:UUID}"
            " AND timestamp >= {start:DateTime64(3, 'UTC')}"
            " AND timestamp < {end:DateTime64(3, 'UTC')}"
            f" AND event IN {_AI_EVENTS}"
        )
        params: dict[str, Any] = {
            "workspace_id": self.workspace_id,
            "start": self.start,
            "end": self.end,
        }
        if self.environment is not None:
            sql += " AND environment = {environment:String}"
            params["environment"] = self.environment
        return sql, params


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True)
class AiCostFigures:
    """AI usage figures of a report, a row or a time bucket (CONTRACT §4 definitions)."""

    known_cost_eur: Decimal
    costed_events: int
    calls: int
    calls_with_unknown_cost: int
    failed_calls: int
    input_tokens: int
    output_tokens: int
    accepted_outputs: int
    rejected_outputs: int
    edited_outputs: int

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> AiCostFigures:
        return cls(
            known_cost_eur=Decimal(row["known_cost"]),
            costed_events=int(row["costed_events"]),
            calls=int(row["calls"]),
            calls_with_unknown_cost=int(row["calls_with_unknown_cost"]),
            failed_calls=int(row["failed_calls"]),
            input_tokens=int(row["input_tokens_sum"]),
            output_tokens=int(row["output_tokens_sum"]),
            accepted_outputs=int(row["accepted"]),
            rejected_outputs=int(row["rejected"]),
            edited_outputs=int(row["edited"]),
        )

    @property
    def cost_eur(self) -> Decimal | None:
        """The sum of the known costs; None when there are calls and not one has a known cost,
        so that "nothing is known" never reads as "it cost nothing"."""
        if self.costed_events == 0 and self.calls_with_unknown_cost > 0:
            return None
        return self.known_cost_eur

    @property
    def error_rate(self) -> float | None:
        """failed / (completed + failed); None without any call."""
        return _rate(self.failed_calls, self.calls + self.failed_calls)

    @property
    def acceptance_rate(self) -> float | None:
        """accepted / (accepted + rejected + edited); None without any output event."""
        return _rate(
            self.accepted_outputs,
            self.accepted_outputs + self.rejected_outputs + self.edited_outputs,
        )

    @property
    def cost_per_accepted_output_eur(self) -> Decimal | None:
        """Known cost / accepted outputs; None without accepted outputs or known cost."""
        cost = self.cost_eur
        if self.accepted_outputs == 0 or cost is None:
            return None
        return (cost / self.accepted_outputs).quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True)
class AiCostRow:
    """One row of a breakdown; `key` is "" when the events carry no value for the dimension."""

    key: str
    figures: AiCostFigures


@dataclass(frozen=True)
class AiCostPoint:
    """One bucket of the time series, starting at `start`."""

    start: datetime
    figures: AiCostFigures


@dataclass(frozen=True)
class LatencyPercentiles:
    """Latency of completed calls that reported one (milliseconds); None without any."""

    calls: int
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None


@dataclass(frozen=True)
class EditRatioBucket:
    """Edited outputs whose edit ratio lies in `[lower, upper)` (the last bucket includes 1)."""

    lower: Decimal
    upper: Decimal
    count: int


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


def ai_cost_totals(store: AnalyticsStore, scope: AiScope) -> AiCostFigures:
    """The figures of the whole scope: one row, no attribution needed (totals do not depend on
    which row an output event lands in)."""
    where, params = scope.where()
    sql = f"""
        SELECT {_FIGURES}
        FROM
        (
            SELECT event, estimated_cost_eur AS cost, input_tokens, output_tokens
            FROM ai_usage_events
            WHERE {where}
        )
    """
    return AiCostFigures.from_row(store.query(sql, params)[0])


def ai_cost_breakdown(
    store: AnalyticsStore, scope: AiScope, by: Breakdown, *, limit: int = 100
) -> list[AiCostRow]:
    """One row per value of `by`, costliest first, in one statement.

    Output events (accepted/rejected/edited) take the dimension value of the completed call
    whose `ai_call_id` they name, looked up from `CALL_LOOKBACK` before the range on; only
    without such a call do they keep their own value.
    """
    key = _BREAKDOWN_KEYS[by]
    where, params = scope.where()
    params["lookup_start"] = scope.start - CALL_LOOKBACK
    params["limit"] = limit
    sql = f"""
        SELECT key, {_FIGURES}
        FROM
        (
            SELECT
                o.event AS event,
                o.cost AS cost,
                o.input_tokens AS input_tokens,
                o.output_tokens AS output_tokens,
                if(c.call_id != '', c.call_key, o.own_key) AS key
            FROM
            (
                SELECT
                    event,
                    estimated_cost_eur AS cost,
                    input_tokens,
                    output_tokens,
                    {key} AS own_key,
                    if(event IN {_OUTPUT_EVENTS}, ai_call_id, '') AS join_id
                FROM ai_usage_events
                WHERE {where}
            ) AS o
            LEFT JOIN
            (
                -- The first call of each id named by an output event of the scope.
                SELECT ai_call_id AS call_id, argMin({key}, timestamp) AS call_key
                FROM ai_usage_events
                WHERE workspace_id = {{workspace_id:UUID}}
                  AND event = 'ai_call_completed'
                  AND ai_call_id != ''
                  AND timestamp >= {{lookup_start:DateTime64(3, 'UTC')}}
                  AND timestamp < {{end:DateTime64(3, 'UTC')}}
                  AND ai_call_id IN
                  (
                      SELECT ai_call_id FROM ai_usage_events
                      WHERE {where} AND event IN {_OUTPUT_EVENTS} AND ai_call_id != ''
                  )
                GROUP BY ai_call_id
            ) AS c ON o.join_id = c.call_id
        )
        GROUP BY key
        ORDER BY known_cost DESC, calls DESC, key ASC
        LIMIT {{limit:UInt32}}
    """
    return [
        AiCostRow(key=row["key"], figures=AiCostFigures.from_row(row))
        for row in store.query(sql, params)
    ]


def bucket_starts(start: datetime, end: datetime, granularity: Granularity) -> list[datetime]:
    """The start of every bucket that overlaps `[start, end)`, in UTC."""
    current = _floor(start.astimezone(UTC), granularity)
    starts: list[datetime] = []
    while current < end:
        starts.append(current)
        if len(starts) > MAX_SERIES_POINTS:
            raise BadUserInput(
                f"The range holds more than {MAX_SERIES_POINTS} buckets: use a coarser "
                "granularity or a shorter range.",
                field="granularity",
            )
        current = _next(current, granularity)
    return starts


def _floor(instant: datetime, granularity: Granularity) -> datetime:
    hour = instant.replace(minute=0, second=0, microsecond=0)
    if granularity is Granularity.HOUR:
        return hour
    day = hour.replace(hour=0)
    if granularity is Granularity.DAY:
        return day
    if granularity is Granularity.WEEK:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(instant: datetime, granularity: Granularity) -> datetime:
    if granularity is Granularity.HOUR:
        return instant + timedelta(hours=1)
    if granularity is Granularity.DAY:
        return instant + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return instant + timedelta(weeks=1)
    if instant.month == 12:
        return instant.replace(year=instant.year + 1, month=1)
    return instant.replace(month=instant.month + 1)


_EMPTY = AiCostFigures(Decimal(0), 0, 0, 0, 0, 0, 0, 0, 0, 0)


def ai_cost_series(
    store: AnalyticsStore, scope: AiScope, granularity: Granularity
) -> list[AiCostPoint]:
    """The figures per time bucket, every bucket of the range present (empty ones as zeros).

    Raises `BadUserInput` when the range holds more than `MAX_SERIES_POINTS` buckets.
    """
    starts = bucket_starts(scope.start, scope.end, granularity)
    where, params = scope.where()
    sql = f"""
        SELECT bucket, {_FIGURES}
        FROM
        (
            SELECT {_BUCKETS[granularity]} AS bucket,
                   event, estimated_cost_eur AS cost, input_tokens, output_tokens
            FROM ai_usage_events
            WHERE {where}
        )
        GROUP BY bucket
    """
    found = {row["bucket"]: AiCostFigures.from_row(row) for row in store.query(sql, params)}
    return [AiCostPoint(start=s, figures=found.get(s, _EMPTY)) for s in starts]


def ai_latency(store: AnalyticsStore, scope: AiScope) -> LatencyPercentiles:
    """Exact latency percentiles of completed calls; calls without a latency (stored as 0) are
    left out rather than pulling the percentiles down."""
    where, params = scope.where()
    sql = f"""
        SELECT count() AS calls, quantilesExact(0.5, 0.9, 0.95, 0.99)(latency_ms) AS q
        FROM ai_usage_events
        WHERE {where} AND event = 'ai_call_completed' AND latency_ms > 0
    """
    row = store.query(sql, params)[0]
    calls = int(row["calls"])
    q: list[float | None] = [float(v) for v in row["q"]] if calls else [None] * 4
    return LatencyPercentiles(calls=calls, p50_ms=q[0], p90_ms=q[1], p95_ms=q[2], p99_ms=q[3])


def edit_ratio_distribution(store: AnalyticsStore, scope: AiScope) -> list[EditRatioBucket]:
    """Edited outputs by edit ratio in tenths: [0, 0.1), [0.1, 0.2), …, [0.9, 1]."""
    where, params = scope.where()
    params["buckets"] = EDIT_RATIO_BUCKETS
    sql = f"""
        SELECT
            least(toUInt32(floor(assumeNotNull(edit_ratio) * {{buckets:UInt32}})),
                  {{buckets:UInt32}} - 1) AS bucket,
            count() AS n
        FROM ai_usage_events
        WHERE {where} AND event = 'ai_output_edited' AND edit_ratio IS NOT NULL
        GROUP BY bucket
    """
    counts = {int(row["bucket"]): int(row["n"]) for row in store.query(sql, params)}
    width = Decimal(1) / EDIT_RATIO_BUCKETS
    return [
        EditRatioBucket(lower=i * width, upper=(i + 1) * width, count=counts.get(i, 0))
        for i in range(EDIT_RATIO_BUCKETS)
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
    return _next(month_start(instant), Granularity.MONTH)


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
