"""AI cost analytics (CONTRACT §4): totals, breakdowns, time series — the figures in one
statement each, the latency percentiles in a second one run beside it (see each report).

Every figure is an exact sum or count over `ai_usage_events`, whose output events already carry
their call's dimensions (write-time attribution, app/ai_cost/attribution.py). That
makes each report a plain GROUP BY, which ClickHouse answers from the rollup tables
(app/store/rollups.py: the figures per day or hour and key, kept by materialized views)
instead of scanning the rows:

- the range `[start, end)` is cut into whole weeks, days and hours that a rollup serves, and
  the partial hours at either end, read from the rows (the planner, app/ai_cost/
  plan.py, decides which table serves which part); the rows are aggregated with the
  very expressions the rollups store (app/ai_cost/figures.py), the rollups' partial
  aggregates summed once more, and both added up — sums, counts and histograms merge exactly, so the
  result does not depend on which path served which part (tests/analytics/
  test_ai_cost_preaggregation.py compares every report with the same report read from rows).

Latency percentiles are approximate: each latency is first rounded to a logarithmic bucket of
1 % relative width (DDSketch-style, the `latency_sketch` column), and the p-percentile is the
smallest bucketed latency L such that a share p of the calls took at most L — within 1 % of the
same percentile of the raw latencies. Exact quantiles cannot be merged from partial
aggregates; these can, deterministically: the result does not depend on the path either.

Each statement is built from `_Select`s, a SELECT's clauses as named parts rendered once (the
SQL each report sends is written out under tests/analytics/sql/).

IMPORTANT: every query is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller; filters are bound parameters. The only SQL text chosen
at run time comes from the closed whitelists below and from which optional filters are present.
Ranges are half-open, `[start, end)`, in UTC. All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from app.ai_cost.figures import BUCKET_CALLS as _BUCKET_CALLS
from app.ai_cost.figures import EDIT_RATIO_BUCKETS, LATENCY_LEVELS
from app.ai_cost.figures import FIGURES as _FIGURES
from app.ai_cost.figures import LEVELS as _LEVELS
from app.ai_cost.plan import ROLLUP_CATALOG, Catalog, plan
from app.ai_cost.top_keys import LastTopKeys
from app.errors import BadUserInput
from app.store.figure import Figure as _Figure
from app.store.interface import AnalyticsStore, Params, Row, side_by_side
from app.store.rollups import Rollup
from app.store.time_split import Branch, Granularity, floor_to, next_bucket_start

# A cost in the `Decimal(38, 12)` columns has 12 decimals; derived amounts are rounded to the same.
COST_QUANTUM = Decimal("0.000000000001")
# A time series with more points than this is refused: the caller picks a coarser granularity.
MAX_SERIES_POINTS = 2000


class Breakdown(Enum):
    """A dimension of the AI cost report."""

    CUSTOMER = "customer"
    FEATURE = "feature"
    MODEL = "model"
    PROVIDER = "provider"
    PLAN = "plan"
    ENVIRONMENT = "environment"
    APP = "app"


# --- the figures -------------------------------------------------------------------------------

_MONEY = frozenset({"known_cost_eur", "failed_cost_eur", "rejected_cost_eur"})
_INTEGERS = tuple(f.name for f in _FIGURES if f.name not in _MONEY and f.name != "latency")


_LATENCY = next(f for f in _FIGURES if f.name == "latency")


_EDIT_RATIOS = frozenset(f"edited_{i}" for i in range(EDIT_RATIO_BUCKETS))


def _figures(latency: bool, edit_ratios: bool = True) -> tuple[_Figure, ...]:
    """All figures, or without the latency states (the costliest to merge) and without the
    edit-ratio sums when not wanted: the time ClickHouse spends planning a SELECT grows with
    every aggregate it names."""
    return tuple(
        f
        for f in _FIGURES
        if (latency or f is not _LATENCY) and (edit_ratios or f.name not in _EDIT_RATIOS)
    )


def _merges(figures: Sequence[_Figure]) -> list[str]:
    """The columns that merge the partial aggregates of `figures` into each figure."""
    return [f"{f.merge} AS {f.alias}" for f in figures]


def _rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


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
        # Figures left out of the statement (see `_figures`) read as zeros.
        value = {name: int(row.get(f"f_{name}", 0)) for name in _INTEGERS}
        edits = {i: value.pop(f"edited_{i}") for i in range(EDIT_RATIO_BUCKETS)}
        return cls(
            **value,
            known_cost_eur=Decimal(row["f_known_cost_eur"]),
            failed_cost_eur=Decimal(row["f_failed_cost_eur"]),
            rejected_cost_eur=Decimal(row["f_rejected_cost_eur"]),
            latency_levels=tuple(float(v) for v in row.get("f_latency") or ()),
            edit_ratio_histogram={k: v for k, v in edits.items() if v},
        )

    @property
    def cost_eur(self) -> Decimal | None:
        """The sum of the known costs; None when the figures count events and not one has a
        known cost (calls with an unknown price, or only output events whose call is not
        known), so that "nothing is known" never reads as "it cost nothing". No event: 0."""
        if self.costed_events == 0 and self._events > 0:
            return None
        return self.known_cost_eur

    @property
    def _events(self) -> int:
        return sum(getattr(self, name) for name in _EVENT_COUNTS)

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
_EVENT_COUNTS = (
    "calls",
    "failed_calls",
    "accepted_outputs",
    "rejected_outputs",
    "edited_outputs",
)


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


# --- the statements: each SELECT a `_Select` of named clauses, rendered once ---------------------

_INDENT = "    "
# A clause longer than this is written one item per line.
_LINE = 96


def _indented(text: str) -> str:
    return "\n".join(_INDENT + line if line else line for line in text.splitlines())


def _clause(keyword: str, items: Sequence[str], separator: str = ",") -> str:
    """`keyword` and its `items`, on one line if short, else one item per line."""
    line = f"{keyword} {f'{separator} '.join(items)}"
    if len(line) <= _LINE and "\n" not in line:
        return line
    if separator == ",":
        return f"{keyword}\n" + ",\n".join(_indented(item) for item in items)
    first, *rest = items  # WHERE a AND b: the conditions one per line, each after its AND
    return "\n".join([f"{keyword} {first}", *(f"{_INDENT}{separator.strip()} {c}" for c in rest)])


@dataclass(frozen=True)
class _UnionAll:
    """The rows of several SELECTs, each in parentheses unless `bare`."""

    selects: Sequence[_Select]
    bare: bool = False

    def __str__(self) -> str:
        parts = [str(s) if self.bare else f"(\n{_indented(str(s))}\n)" for s in self.selects]
        return "\nUNION ALL\n".join(parts)


@dataclass(frozen=True)
class _Select:
    """One SELECT statement or subquery: each clause a named part, empty ones left out.

    `source` is a table's name or a subquery (written in parentheses); `where` holds conditions
    that are all required; `with_` is a WITH clause written before the SELECT."""

    columns: Sequence[str]
    source: str | _Select | _UnionAll
    where: Sequence[str] = ()
    array_join: str = ""
    group_by: Sequence[str] = ()
    having: str = ""
    order_by: str = ""
    limit: str = ""
    with_: str = ""

    def __str__(self) -> str:
        lines = [self.with_.strip()] if self.with_ else []
        lines.append(_clause("SELECT", self.columns))
        if isinstance(self.source, str):
            lines.append(f"FROM {self.source}")
        else:
            lines += ["FROM", "(", _indented(str(self.source)), ")"]
        for keyword, items, separator in (
            ("ARRAY JOIN", [self.array_join] if self.array_join else [], ","),
            ("WHERE", self.where, " AND"),
            ("GROUP BY", self.group_by, ","),
            ("HAVING", [self.having] if self.having else [], ","),
            ("ORDER BY", [self.order_by] if self.order_by else [], ","),
            ("LIMIT", [self.limit] if self.limit else [], ","),
        ):
            if items:
                lines.append(_clause(keyword, items, separator))
        return "\n".join(lines)


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


# The latency state of a histogram rollup's rows (calls `n` per `latency_sketch` bucket).
_LATENCY_OF_HISTOGRAM = (
    f"quantilesExactWeightedIfState({_LEVELS})(latency_sketch, toUInt64(n), n > 0) AS f_latency"
)
# A series bucket as a function of a source's time key, so that a rollup can serve it.
_BUCKET_OF = {
    Granularity.HOUR: "toDateTime64(toStartOfHour({t}), 3, 'UTC')",
    Granularity.DAY: "toDateTime64(toStartOfDay({t}), 3, 'UTC')",
    Granularity.WEEK: "toDateTime64(toStartOfWeek({t}, 1), 3, 'UTC')",
    Granularity.MONTH: "toDateTime64(toStartOfMonth({t}), 3, 'UTC')",
}


@dataclass(frozen=True)
class _Dimension:
    key: str  # the row's key: an expression over `columns`, computed in each part's SELECT
    columns: tuple[str, ...]  # the columns of `ai_usage_events` (or of a rollup) it reads
    with_: str = ""  # the WITH clause of a statement that groups by it


# The organizations' plans (latest `organization_plans` row of each) as two arrays, computed
# once per statement: each part looks its customers' plans up with transform() and groups by
# the plan itself, so it returns a row per plan rather than per customer, and nothing is joined
# per customer over the parts' rows.
_ORG_PLANS = """WITH (
    SELECT (groupArray(customer_org_id), groupArray(plan))
    FROM
    (
        SELECT customer_org_id, argMax(plan, updated_at) AS plan
        FROM organization_plans
        WHERE workspace_id = {workspace_id:UUID}
        GROUP BY customer_org_id
    )
) AS org_plans
"""

_DIMENSIONS: Mapping[Breakdown, _Dimension] = {
    Breakdown.CUSTOMER: _Dimension("attr_customer_org_id", ("attr_customer_org_id",)),
    Breakdown.FEATURE: _Dimension("attr_feature", ("attr_feature",)),
    Breakdown.MODEL: _Dimension("attr_model", ("attr_model",)),
    Breakdown.PROVIDER: _Dimension("attr_provider", ("attr_provider",)),
    # The customer's plan: the event property customer_plan, else the plan set on the
    # organization, else none.
    Breakdown.PLAN: _Dimension(
        "if(attr_customer_plan != '', toString(attr_customer_plan),"
        " transform(plan_customer, org_plans.1, org_plans.2, ''))",
        ("attr_customer_plan", "plan_customer"),
        _ORG_PLANS,
    ),
    Breakdown.ENVIRONMENT: _Dimension("attr_environment", ("attr_environment",)),
    Breakdown.APP: _Dimension("toString(attr_app_id)", ("attr_app_id",)),
}
# A group whose events all cancel out (an output re-attributed elsewhere: its -1/+1 pair) or
# that holds no call or output event is not a row.
_HAS_EVENTS = " + ".join(f"f_{name}" for name in _EVENT_COUNTS) + " != 0"


@dataclass(frozen=True)
class _Part:
    """One SELECT of a report's range: a branch of the plan (app/ai_cost/plan.py)
    with its keys and WHERE conditions."""

    branch: Branch
    keys: list[str]  # `bucket` and `key` expressions, each with its alias
    where: list[str]

    @property
    def names(self) -> list[str]:
        return [k.split(" AS ")[-1] for k in self.keys]

    def select(self, columns: Sequence[str], *, grouped: bool) -> _Select:
        """Its keys and `columns`, grouped by its keys if `grouped`."""
        group_by = self.names if grouped else []
        return _Select([*self.keys, *columns], self.branch.source, self.where, group_by=group_by)

    def histogram(self) -> _Select:
        """Its calls per key and latency bucket: summed from a histogram rollup when the branch
        reads one, else counted from the rows alike."""
        calls = "sum(n)" if self.branch.rollup is not None else _BUCKET_CALLS
        return _Select(
            [*self.keys, "latency_sketch", f"{calls} AS n"],
            self.branch.source,
            self.where,
            group_by=[*self.names, "latency_sketch"],
        )


def _parts(
    scope: AiScope,
    dimension: _Dimension | None,
    params: dict[str, Any],
    rollups: Sequence[Rollup],
    *,
    series: Granularity | None,
    conditions: Sequence[str],
) -> list[_Part]:
    """One part per source of the scope's range that `plan` picks among `rollups`."""
    filters, _, filter_params = scope.filters()
    params.update(filter_params)
    parts = []
    for branch in plan(scope.start, scope.end, rollups, params):
        keys = [f"{dimension.key} AS key"] if dimension else []
        if series is not None:
            keys.insert(0, f"{_BUCKET_OF[series].format(t=branch.time_key)} AS bucket")
        where = ["workspace_id = {workspace_id:UUID}", branch.condition, *filters, *conditions]
        parts.append(_Part(branch, keys, where))
    return parts


