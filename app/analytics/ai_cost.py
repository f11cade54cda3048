"""AI cost analytics (CONTRACT §4): totals, breakdowns, time series — one statement each.

Every figure is an exact sum or count over `ai_usage_events`, whose output events already carry
their call's dimensions (write-time attribution, app/analytics/ai_cost_attribution.py). That
makes each report a plain GROUP BY, which ClickHouse answers from the aggregate projections of
migration 005 (sub-100 ms at 10 M events) instead of scanning the rows:

- the range `[start, end)` is cut into whole hours (or days) that a projection serves, and the
  partial hours (days) at either end, read from the rows; both parts are aggregated with the
  very same expressions and added up — sums, counts and histograms merge exactly, so the result
  does not depend on which path served which part;
- `_FIGURES` must stay identical to the aggregates of the projections (migration 005), or
  ClickHouse silently falls back to the rows: tests/analytics/test_ai_cost_preaggregation.py
  checks every report against EXPLAIN.

Latency percentiles are approximate: each latency is first rounded to a logarithmic bucket of
1 % relative width (DDSketch-style, the `latency_sketch` column), and the p-percentile is the
smallest bucketed latency L such that a share p of the calls took at most L — within 1 % of the
same percentile of the raw latencies. Exact quantiles cannot be merged from partial
aggregates; these can, deterministically: the result does not depend on the path either.

IMPORTANT: every query is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller; filters are bound parameters. The only SQL text chosen
at run time comes from the closed whitelists below and from which optional filters are present.
Ranges are half-open, `[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from app.analytics.store import AnalyticsStore
from app.errors import BadUserInput

# A cost in the `Decimal(38, 12)` columns has 12 decimals; derived amounts are rounded to the same.
COST_QUANTUM = Decimal("0.000000000001")
# A time series with more points than this is refused: the caller picks a coarser granularity.
MAX_SERIES_POINTS = 2000
EDIT_RATIO_BUCKETS = 10
# Latency buckets: bucket i holds latencies in (g^(i-1), g^i] ms, g = (1 + a) / (1 - a) with
# a = 1 %, represented by 2 g^i / (g + 1), within a of every latency in it (DDSketch). Migration
# 005 computes it in the `latency_sketch` column.
LATENCY_RELATIVE_ACCURACY = 0.01
LATENCY_LEVELS = (0.5, 0.9, 0.95, 0.99)


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


# --- the figures -------------------------------------------------------------------------------

_CALLS = "('ai_call_completed', 'ai_call_failed')"
_LEVELS = ", ".join(str(level) for level in LATENCY_LEVELS)
_COST = "assumeNotNull(estimated_cost_eur)"


@dataclass(frozen=True)
class _Figure:
    name: str
    aggregate: str  # over `ai_usage_events`; identical to the projections' (migration 005)
    merge: str  # how partial results of the aggregate add up


def _scalar(name: str, aggregate: str) -> _Figure:
    return _Figure(name, aggregate, f"sum({name})")


def _histogram(name: str, aggregate: str) -> _Figure:
    return _Figure(name, aggregate, f"sumMap({name}.1, {name}.2)")


# Failed calls that reported usage were paid for, so their known cost and tokens count; only
# completed calls can have an "unknown" cost, since failed calls without usage are not costed by
# design (CONTRACT §3). Output events count with their `sign` (+1, or -1/+1 pairs when a late
# call re-attributes them); call events are never corrected (sign 1).
# IMPORTANT: ClickHouse matches these to the projections' aggregates by expression; a condition
# on a Nullable column alone (`x IS NULL`) is rewritten to read its null map and no longer
# matches, hence the materialized flags `cost_known` and `edit_ratio_known` (migration 005), and
# constants are folded, hence `toInt64(sign)` where a literal 1 would do.
_FIGURES: tuple[_Figure, ...] = (
    _scalar("known_cost", f"sumIf({_COST}, event IN {_CALLS} AND cost_known)"),
    _scalar("costed_events", f"countIf(event IN {_CALLS} AND cost_known)"),
    _scalar("calls", "countIf(event = 'ai_call_completed')"),
    _scalar("calls_with_unknown_cost", "countIf(event = 'ai_call_completed' AND NOT cost_known)"),
    _scalar("failed_calls", "countIf(event = 'ai_call_failed')"),
    _scalar("input_tokens_sum", f"sumIf(input_tokens, event IN {_CALLS})"),
    _scalar("output_tokens_sum", f"sumIf(output_tokens, event IN {_CALLS})"),
    _scalar("cached_input_tokens_sum", f"sumIf(cached_input_tokens, event IN {_CALLS})"),
    _scalar("call_tokens", "sumIf(input_tokens + output_tokens, event = 'ai_call_completed')"),
    _scalar(
        "priced_call_tokens",
        "sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known)",
    ),
    _scalar("failed_cost", f"sumIf({_COST}, event = 'ai_call_failed' AND cost_known)"),
    _scalar(
        "rejected_cost",
        "sumIf(assumeNotNull(call_cost_eur) * sign, "
        "event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL)",
    ),
    _scalar("accepted", "sumIf(sign, event = 'ai_output_accepted')"),
    _scalar("rejected", "sumIf(sign, event = 'ai_output_rejected')"),
    _scalar("edited", "sumIf(sign, event = 'ai_output_edited')"),
    _scalar("latency_calls", "countIf(event = 'ai_call_completed' AND latency_ms > 0)"),
    _Figure(
        "latency",
        f"quantilesExactWeightedIfState({_LEVELS})"
        "(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)",
        f"quantilesExactWeightedIfMerge({_LEVELS})(latency)",
    ),
    _histogram(
        "edit_histogram",
        "sumMapIf([edit_ratio_bucket], [toInt64(sign)], "
        "event = 'ai_output_edited' AND edit_ratio_known)",
    ),
)
_LATENCY_FIGURES = frozenset({"latency_calls", "latency"})


def _figures(latency: bool) -> tuple[_Figure, ...]:
    """All figures, or all but the latency ones (the costliest to merge) when not wanted."""
    return _FIGURES if latency else tuple(f for f in _FIGURES if f.name not in _LATENCY_FIGURES)


def _aggregates(latency: bool) -> str:
    return ",\n".join(f"{f.aggregate} AS {f.name}" for f in _figures(latency))


def _merges(latency: bool) -> str:
    return ",\n".join(f"{f.merge} AS {f.name}" for f in _figures(latency))


def _partial_merges(latency: bool) -> str:
    """Merged, but with the latency still a state: for a second level of merging."""
    return ",\n".join(
        f"{f.merge.replace('IfMerge(', 'IfMergeState(')} AS {f.name}" for f in _figures(latency)
    )


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _histogram_of(value: Any) -> dict[int, int]:
    """A sumMap result — (keys, values) — as a dict without empty buckets."""
    if not value:
        return {}
    keys, counts = value.values() if isinstance(value, dict) else value
    return {int(k): int(c) for k, c in zip(keys, counts, strict=True) if c}


@dataclass(frozen=True)
class LatencyPercentiles:
    """Latency of completed calls that reported one (milliseconds); None without any.

    Approximate within 1 % (see the module's docstring): the p-percentile is the smallest
    latency L such that a share p of the calls took at most L.
    """

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


def edit_ratio_buckets(histogram: Mapping[int, int]) -> list[EditRatioBucket]:
    """Edited outputs by edit ratio in tenths: [0, 0.1), [0.1, 0.2), …, [0.9, 1]."""
    width = Decimal(1) / EDIT_RATIO_BUCKETS
    return [
        EditRatioBucket(lower=i * width, upper=(i + 1) * width, count=histogram.get(i, 0))
        for i in range(EDIT_RATIO_BUCKETS)
    ]


@dataclass(frozen=True)
class AiCostFigures:
    """AI usage figures of a report, a row or a time bucket (CONTRACT §4 definitions)."""

    known_cost_eur: Decimal = Decimal(0)
    costed_events: int = 0
    calls: int = 0
    calls_with_unknown_cost: int = 0
    failed_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    call_tokens: int = 0
    priced_call_tokens: int = 0
    failed_cost_eur: Decimal = Decimal(0)
    rejected_cost_eur: Decimal = Decimal(0)
    accepted_outputs: int = 0
    rejected_outputs: int = 0
    edited_outputs: int = 0
    latency_calls: int = 0
    latency_levels: tuple[float, ...] = ()
    edit_ratio_histogram: Mapping[int, int] = field(default_factory=dict)

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
            cached_input_tokens=int(row["cached_input_tokens_sum"]),
            call_tokens=int(row["call_tokens"]),
            priced_call_tokens=int(row["priced_call_tokens"]),
            failed_cost_eur=Decimal(row["failed_cost"]),
            rejected_cost_eur=Decimal(row["rejected_cost"]),
            accepted_outputs=int(row["accepted"]),
            rejected_outputs=int(row["rejected"]),
            edited_outputs=int(row["edited"]),
            latency_calls=int(row.get("latency_calls", 0)),
            latency_levels=tuple(float(v) for v in row.get("latency") or ()),
            edit_ratio_histogram=_histogram_of(row["edit_histogram"]),
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

    @property
    def priced_call_share(self) -> float | None:
        """Completed calls with a known cost / completed calls; None without calls."""
        return _rate(self.calls - self.calls_with_unknown_cost, self.calls)

    @property
    def priced_token_share(self) -> float | None:
        """Input + output tokens of completed calls with a known cost / those of all completed
        calls; None when completed calls reported no tokens."""
        return _rate(self.priced_call_tokens, self.call_tokens)

    @property
    def wasted_spend_eur(self) -> Decimal:
        """Known cost of failed calls + known cost of the calls named by rejected outputs."""
        return self.failed_cost_eur + self.rejected_cost_eur

    @property
    def latency(self) -> LatencyPercentiles:
        """The percentiles LATENCY_LEVELS of the completed calls that reported a latency."""
        if self.latency_calls == 0 or len(self.latency_levels) != len(LATENCY_LEVELS):
            return LatencyPercentiles(self.latency_calls, None, None, None, None)
        return LatencyPercentiles(self.latency_calls, *self.latency_levels)

    @property
    def edit_ratio_distribution(self) -> list[EditRatioBucket]:
        return edit_ratio_buckets(self.edit_ratio_histogram)


EMPTY = AiCostFigures()


@dataclass(frozen=True)
class AiCostRow:
    """One row of a breakdown; `key` is "" when the events carry no value for the dimension,
    and `other` marks the row of a split series that gathers the keys beyond the top N."""

    key: str
    figures: AiCostFigures
    other: bool = False


@dataclass(frozen=True)
class AiCostPoint:
    """One bucket of the time series, starting at `start`; `rows` when split by a dimension."""

    start: datetime
    figures: AiCostFigures
    rows: list[AiCostRow] = field(default_factory=list)


# --- scope and pre-aggregated paths ------------------------------------------------------------


@dataclass(frozen=True)
class AiScope:
    """Which AI events a report covers: one workspace, a time range and optional filters.

    Filters apply to the attributed dimensions: an output event is filtered, like it is grouped,
    by its call's customer, feature, model, provider, environment and app.
    """

    workspace_id: UUID
    start: datetime
    end: datetime
    environment: str | None = None
    app_id: UUID | None = None
    customer_org_id: str | None = None
    feature: str | None = None
    model: str | None = None
    provider: str | None = None

    def filters(self) -> tuple[list[str], list[str], dict[str, Any]]:
        """(conditions, the columns they read, their bound parameters)."""
        conditions, columns = [], []
        params: dict[str, Any] = {"workspace_id": self.workspace_id}
        for column, param, value, ch_type in (
            ("attr_environment", "environment", self.environment, "String"),
            ("attr_app_id", "app_id", self.app_id, "UUID"),
            ("attr_customer_org_id", "customer_org_id", self.customer_org_id, "String"),
            ("attr_feature", "feature", self.feature, "String"),
            ("attr_model", "model", self.model, "String"),
            ("attr_provider", "provider", self.provider, "String"),
        ):
            if value is not None:
                conditions.append(f"{column} = {{{param}:{ch_type}}}")
                columns.append(column)
                params[param] = value
        return conditions, columns, params


@dataclass(frozen=True)
class _Projection:
    grain: Granularity  # HOUR or DAY
    columns: frozenset[str]


# The aggregate projections of migration 005: their time grain and grouping columns.
_PROJECTIONS = (
    _Projection(Granularity.HOUR, frozenset(("attr_environment", "attr_app_id"))),
    _Projection(Granularity.DAY, frozenset(("attr_environment", "attr_feature"))),
    _Projection(Granularity.DAY, frozenset(("attr_environment", "attr_provider", "attr_model"))),
    _Projection(
        Granularity.DAY,
        frozenset(("attr_environment", "attr_customer_org_id", "attr_customer_plan")),
    ),
)
_GRAIN_KEY = {
    Granularity.HOUR: "toStartOfHour(timestamp)",
    Granularity.DAY: "toStartOfDay(timestamp)",
}
# A series bucket as a function of a projection's time key, so that the projection can serve it.
_BUCKET_OF = {
    Granularity.HOUR: "toDateTime64(toStartOfHour({t}), 3, 'UTC')",
    Granularity.DAY: "toDateTime64(toStartOfDay({t}), 3, 'UTC')",
    Granularity.WEEK: "toDateTime64(toStartOfWeek({t}, 1), 3, 'UTC')",
    Granularity.MONTH: "toDateTime64(toStartOfMonth({t}), 3, 'UTC')",
}


@dataclass(frozen=True)
class _Dimension:
    columns: tuple[str, ...]  # grouping columns of `ai_usage_events`
    key: str  # the row's key over those columns (and `org_plan` for PLAN)


_DIMENSIONS: Mapping[Breakdown, _Dimension] = {
    Breakdown.CUSTOMER: _Dimension(("attr_customer_org_id",), "attr_customer_org_id"),
    Breakdown.FEATURE: _Dimension(("attr_feature",), "toString(attr_feature)"),
    Breakdown.MODEL: _Dimension(("attr_model",), "toString(attr_model)"),
    Breakdown.PROVIDER: _Dimension(("attr_provider",), "toString(attr_provider)"),
    # The customer's plan: the event property customer_plan, else the plan set on the
    # organization (latest `organization_plans` row), else none.
    Breakdown.PLAN: _Dimension(
        ("attr_customer_org_id", "attr_customer_plan"),
        "if(attr_customer_plan != '', toString(attr_customer_plan), org_plan)",
    ),
    Breakdown.ENVIRONMENT: _Dimension(("attr_environment",), "toString(attr_environment)"),
    Breakdown.APP: _Dimension(("attr_app_id",), "toString(attr_app_id)"),
}
# A group whose events all cancel out (an output re-attributed elsewhere: its -1/+1 pair) or
# that holds no call or output event is not a row.
_HAS_EVENTS = "calls + failed_calls + accepted + rejected + edited != 0"
_ORG_PLANS_JOIN = """
    LEFT JOIN
    (
        SELECT customer_org_id, argMax(plan, updated_at) AS org_plan
        FROM organization_plans
        WHERE workspace_id = {workspace_id:UUID}
        GROUP BY customer_org_id
    ) AS plans ON u.attr_customer_org_id = plans.customer_org_id
"""


def _grain(columns: Iterable[str], series: Granularity | None) -> Granularity | None:
    """The finest time grain of a projection that has every column (and can bucket the
    series); None when no projection fits and the rows must be read."""
    needed = set(columns)
    grains = [p.grain for p in _PROJECTIONS if needed <= p.columns]
    if series is Granularity.HOUR:
        grains = [g for g in grains if g is Granularity.HOUR]
    if Granularity.HOUR in grains:
        return Granularity.HOUR
    return grains[0] if grains else None


def _floor(instant: datetime, granularity: Granularity) -> datetime:
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


def _ceil(instant: datetime, granularity: Granularity) -> datetime:
    floor = _floor(instant, granularity)
    return floor if floor == instant else next_bucket_start(floor, granularity)


def _branches(
    scope: AiScope, grain: Granularity | None, params: dict[str, Any]
) -> list[tuple[str, str]]:
    """The parts of `[start, end)`: (time condition, the time key the buckets derive from).
    Whole hours or days go to the projection, through its time key; the rest to the rows."""
    params.update(start=scope.start, end=scope.end)
    rows_key = _GRAIN_KEY[Granularity.HOUR]
    if grain is None:
        return [(_between("start", "end"), rows_key)]
    inner_start, inner_end = _ceil(scope.start, grain), _floor(scope.end, grain)
    if inner_start >= inner_end:
        return [(_between("start", "end"), rows_key)]
    params.update(inner_start=inner_start, inner_end=inner_end)
    key = _GRAIN_KEY[grain]
    branches = [
        (
            f"{key} >= {{inner_start:DateTime('UTC')}} AND {key} < {{inner_end:DateTime('UTC')}}",
            key,
        )
    ]
    if scope.start < inner_start:
        branches.append((_between("start", "inner_start"), rows_key))
    if inner_end < scope.end:
        branches.append((_between("inner_end", "end"), rows_key))
    return branches


def _between(lower: str, upper: str) -> str:
    return (
        f"timestamp >= {{{lower}:DateTime64(3, 'UTC')}} "
        f"AND timestamp < {{{upper}:DateTime64(3, 'UTC')}}"
    )


def _aggregated(
    scope: AiScope,
    columns: Sequence[str],
    params: dict[str, Any],
    *,
    latency: bool,
    series: Granularity | None = None,
) -> str:
    """A UNION ALL of partial aggregates per `columns` (and `bucket` for a series), one branch
    per part of the range; the caller merges them with `_merges`."""
    conditions, filter_columns, filter_params = scope.filters()
    params.update(filter_params)
    grain = _grain((*columns, *filter_columns), series)
    parts = []
    for time_condition, time_key in _branches(scope, grain, params):
        keys = list(columns)
        if series is not None:
            keys.insert(0, f"{_BUCKET_OF[series].format(t=time_key)} AS bucket")
        where = " AND ".join(["workspace_id = {workspace_id:UUID}", time_condition, *conditions])
        group_by = f"GROUP BY {', '.join(k.split(' AS ')[-1] for k in keys)}" if keys else ""
        select = ", ".join([*keys, _aggregates(latency)])
        parts.append(f"SELECT {select} FROM ai_usage_events WHERE {where} {group_by}")
    return "\nUNION ALL\n".join(parts)


# --- reports -----------------------------------------------------------------------------------


def ai_cost_totals(store: AnalyticsStore, scope: AiScope, *, latency: bool = True) -> AiCostFigures:
    """The figures of the whole scope, in one row (without latency unless `latency`)."""
    params: dict[str, Any] = {}
    sql = f"SELECT {_merges(latency)} FROM ({_aggregated(scope, (), params, latency=latency)})"
    return AiCostFigures.from_row(store.query(sql, params)[0])


def ai_cost_breakdown(
    store: AnalyticsStore,
    scope: AiScope,
    by: Breakdown,
    *,
    limit: int = 100,
    latency: bool = True,
) -> list[AiCostRow]:
    """One row per value of `by` (output events in their call's row), costliest first."""
    dimension = _DIMENSIONS[by]
    params: dict[str, Any] = {"limit": limit}
    join = _ORG_PLANS_JOIN if by is Breakdown.PLAN else ""
    sql = f"""
        SELECT {dimension.key} AS key, {_merges(latency)}
        FROM ({_aggregated(scope, dimension.columns, params, latency=latency)}) AS u
        {join}
        GROUP BY key
        HAVING {_HAS_EVENTS}
        ORDER BY known_cost DESC, calls DESC, key ASC
        LIMIT {{limit:UInt32}}
    """
    return [
        AiCostRow(key=row["key"], figures=AiCostFigures.from_row(row))
        for row in store.query(sql, params)
    ]


def bucket_starts(start: datetime, end: datetime, granularity: Granularity) -> list[datetime]:
    """The start of every bucket that overlaps `[start, end)`, in UTC."""
    current = _floor(start, granularity)
    starts: list[datetime] = []
    while current < end:
        starts.append(current)
        if len(starts) > MAX_SERIES_POINTS:
            raise BadUserInput(
                f"The range holds more than {MAX_SERIES_POINTS} buckets: use a coarser "
                "granularity or a shorter range.",
                field="granularity",
            )
        current = next_bucket_start(current, granularity)
    return starts


def ai_cost_series(
    store: AnalyticsStore,
    scope: AiScope,
    granularity: Granularity,
    *,
    by: Breakdown | None = None,
    top: int = 10,
    latency: bool = True,
) -> list[AiCostPoint]:
    """The figures per time bucket, every bucket of the range present (empty ones as zeros).

    Split `by` a dimension, each point also has rows for the `top` keys of the whole range
    (costliest first, as in the breakdown) present in that bucket, and one `other` row for the
    remaining keys: a stacked chart then keeps the same series from bucket to bucket.

    Raises `BadUserInput` when the range holds more than `MAX_SERIES_POINTS` buckets.
    """
    starts = bucket_starts(scope.start, scope.end, granularity)
    params: dict[str, Any] = {}
    if by is None:
        sql = f"""
            SELECT bucket, {_merges(latency)}
            FROM ({_aggregated(scope, (), params, latency=latency, series=granularity)})
            GROUP BY bucket
        """
        found = {row["bucket"]: AiCostFigures.from_row(row) for row in store.query(sql, params)}
        return [AiCostPoint(start=s, figures=found.get(s, EMPTY)) for s in starts]

    dimension = _DIMENSIONS[by]
    join = _ORG_PLANS_JOIN if by is Breakdown.PLAN else ""
    params["top"] = top
    inner = _aggregated(scope, dimension.columns, params, latency=latency, series=granularity)
    # per_key keeps the latency as a state so that the bucket totals can merge it once more.
    sql = f"""
        WITH per_key AS
        (
            SELECT bucket, {dimension.key} AS key, {_partial_merges(latency)}
            FROM ({inner}) AS u
            {join}
            GROUP BY bucket, key
            HAVING {_HAS_EVENTS}
        ),
        top_keys AS
        (
            SELECT key FROM per_key GROUP BY key
            ORDER BY sum(known_cost) DESC, sum(calls) DESC, key ASC
            LIMIT {{top:UInt32}}
        )
        SELECT bucket, key IN top_keys AS in_top, if(in_top, key, '') AS row_key,
               grouping(in_top, row_key) = 0 AS is_row, {_merges(latency)}
        FROM per_key
        GROUP BY GROUPING SETS ((bucket, in_top, row_key), (bucket))
        ORDER BY bucket, is_row, in_top DESC, known_cost DESC, calls DESC, row_key ASC
    """
    totals: dict[datetime, AiCostFigures] = {}
    rows: dict[datetime, list[AiCostRow]] = {}
    for row in store.query(sql, params):
        figures = AiCostFigures.from_row(row)
        if not row["is_row"]:
            totals[row["bucket"]] = figures
            continue
        rows.setdefault(row["bucket"], []).append(
            AiCostRow(key=row["row_key"], figures=figures, other=not row["in_top"])
        )
    return [
        AiCostPoint(start=s, figures=totals.get(s, EMPTY), rows=rows.get(s, [])) for s in starts
    ]


def ai_latency(store: AnalyticsStore, scope: AiScope) -> LatencyPercentiles:
    """Latency percentiles of the scope's completed calls (see `LatencyPercentiles`)."""
    return ai_cost_totals(store, scope).latency


def edit_ratio_distribution(store: AnalyticsStore, scope: AiScope) -> list[EditRatioBucket]:
    """Edited outputs of the scope by edit ratio in tenths."""
    return ai_cost_totals(store, scope).edit_ratio_distribution
