"""The rollup tables: the figures of a raw table summed per period (day or hour) and key, kept
by materialized views. What a rollup is and the SQL of its table and view; each report family
declares its own (app/ai_cost/rollups.py over `ai_usage_events`, migration 013;
app/organizations/rollups.py over `events`, migration 014), and the writer keeps all of them
(app/workers/rollups.py, which repairs them).

Why tables rather than the aggregate projections they replace (migrations 008, 011 and 012):
ClickHouse plans a SELECT that a projection serves against the table's own primary key and the
projection's query first, which was most of a report's time; the same aggregates read from a
plain table plan much faster (bench/README.md, "Why it is built this way"). Each table is a
`SummingMergeTree`: rows of one key are summed as parts merge (states are merged like in an
`AggregatingMergeTree`, a `SimpleAggregateFunction` by its function), so a report still sums
them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.store.events_table import AI_USAGE_TABLE
from app.store.figure import Figure
from app.store.time_split import GRAIN_KEY, PeriodTable

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
    after the workspace and the period), and whether it holds `figures` of its `source` or a
    latency histogram (calls `n` per `latency_sketch` bucket, counted by `bucket_calls`).

    The report family that defines a rollup gives it its figures (app/ai_cost/rollups.py,
    app/organizations/rollups.py); a test of a changed figure passes rollups with other
    figures (`dataclasses.replace`) to the functions below."""

    keys: tuple[str, ...] = ()
    histogram: bool = False
    # Sorted by customer before the period: a condition on a few customers skips the others.
    customer_first: bool = False
    source: str = AI_USAGE_TABLE  # the raw table it sums
    bucket_calls: str = ""  # a histogram's count of calls per `latency_sketch` bucket
    # The figures it stores per key and period (none for a histogram).
    figures: tuple[Figure, ...] = field(default=(), repr=False)

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
        values = [f"{rollup.bucket_calls} AS n"]
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