def _sources(
    scope: AiScope,
    dimension: _Dimension | None,
    series: Granularity | None,
    *,
    catalog: Catalog,
    few_customers: bool,
    histograms: bool = False,
) -> list[Rollup]:
    """The rollups of `catalog` that serve the scope (app/ai_cost/plan.py): of the
    latency histograms if `histograms`, else of the figures."""
    needed = (*(dimension.columns if dimension else ()), *scope.filters()[1])
    few = few_customers or scope.customer_org_id is not None
    if histograms:
        return catalog.histograms_for(needed, series, few_customers=few)
    return catalog.figures_for(needed, series, few_customers=few)


def _aggregated(
    scope: AiScope,
    dimension: _Dimension | None,
    params: dict[str, Any],
    figures: Sequence[_Figure],
    *,
    catalog: Catalog,
    series: Granularity | None = None,
    conditions: Sequence[str] = (),
    few_customers: bool = False,
) -> _UnionAll:
    """A UNION ALL of partial aggregates per `key` of `dimension` (and `bucket` for a series),
    one SELECT per part of the range (a rollup's part returns its rows as they are, several per
    key); the caller merges them with `_merges(figures)` (in a statement that starts with
    `dimension.with_`). `conditions` may only read the dimension's columns; `few_customers`
    says that they keep a few customers only.

    The latency alone (`figures` == `(_LATENCY,)`) is read from the latency histograms
    where one has the columns (its partial state built from the histogram's rows), else from
    the states of the figure rollups."""
    histograms = (
        _sources(
            scope, dimension, series, catalog=catalog, few_customers=few_customers, histograms=True
        )
        if tuple(figures) == (_LATENCY,)
        else []
    )
    rollups = histograms or _sources(
        scope, dimension, series, catalog=catalog, few_customers=few_customers
    )
    aggregates = [f"{f.aggregate} AS {f.alias}" for f in figures]
    selects = []
    for part in _parts(scope, dimension, params, rollups, series=series, conditions=conditions):
        if part.branch.rollup is not None and not histograms:
            # A rollup's rows are partial aggregates already: the caller merges them as they
            # are. Merging them per part first would add a level of aggregates to plan, which
            # costs more than the merge would save.
            selects.append(part.select([f.alias for f in figures], grouped=False))
            continue
        # A histogram's state is built from its rows as they are: summing them per key and
        # latency bucket first costs more than it saves.
        state = [_LATENCY_OF_HISTOGRAM] if part.branch.rollup is not None else aggregates
        selects.append(part.select(state, grouped=True))
    return _UnionAll(selects)


