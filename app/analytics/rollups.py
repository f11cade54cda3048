"""The rollup tables: the figures of a raw table summed per period (day or hour) and key, kept
by materialized views, and their repair. Those of `ai_usage_events` serve the AI cost reports
(migration 013, figures in app/analytics/ai_figures.py), those of `events` the organizations
list (migration 014, app/analytics/organization_figures.py).

Why tables rather than the aggregate projections they replace (migrations 008, 011 and 012):
ClickHouse plans a SELECT that a projection serves against the table's own primary key and the
projection's query first, which was most of a report's time; the same aggregates read from a
plain table plan much faster (bench/README.md, "Why it is built this way"). Each table is a
`SummingMergeTree`: rows of one key are summed as parts merge (states are merged like in an
`AggregatingMergeTree`, a `SimpleAggregateFunction` by its function), so a report still sums
them.

IMPORTANT: a view's part is not committed atomically with the part of the raw table that fed
it. A worker killed between the two would leave a rollup short of that insert's rows (or,
would ClickHouse commit the views first, ahead of them), and the writer's retry, which skips
rows already stored, would not feed the views again. Every rollup row therefore counts the
raw rows it sums (`source_rows`), and `repair` compares those counts with the rows, per
workspace and day (week, for a weekly rollup), and rebuilds the days (weeks) that differ. The
writer calls it whenever a batch holds events already stored (the sign of a retry) for the
days its statements may have touched; the write locks (app/workers/write_locks.py) keep
other writers of the workspace out while it runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from app.analytics.ai_figures import BUCKET_CALLS, FIGURES
from app.analytics.cluster import for_cluster
from app.analytics.events_table import EVENTS_TABLE
from app.analytics.figure import Figure
from app.analytics.organization_figures import ORGANIZATION_FIGURES
from app.analytics.store import AnalyticsStore
from app.analytics.time_split import (
    GRAIN_KEY,
    Granularity,
    PeriodTable,
    floor_to,
    next_bucket_start,
    start_of,
)

ROWS_TABLE = "ai_usage_events"
_FIGURES_OF: Mapping[str, tuple[Figure, ...]] = {
    ROWS_TABLE: FIGURES,
    EVENTS_TABLE: ORGANIZATION_FIGURES,
}
# The customer whose organization's plan counts for an event without a plan property ('' for
# the others): PLAN groups by it. A column (ALIAS) of `ai_usage_events` and of the customer
# rollups, stored in the plan rollups.
PLAN_CUSTOMER = "if(attr_customer_plan = '', attr_customer_org_id, '')"

_KEY_TYPES: Mapping[str, str] = {
    "attr_environment": "LowCardinality(String)",
    "attr_app_id": "UUID",
    "attr_customer_org_id": "String",
    "attr_customer_plan": "LowCardinality(String)",
    "plan_customer": "String",
    "attr_feature": "LowCardinality(String)",
    "attr_provider": "LowCardinality(String)",
    "attr_model": "LowCardinality(String)",
    "environment": "LowCardinality(String)",
    "customer_org_id": "String",
}


@dataclass(frozen=True)
class Rollup(PeriodTable):
    """A rollup table: its name and grain, the key columns it groups by (in its sort order,
    after the workspace and the period), and whether it holds the figures of its `source` or a
    latency histogram (calls `n` per `latency_sketch` bucket)."""

    keys: tuple[str, ...] = ()
    histogram: bool = False
    # Sorted by customer before the period: a condition on a few customers skips the others.
    customer_first: bool = False
    source: str = ROWS_TABLE  # the raw table it sums

    @property
    def figures(self) -> tuple[Figure, ...]:
        return () if self.histogram else _FIGURES_OF[self.source]

    @property
    def has_plan_customer_alias(self) -> bool:
        return {"attr_customer_org_id", "attr_customer_plan"} <= set(self.keys)

    @property
    def columns(self) -> frozenset[str]:
        """The columns a report may group or filter by when it reads this rollup."""
        extra = {"plan_customer"} if self.has_plan_customer_alias else set()
        return frozenset((*self.keys, *extra))

    @property
    def sort_key(self) -> tuple[str, ...]:
        keys = list(self.keys)
        if self.customer_first:
            keys.remove("attr_customer_org_id")
            order = ["workspace_id", "attr_customer_org_id", "period", *keys]
        else:
            order = ["workspace_id", "period", *keys]
        return (*order, *(["latency_sketch"] if self.histogram else []))


_ENV_APP = ("attr_environment", "attr_app_id")
_DIMS = ("attr_feature", "attr_provider", "attr_model")
_CUSTOMER = ("attr_environment", "attr_customer_org_id", "attr_customer_plan")
_PLAN = ("attr_environment", "attr_customer_plan", "plan_customer")
_WEEK, _DAY, _HOUR = Granularity.WEEK, Granularity.DAY, Granularity.HOUR

# The figures, smallest first within a grain (a report reads the smallest that has its columns):
# per day for the whole days of a range, per hour for the whole hours at its ends.
FIGURE_ROLLUPS: tuple[Rollup, ...] = (
    Rollup("ai_daily", _DAY, _ENV_APP),
    Rollup("ai_daily_feature", _DAY, ("attr_environment", "attr_feature")),
    Rollup("ai_daily_model", _DAY, ("attr_environment", "attr_provider", "attr_model")),
    Rollup("ai_daily_plan", _DAY, _PLAN),
    Rollup("ai_daily_customer", _DAY, _CUSTOMER),
    Rollup(
        "ai_daily_customer_dims",
        _DAY,
        ("attr_customer_org_id", *_ENV_APP, *_DIMS),
        customer_first=True,
    ),
    Rollup("ai_hourly", _HOUR, _ENV_APP),
    Rollup("ai_hourly_dims", _HOUR, (*_ENV_APP, *_DIMS)),
    Rollup("ai_hourly_customer", _HOUR, _CUSTOMER),
)
# Latency histograms: reading one as rows costs about half of merging the same histogram from
# `quantilesExactWeighted` states (those of FIGURE_ROLLUPS, which remain the source where no
# histogram has a report's columns).
HISTOGRAM_ROLLUPS: tuple[Rollup, ...] = (
    Rollup("ai_latency_daily", _DAY, _ENV_APP, histogram=True),
    Rollup("ai_latency_daily_feature", _DAY, ("attr_environment", "attr_feature"), histogram=True),
    Rollup(
        "ai_latency_daily_model",
        _DAY,
        ("attr_environment", "attr_provider", "attr_model"),
        histogram=True,
    ),
    Rollup("ai_latency_daily_plan", _DAY, _PLAN, histogram=True),
    Rollup(
        "ai_latency_daily_customer",
        _DAY,
        ("attr_customer_org_id", "attr_environment", "attr_customer_plan"),
        histogram=True,
        customer_first=True,
    ),
    Rollup("ai_latency_hourly", _HOUR, _ENV_APP, histogram=True),
    # PLAN groups by customer for the customers without a plan property, so a day of its
    # histogram holds about as many rows per customer as their calls of that day have latency
    # buckets. So a range reads its whole weeks from these weekly rows rather than from the
    # daily ones, and the whole hours at its ends from the hourly rows rather than from the
    # raw rows: far fewer rows to merge. A weekly histogram per customer would not help a page
    # of customers: sorted by customer first, it reads their granules whatever the period.
    Rollup("ai_latency_weekly_plan", _WEEK, _PLAN, histogram=True),
    Rollup("ai_latency_hourly_plan", _HOUR, _PLAN, histogram=True),
)
AI_ROLLUPS = (*FIGURE_ROLLUPS, *HISTOGRAM_ROLLUPS)
# The organizations list's, coarsest first.
ORGANIZATION_ROLLUPS: tuple[Rollup, ...] = (
    Rollup("organizations_daily", _DAY, ("environment", "customer_org_id"), source=EVENTS_TABLE),
    Rollup("organizations_hourly", _HOUR, ("environment", "customer_org_id"), source=EVENTS_TABLE),
)
ROLLUPS = (*AI_ROLLUPS, *ORGANIZATION_ROLLUPS)


def select_sql(rollup: Rollup, where: str = "") -> str:
    """The rows of `rollup` computed from its source (those matching `where`, if given): what
    its view inserts for each insert, and what a repair inserts again."""
    keys = [
        f"{PLAN_CUSTOMER} AS plan_customer" if key == "plan_customer" else key
        for key in rollup.keys
    ]
    names = list(rollup.keys)
    if rollup.histogram:
        keys.append("latency_sketch")
        names.append("latency_sketch")
        values = [f"{BUCKET_CALLS} AS n"]
    else:
        values = [f"{f.aggregate} AS {f.alias}" for f in rollup.figures]
    period = GRAIN_KEY[rollup.grain]
    return (
        f"SELECT workspace_id, {period} AS period, {', '.join(keys)}, "
        f"count() AS source_rows, {', '.join(values)} "
        f"FROM {rollup.source}{f' WHERE {where}' if where else ''} "
        f"GROUP BY workspace_id, period, {', '.join(names)}"
    )


def table_sql(rollup: Rollup, value_types: Mapping[str, str]) -> str:
    """The CREATE TABLE of `rollup`; `value_types` maps each figure's alias to its aggregate's
    type (its column's, unless the figure names another)."""
    columns = ["workspace_id UUID", "period DateTime('UTC')"]
    columns += [f"{key} {_KEY_TYPES[key]}" for key in rollup.keys]
    if rollup.histogram:
        columns += ["latency_sketch Float64", "source_rows UInt64", "n UInt64"]
    else:
        columns.append("source_rows UInt64")
        columns += [f"{f.alias} {f.column_type or value_types[f.alias]}" for f in rollup.figures]
    if rollup.has_plan_customer_alias:
        columns.append(f"plan_customer String ALIAS {PLAN_CUSTOMER}")
    body = ",\n    ".join(columns)
    return (
        f"CREATE TABLE IF NOT EXISTS {rollup.name}\n(\n    {body}\n)\n"
        f"ENGINE = SummingMergeTree\nORDER BY ({', '.join(rollup.sort_key)})"
    )


def view_name(rollup: Rollup) -> str:
    return f"{rollup.name}_view"


def migration_statements(rollups: Sequence[Rollup], value_types: Mapping[str, str]) -> list[str]:
    """Per rollup: its table, its view, and its rows computed from those already stored (the
    TRUNCATE makes a migration cut off half-way and run again count them once)."""
    statements = []
    for rollup in rollups:
        statements += [
            table_sql(rollup, value_types),
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view_name(rollup)} TO {rollup.name} AS "
            + select_sql(rollup),
            f"TRUNCATE TABLE {rollup.name}",
            f"INSERT INTO {rollup.name} " + select_sql(rollup),
        ]
    return statements


