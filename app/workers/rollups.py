"""Every rollup table the writer keeps (the AI cost reports' and the organizations list's), and
their repair.

IMPORTANT: a view's part is not committed atomically with the part of the raw table that fed
it. A worker killed between the two would leave a rollup short of that insert's rows (or,
would ClickHouse commit the views first, ahead of them), and the writer's retry, which skips
rows already stored, would not feed the views again. Every rollup row therefore counts the
raw rows it sums (`source_rows`), and `repair` compares those counts with the rows, per
workspace and day (week, for a weekly rollup), and rebuilds the days (weeks) that differ. The
writer calls it whenever a batch holds events already stored (the sign of a retry) for the
days its statements may have touched; the write locks (app/workers/write_locks.py) keep
other writers of the workspace out while it runs. What a rollup is: app/store/rollups.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from app.ai_cost.rollups import AI_ROLLUPS
from app.organizations.rollups import ORGANIZATION_ROLLUPS
from app.store.cluster import for_cluster
from app.store.interface import AnalyticsStore
from app.store.rollups import Rollup, select_sql
from app.store.time_split import Granularity, floor_to, next_bucket_start, start_of

ROLLUPS = (*AI_ROLLUPS, *ORGANIZATION_ROLLUPS)


_MUTATION_ID = re.compile(r"^[\w.-]+$")


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
    if cluster is None:
        _cancel_unfinished_deletes(
            store, sorted({r.name for r in rollups} | {r.source for r in rollups})
        )
    wrong: list[tuple[str, UUID, datetime]] = []
    for unit in (Granularity.DAY, Granularity.WEEK):
        of_unit = [rollup for rollup in rollups if _unit(rollup) is unit]
        if of_unit:
            wrong += _repair_units(store, workspaces, first, last, of_unit, unit, cluster)
    return sorted(wrong)


def _cancel_unfinished_deletes(store: AnalyticsStore, tables: Sequence[str]) -> None:
    """A DELETE whose statement failed (a full disk) stays queued as a mutation the engine
    retries in the background: once it succeeds, it removes rows that the comparison below
    counted, after the batch that found them was acknowledged. Unfinished mutations of these
    tables are cancelled first (one another writer is waiting for fails its batch, which is
    retried); rows a cancelled one had already removed show up as a difference and are
    rebuilt."""
    failing = store.query(
        "SELECT table, mutation_id FROM system.mutations WHERE database = {db:String}"
        " AND table IN {tables:Array(String)} AND NOT is_done",
        {"db": store.database, "tables": list(tables)},
    )
    for row in failing:
        mutation = str(row["mutation_id"])
        if not _MUTATION_ID.match(mutation):
            continue
        store.command(
            f"KILL MUTATION WHERE database = '{store.database}' AND table = '{row['table']}'"
            f" AND mutation_id = '{mutation}' SYNC"
        )


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