def _histogram_rows(
    scope: AiScope,
    dimension: _Dimension | None,
    params: dict[str, Any],
    *,
    catalog: Catalog,
    series: Granularity | None,
    conditions: Sequence[str] = (),
    few_customers: bool = False,
) -> _UnionAll | None:
    """A UNION ALL of the calls per key (and bucket) and latency bucket (`latency_sketch`, `n`)
    read from the latency histograms and the rows at the ends; None where no
    histogram has the scope's columns. Unlike states, such rows can be subtracted."""
    sources = _sources(
        scope, dimension, series, catalog=catalog, few_customers=few_customers, histograms=True
    )
    if not sources:
        return None
    parts = _parts(scope, dimension, params, sources, series=series, conditions=conditions)
    return _UnionAll([part.histogram() for part in parts])


# --- reports -----------------------------------------------------------------------------------


def _levels(row: Mapping[str, Any]) -> tuple[float, ...]:
    return tuple(float(v) for v in row["f_latency"] or ())


def _with_levels(figures: AiCostFigures, levels: tuple[float, ...] | None) -> AiCostFigures:
    return figures if levels is None else replace(figures, latency_levels=levels)


def _latency_sql(
    scope: AiScope,
    dimension: _Dimension | None,
    params: dict[str, Any],
    *,
    catalog: Catalog,
    series: Granularity | None = None,
    conditions: Sequence[str] = (),
    few_customers: bool = False,
) -> str:
    """The latency percentiles (`f_latency`) per `bucket` of a series and per `key` of
    `dimension`, in a statement of their own: they are read from other rollups (the latency
    histograms) than the rest of the figures."""
    inner = _aggregated(
        scope,
        dimension,
        params,
        (_LATENCY,),
        catalog=catalog,
        series=series,
        conditions=conditions,
        few_customers=few_customers,
    )
    keys = (["bucket"] if series else []) + (["key"] if dimension else [])
    with_ = dimension.with_ if dimension else ""
    return str(_Select([*keys, *_merges((_LATENCY,))], inner, group_by=keys, with_=with_))