# --- repair ------------------------------------------------------------------------------------


def _unit(rollup: Rollup) -> Granularity:
    """What a repair counts and rebuilds of `rollup` at once: a day, or a week of a weekly one
    (an hourly rollup's hours are rebuilt a day at a time)."""
    return Granularity.WEEK if rollup.grain is Granularity.WEEK else Granularity.DAY


def _rows_per_unit(source: str, unit: Granularity) -> str:
    return (
        f"SELECT '{source}' AS source, workspace_id, "
        f"toDateTime64({start_of(unit, 'timestamp')}, 3, 'UTC') AS start, count() AS n "
        f"FROM {source} "
        "WHERE workspace_id IN {workspaces:Array(UUID)} "
        "AND timestamp >= {first:DateTime64(3, 'UTC')} AND timestamp < {last:DateTime64(3, 'UTC')} "
        "GROUP BY workspace_id, start"
    )


def _rolled_per_unit(rollup: Rollup, unit: Granularity) -> str:
    return (
        f"SELECT '{rollup.name}' AS rollup, workspace_id, "
        f"toDateTime64({start_of(unit, 'period')}, 3, 'UTC') AS start, "
        f"sum(source_rows) AS n FROM {rollup.name} "
        "WHERE workspace_id IN {workspaces:Array(UUID)} "
        "AND period >= {first:DateTime('UTC')} AND period < {last:DateTime('UTC')} "
        "GROUP BY workspace_id, start"
    )