def ai_cost_totals(
    store: AnalyticsStore,
    scope: AiScope,
    *,
    latency: bool = True,
    edit_ratios: bool = True,
    catalog: Catalog = ROLLUP_CATALOG,
) -> AiCostFigures:
    """The figures of the whole scope, in one row (latency percentiles only if `latency`, the
    edit-ratio distribution only if `edit_ratios`), read from the rollups of `catalog` where
    they serve the scope (app/ai_cost/plan.py)."""
    params: dict[str, Any] = {}
    figures = _figures(False, edit_ratios)
    sql = str(_Select(_merges(figures), _aggregated(scope, None, params, figures, catalog=catalog)))
    statements: list[tuple[str, Params | None]] = [(sql, params)]
    if latency:
        latency_params: dict[str, Any] = {}
        sql = _latency_sql(scope, None, latency_params, catalog=catalog)
        statements.append((sql, latency_params))
    found, *latency_rows = side_by_side(store, statements)
    totals = AiCostFigures.from_row(found[0])
    if latency_rows:
        totals = replace(totals, latency_levels=_levels(latency_rows[0][0]))
    return totals


# How keys rank in every report (`_Split._ranked` sorts their rows alike in Python).
_COSTLIEST_FIRST = "f_known_cost_eur DESC, f_calls DESC, key ASC"


def _breakdown_sql(
    scope: AiScope,
    dimension: _Dimension,
    params: dict[str, Any],
    figures: Sequence[_Figure],
    limit: int,
    catalog: Catalog,
) -> str:
    """The `limit` costliest keys of `dimension` with their `figures` (no latency)."""
    params["limit"] = limit
    select = _Select(
        ["key", *_merges(figures)],
        _aggregated(scope, dimension, params, figures, catalog=catalog),
        group_by=["key"],
        having=_HAS_EVENTS,
        order_by=_COSTLIEST_FIRST,
        limit="{limit:UInt32}",
        with_=dimension.with_,
    )
    return str(select)


def ai_cost_breakdown(
    store: AnalyticsStore,
    scope: AiScope,
    by: Breakdown,
    *,
    limit: int = 100,
    latency: bool = True,
    edit_ratios: bool = True,
    top_keys: LastTopKeys | None = None,
    catalog: Catalog = ROLLUP_CATALOG,
) -> list[AiCostRow]:
    """One row per value of `by` (output events in their call's row), costliest first, with
    latency percentiles only if `latency` (the edit-ratio distribution only if `edit_ratios`).

    The latency comes from a second statement, run beside the first. By CUSTOMER, it is read
    for the rows returned only (a workspace has many customers, and merging the latency of all
    of them would cost more than the rest of the report): for the customers this scope ranked
    on top last time (remembered in `top_keys`, the runtime's; without it, nothing is), beside
    the figures, then for those of the new ranking it missed, if any.
    """
    dimension = _DIMENSIONS[by]
    params: dict[str, Any] = {}
    sql = _breakdown_sql(scope, dimension, params, _figures(False, edit_ratios), limit, catalog)
    statements: list[tuple[str, Params | None]] = [(sql, params)]
    per_customer = latency and by is Breakdown.CUSTOMER
    ranked = _ranking_key(store, scope, by, None, limit)
    guess = top_keys.get(ranked) if per_customer and top_keys is not None else None
    if latency and by is not Breakdown.CUSTOMER:
        latency_params: dict[str, Any] = {}
        sql = _latency_sql(scope, dimension, latency_params, catalog=catalog)
        statements.append((sql, latency_params))
    elif guess:
        statements.append(_customers_latency(scope, guess, catalog))
    found, *latency_rows = side_by_side(store, statements)
    rows = [AiCostRow(key=row["key"], figures=AiCostFigures.from_row(row)) for row in found]
    if per_customer:
        if top_keys is not None:
            top_keys.put(ranked, [row.key for row in rows])
        guessed = set(guess or ())
        if missed := [row.key for row in rows if row.key not in guessed]:
            latency_rows.append(store.query(*_customers_latency(scope, missed, catalog)))
    if latency:
        levels = {row["key"]: _levels(row) for found_ in latency_rows for row in found_}
        rows = [
            replace(row, figures=replace(row.figures, latency_levels=levels.get(row.key, ())))
            for row in rows
        ]
    return rows


# Up to this many customers, their latency is read from rollups sorted by customer first.
_FEW_CUSTOMERS = 100


def _ranking_key(
    store: AnalyticsStore, scope: AiScope, by: Breakdown, series: Granularity | None, top: int
) -> Hashable:
    """What a report's ranking is remembered by: its scope whatever its time range (a rolling
    range keeps its ranking), its dimension, series granularity and number of top keys."""
    return (store.database, replace(scope, start=_ANY_TIME, end=_ANY_TIME), by, series, top)


_ANY_TIME = datetime.fromtimestamp(0, UTC)


def _customers_latency(
    scope: AiScope, customers: Sequence[str], catalog: Catalog
) -> tuple[str, Params]:
    """The latency statement of a breakdown by CUSTOMER, for `customers` only."""
    params: dict[str, Any] = {"customers": list(customers)}
    sql = _latency_sql(
        scope,
        _DIMENSIONS[Breakdown.CUSTOMER],
        params,
        catalog=catalog,
        conditions=("attr_customer_org_id IN {customers:Array(String)}",),
        few_customers=len(customers) <= _FEW_CUSTOMERS,
    )
    return sql, params


_BUCKET_WIDTH = {
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
    Granularity.WEEK: timedelta(weeks=1),
}