def repair(
    store: AnalyticsStore,
    workspaces: Sequence[UUID | str],
    first: datetime,
    last: datetime,
    *,
    rollups: Sequence[Rollup] = ROLLUPS,
    cluster: str | None = None,
) -> list[tuple[str, UUID, datetime]]:
    """Rebuild, from its source, each of `rollups`' days (weeks of a weekly rollup) from the
    one holding `first` to the one holding `last` whose rows do not count the workspace's rows
    of that day (week) in the source; returns the (rollup, workspace, start of the day or week)
    rebuilt. The caller keeps other writers of `workspaces` out.
    `cluster`: the cluster the tables are sharded over (the DELETE goes to the local tables;
    the INSERT, through the Distributed one, reaches the workspace's shard)."""
    wrong: list[tuple[str, UUID, datetime]] = []
    for unit in (Granularity.DAY, Granularity.WEEK):
        of_unit = [rollup for rollup in rollups if _unit(rollup) is unit]
        if of_unit:
            wrong += _repair_units(store, workspaces, first, last, of_unit, unit, cluster)
    return sorted(wrong)


def _repair_units(
    store: AnalyticsStore,
    workspaces: Sequence[UUID | str],
    first: datetime,
    last: datetime,
    rollups: Sequence[Rollup],
    unit: Granularity,
    cluster: str | None,
) -> list[tuple[str, UUID, datetime]]:
    """`repair` of `rollups`, all rebuilt by `unit`."""
    start, end = floor_to(first, unit), next_bucket_start(floor_to(last, unit), unit)
    params = {"workspaces": sorted({str(w) for w in workspaces}), "first": start, "last": end}
    sources = sorted({rollup.source for rollup in rollups})
    expected: dict[tuple[str, UUID, datetime], int] = {}
    counted = "\nUNION ALL\n".join(_rows_per_unit(source, unit) for source in sources)
    for r in store.query(counted, params):
        expected[(r["source"], UUID(str(r["workspace_id"])), r["start"])] = int(r["n"])
    rolled: dict[tuple[str, UUID, datetime], int] = {}
    summed = "\nUNION ALL\n".join(_rolled_per_unit(rollup, unit) for rollup in rollups)
    for r in store.query(summed, params):
        rolled[(r["rollup"], UUID(str(r["workspace_id"])), r["start"])] = int(r["n"])
    units = {(w, u) for (_, w, u) in (*expected, *rolled)}
    wrong = sorted(
        (rollup.name, workspace, unit_start)
        for rollup in rollups
        for workspace, unit_start in units
        if rolled.get((rollup.name, workspace, unit_start), 0)
        != expected.get((rollup.source, workspace, unit_start), 0)
    )
    by_name = {rollup.name: rollup for rollup in rollups}
    for name, workspace, unit_start in wrong:
        rollup = by_name[name]
        unit_params = {
            "w": workspace,
            "start": unit_start,
            "next": next_bucket_start(unit_start, unit),
        }
        delete = (
            f"DELETE FROM {name} WHERE workspace_id = {{w:UUID}} "
            "AND period >= {start:DateTime('UTC')} AND period < {next:DateTime('UTC')}"
        )
        for statement in for_cluster(delete, cluster=cluster, database=store.database):
            store.command(statement, unit_params)
        where = (
            "workspace_id = {w:UUID} AND timestamp >= {start:DateTime64(3, 'UTC')} "
            "AND timestamp < {next:DateTime64(3, 'UTC')}"
        )
        store.command(f"INSERT INTO {name} {select_sql(rollup, where)}", unit_params)
    return wrong