def bucket_count(start: datetime, end: datetime, granularity: Granularity) -> int:
    """How many buckets overlap `[start, end)`: the length of `bucket_starts`, computed
    without listing them (the request cost is reckoned from it before anything runs)."""
    first = floor_to(start, granularity)
    if end <= first:
        return 0
    width = _BUCKET_WIDTH.get(granularity)
    if width is not None:
        return -((first - end) // width)  # ceiling division
    last = end.astimezone(UTC)
    months = (last.year - first.year) * 12 + last.month - first.month
    return months + (floor_to(last, granularity) < last)


def bucket_starts(start: datetime, end: datetime, granularity: Granularity) -> list[datetime]:
    """The start of every bucket that overlaps `[start, end)`, in UTC."""
    if bucket_count(start, end, granularity) > MAX_SERIES_POINTS:
        raise BadUserInput(
            f"The range holds more than {MAX_SERIES_POINTS} buckets: use a coarser "
            "granularity or a shorter range.",
            field="granularity",
        )
    current = floor_to(start, granularity)
    starts: list[datetime] = []
    while current < end:
        starts.append(current)
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
    edit_ratios: bool = True,
    top_keys: LastTopKeys | None = None,
    catalog: Catalog = ROLLUP_CATALOG,
) -> list[AiCostPoint]:
    """The figures per time bucket, every bucket of the range present (empty ones as zeros).

    Split `by` a dimension, each point also has rows for the `top` keys of the whole range
    (costliest first, as in the breakdown) present in that bucket, and one `other` row for the
    remaining keys: a stacked chart then keeps the same series from bucket to bucket. The top
    keys of the last ranking of the same scope, remembered in `top_keys` (the runtime's;
    without it, nothing is), are grouped at once; without them the ranking statement runs first.

    Raises `BadUserInput` when the range holds more than `MAX_SERIES_POINTS` buckets.
    """
    starts = bucket_starts(scope.start, scope.end, granularity)
    if by is None:
        return _unsplit_series(store, scope, granularity, starts, latency, edit_ratios, catalog)

    # One statement groups the top keys and the others of each bucket; their latency comes
    # from a statement beside it. By CUSTOMER, from histograms where they serve the scope, the
    # `other` row's being its bucket's minus the top customers' (counts subtract, states do
    # not), so the states of a thousand customers are never merged per bucket. By any other
    # dimension (tens of keys), each part of the range builds the states of the rows straight
    # from its histogram rows, which is cheaper than merging the rollups' states in the first
    # statement once per grouping set.
    ranked = _ranking_key(store, scope, by, granularity, top)
    guess = None if top_keys is None else top_keys.get(ranked)
    latency_params: dict[str, Any] = {}
    latency_sql = None
    if latency and by is Breakdown.CUSTOMER:
        latency_sql = _split_latency_sql(scope, by, latency_params, granularity, catalog)
    elif latency:
        latency_sql = _split_rows_latency_sql(scope, by, latency_params, granularity, catalog)
    split = _Split(store, scope, by, granularity, top, catalog, latency_sql, latency_params)
    totals, rows, latency_rows = split.run(
        _figures(latency and latency_sql is None, edit_ratios), guess
    )
    if top_keys is not None:
        top_keys.put(ranked, split.top_keys)
    if latency_rows:
        levels = {(row["bucket"], row["part"], row["key"]): _levels(row) for row in latency_rows}
        for bucket, figures_ in totals.items():
            totals[bucket] = _with_levels(figures_, levels.get((bucket, _BUCKET_PART, "")))
        for bucket, bucket_rows in rows.items():
            rows[bucket] = [
                replace(r, figures=_with_levels(r.figures, levels.get(_split_part(bucket, r))))
                for r in bucket_rows
            ]
    return [
        AiCostPoint(start=s, figures=totals.get(s, EMPTY), rows=rows.get(s, [])) for s in starts
    ]


def _unsplit_series(
    store: AnalyticsStore,
    scope: AiScope,
    granularity: Granularity,
    starts: Sequence[datetime],
    latency: bool,
    edit_ratios: bool,
    catalog: Catalog,
) -> list[AiCostPoint]:
    params: dict[str, Any] = {}
    statements: list[tuple[str, Params | None]] = [
        (_series_sql(scope, granularity, params, _figures(False, edit_ratios), catalog), params)
    ]
    if latency:
        latency_params: dict[str, Any] = {}
        sql = _latency_sql(scope, None, latency_params, catalog=catalog, series=granularity)
        statements.append((sql, latency_params))
    found, *latency_rows = side_by_side(store, statements)
    levels = {row["bucket"]: _levels(row) for rows in latency_rows for row in rows}
    points = {row["bucket"]: AiCostFigures.from_row(row) for row in found}
    return [
        AiCostPoint(start=s, figures=_with_levels(points.get(s, EMPTY), levels.get(s)))
        for s in starts
    ]


def _series_sql(
    scope: AiScope,
    granularity: Granularity,
    params: dict[str, Any],
    figures: Sequence[_Figure],
    catalog: Catalog,
) -> str:
    """The `figures` (no latency) per `bucket` of the scope."""
    inner = _aggregated(scope, None, params, figures, catalog=catalog, series=granularity)
    return str(_Select(["bucket", *_merges(figures)], inner, group_by=["bucket"]))


# What ranks a key, and whether it has events at all (`_HAS_EVENTS`).
_RANKING = tuple(f for f in _FIGURES if f.name in {"known_cost_eur", *_EVENT_COUNTS})

_Totals = dict[datetime, AiCostFigures]
_Rows = dict[datetime, list[AiCostRow]]


@dataclass
class _Split:
    """The statements of a series split `by` a dimension, and the top keys they found."""

    store: AnalyticsStore
    scope: AiScope
    by: Breakdown
    granularity: Granularity
    top: int
    catalog: Catalog
    latency_sql: str | None  # of the top keys bound as `top_keys`, see `_split_latency_sql`
    latency_params: dict[str, Any]
    top_keys: list[str] = field(default_factory=list)

    def _latency(self, keys: Sequence[str]) -> list[tuple[str, Params | None]]:
        if self.latency_sql is None or not keys:
            return []
        return [(self.latency_sql, {**self.latency_params, "top_keys": list(keys)})]

    def run(
        self, figures: Sequence[_Figure], guess: Sequence[str] | None
    ) -> tuple[_Totals, _Rows, list[Row]]:
        """One statement for the top keys of the last ranking (`guess`; without one, the
        ranking statement runs first), and the latency statement beside it if any: per bucket
        the top keys' rows, the `other` row and the totals, and every key's totals over the
        whole range, which rank the keys. When that ranking has other top keys than the
        guess, both run again for them."""
        dimension = _DIMENSIONS[self.by]
        params: dict[str, Any] = {}
        inner = _aggregated(
            self.scope, dimension, params, figures, catalog=self.catalog, series=self.granularity
        )
        # Per bucket the rows of the top keys and the `other` row, and the bucket's totals
        # (kept even without events, as in an unsplit series); per key its totals over the
        # range, which rank the keys.
        in_top = _Select(
            ["*", "key IN {top_keys:Array(String)} AS in_top", "if(in_top, key, '') AS row_key"],
            inner,
        )
        select = _Select(
            [
                "bucket",
                "key",
                "in_top",
                "row_key",
                "grouping(bucket) = 0 AS by_bucket",
                "grouping(in_top, row_key) = 0 AS is_row",
                *_merges(figures),
            ],
            in_top,
            group_by=["GROUPING SETS ((bucket, in_top, row_key), (bucket), (key))"],
            having=f"(by_bucket AND NOT is_row) OR ({_HAS_EVENTS})",
            with_=dimension.with_,
        )
        if self.by is Breakdown.CUSTOMER:
            # Only the top keys' totals over the range come back: turning a thousand
            # customers' into Python rows costs more than ranking them here. The other
            # dimensions have tens of keys, too few for the ranking here to pay.
            params["top"] = self.top
            rank = f"row_number() OVER (PARTITION BY by_bucket ORDER BY {_COSTLIEST_FIRST})"
            ranked = _Select(["*", f"{rank} AS key_rank"], select)
            select = _Select(["*"], ranked, where=["by_bucket OR key_rank <= {top:UInt32}"])
        sql = str(select)

        def of_keys(keys: list[str]) -> list[list[Row]]:
            statements = [(sql, {**params, "top_keys": keys}), *self._latency(keys)]
            return side_by_side(self.store, statements)

        keys = (
            sorted(guess) if guess is not None else self._ranked(self.store.query(*self._ranking()))
        )
        found, *latency_rows = of_keys(keys)
        self.top_keys = self._ranked([row for row in found if not row["by_bucket"]])
        if self.top_keys != keys:
            found, *latency_rows = of_keys(self.top_keys)
        totals: _Totals = {}
        rows: _Rows = {}
        for row in found:
            if not row["by_bucket"]:
                continue
            point = AiCostFigures.from_row(row)
            if row["is_row"]:
                rows.setdefault(row["bucket"], []).append(
                    AiCostRow(key=row["row_key"], figures=point, other=not row["in_top"])
                )
            else:
                totals[row["bucket"]] = point
        for bucket_rows in rows.values():
            bucket_rows.sort(
                key=lambda r: (r.other, -r.figures.known_cost_eur, -r.figures.calls, r.key)
            )
        return totals, rows, latency_rows[0] if latency_rows else []

    def _ranking(self) -> tuple[str, Params]:
        """The statement that ranks the keys over the whole range (the `top` costliest)."""
        params: dict[str, Any] = {}
        dimension = _DIMENSIONS[self.by]
        sql = _breakdown_sql(self.scope, dimension, params, _RANKING, self.top, self.catalog)
        return sql, params

    def _ranked(self, totals: Sequence[Row]) -> list[str]:
        """The `top` keys of the keys' `totals` over the range, in order of name."""
        ranked = sorted(
            totals, key=lambda row: (-row["f_known_cost_eur"], -row["f_calls"], row["key"])
        )
        return sorted(row["key"] for row in ranked[: self.top])


# The rows of a split series' latency statement: a top key's, the `other` one, the bucket's.
_KEY_PART, _OTHER_PART, _BUCKET_PART = 0, 1, 2


def _split_part(bucket: datetime, row: AiCostRow) -> tuple[datetime, int, str]:
    return (bucket, _OTHER_PART, "") if row.other else (bucket, _KEY_PART, row.key)


def _split_latency_sql(
    scope: AiScope, by: Breakdown, params: dict[str, Any], series: Granularity, catalog: Catalog
) -> str | None:
    """The latency percentiles of a split series, per `bucket`, `part` and `key`, for the top
    keys bound later as `top_keys`; None where no histogram serves the scope.

    The `other` row's histogram is the bucket's minus those of the top keys (counts subtract,
    states do not): the other keys are never read one by one, which by CUSTOMER means about a
    thousand customers' histograms of each day.
    """
    dimension = _DIMENSIONS[by]
    top = _histogram_rows(
        scope,
        dimension,
        params,
        catalog=catalog,
        series=series,
        conditions=(f"{dimension.key} IN {{top_keys:Array(String)}}",),
        few_customers=by is Breakdown.CUSTOMER,
    )
    every = _histogram_rows(scope, None, params, catalog=catalog, series=series)
    if top is None or every is None:
        return None
    # Each histogram row counts for its part(s): a top key's row for its key and, negated,
    # for the `other` row; a row of the bucket's for the `other` row and the bucket.
    items = _UnionAll(
        [
            _Select(
                [
                    "bucket",
                    "latency_sketch",
                    f"[({_KEY_PART}, toString(key), toInt64(n)), ({_OTHER_PART}, '', -toInt64(n))]"
                    " AS items",
                ],
                top,
            ),
            _Select(
                [
                    "bucket",
                    "latency_sketch",
                    f"[({_OTHER_PART}, '', toInt64(n)), ({_BUCKET_PART}, '', toInt64(n))]",
                ],
                every,
            ),
        ],
        bare=True,
    )
    calls = _Select(
        ["bucket", "item.1 AS part", "item.2 AS key", "latency_sketch", "sum(item.3) AS n"],
        items,
        array_join="items AS item",
        group_by=["bucket", "part", "key", "latency_sketch"],
    )
    latency = f"quantilesExactWeightedIf({_LEVELS})(latency_sketch, toUInt64(n), n > 0)"
    select = _Select(
        ["bucket", "part", "key", f"{latency} AS f_latency"],
        calls,
        group_by=["bucket", "part", "key"],
        with_=dimension.with_,
    )
    return str(select)


def _split_rows_latency_sql(
    scope: AiScope, by: Breakdown, params: dict[str, Any], series: Granularity, catalog: Catalog
) -> str:
    """The latency percentiles of a split series per `bucket`, `part` and `key` (as
    `_split_latency_sql`), each part of the range building its states per bucket and row of
    the split, a top key (bound later as `top_keys`) or the `other` row, from its histogram
    rows (or its rows, or the rollups' states where no histogram has the columns)."""
    dimension = _DIMENSIONS[by]
    # '' for the other keys, the key after a '+' for a top key (which may itself be '').
    row_key = _Dimension(
        f"if(({dimension.key}) IN {{top_keys:Array(String)}}, concat('+', {dimension.key}), '')",
        dimension.columns,
        dimension.with_,
    )
    rows = _aggregated(scope, row_key, params, (_LATENCY,), catalog=catalog, series=series)
    # The bucket's latency merges its rows' states (a few per bucket). Aliases other than the
    # columns' names: ClickHouse would read an alias where the column is meant.
    named = _Select(
        [
            "bucket",
            f"if(key = '', {_OTHER_PART}, {_KEY_PART}) AS row_part",
            "substring(key, 2) AS row_name",
            "f_latency",
        ],
        rows,
    )
    select = _Select(
        [
            "bucket",
            f"if(grouping(row_part) = 0, row_part, {_BUCKET_PART}) AS part",
            "row_name AS key",
            *_merges((_LATENCY,)),
        ],
        named,
        group_by=["GROUPING SETS ((bucket, row_part, row_name), (bucket))"],
        with_=dimension.with_,
    )
    return str(select)


def ai_latency(store: AnalyticsStore, scope: AiScope) -> LatencyPercentiles:
    """Latency percentiles of the scope's completed calls (see `LatencyPercentiles`)."""
    return ai_cost_totals(store, scope).latency


def edit_ratio_distribution(store: AnalyticsStore, scope: AiScope) -> list[EditRatioBucket]:
    """Edited outputs of the scope by edit ratio in tenths."""
    return ai_cost_totals(store, scope).edit_ratio_distribution
