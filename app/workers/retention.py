"""The retention purge: deletes raw data older than each workspace's retention from ClickHouse.

Reads stop showing expired data at once (`app.accounts.retention`); this job removes it, every
few hours, with one lightweight DELETE per workspace and table that holds any. It is
idempotent — a run cut short is finished by the next — so any process that owns the analytics
store may run it, and two processes running it at once only duplicate work.

IMPORTANT: a lightweight DELETE is a mutation (ClickHouse masks the rows at once and rewrites
parts later): issuing one per workspace and table only when rows are due keeps the mutation
queue short. Lightweight deletes need ClickHouse 23.3 or later (or chdb).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.accounts.models import Workspace
from app.accounts.retention import retention_start
from app.db import session_scope, utcnow
from app.plans.service import limits_for
from app.store.cluster import for_cluster
from app.store.interface import AnalyticsStore
from app.store.time_split import floor_to
from app.workers.rollups import ROLLUPS

log = logging.getLogger(__name__)

# The raw tables, each holding `workspace_id` and `timestamp`; both follow the same retention.
RAW_TABLES = ("events", "ai_usage_events")
DEFAULT_INTERVAL = timedelta(hours=6)
# Not at start-up: migrations and the first batches come first.
DEFAULT_FIRST_DELAY = timedelta(minutes=5)

_COUNT = (
    "SELECT count() AS n FROM {table} WHERE workspace_id = {{w:UUID}}"
    " AND timestamp < {{cutoff:DateTime64(3, 'UTC')}}"
)
_DELETE = (
    "DELETE FROM {table} WHERE workspace_id = {{w:UUID}}"
    " AND timestamp < {{cutoff:DateTime64(3, 'UTC')}}"
)


# The rollups (app/store/rollups.py) lose their periods once wholly expired; reports never
# read the period holding the cutoff as a whole (they start at the cutoff, in its partial hour).
_ROLLUP_PERIOD_BEFORE = "workspace_id = {{w:UUID}} AND period < {{{before}:DateTime('UTC')}}"
_ROLLUP_COUNTS = "\nUNION ALL\n".join(
    f"SELECT '{rollup.name}' AS rollup, count() AS n FROM {rollup.name} "
    f"WHERE {_ROLLUP_PERIOD_BEFORE.format(before=rollup.grain.value)}"
    for rollup in ROLLUPS
)


@dataclass(frozen=True)
class PurgeResult:
    """What one workspace lost in a run: rows before `cutoff`, per table."""

    workspace_id: UUID
    cutoff: datetime
    deleted: dict[str, int]


def retention_cutoffs(engine: Engine, now: datetime) -> list[tuple[UUID, datetime]]:
    """Each workspace and the instant before which its raw data has expired."""
    with session_scope(engine) as session:
        return [
            (workspace.id, retention_start(limits_for(session, workspace), now))
            for workspace in session.exec(select(Workspace))
        ]


def purge_expired(
    store: AnalyticsStore,
    engine: Engine,
    now: datetime | None = None,
    *,
    cluster: str | None = None,
) -> list[PurgeResult]:
    """Delete, for every workspace, the rows of `events` and `ai_usage_events` whose timestamp
    is before its retention start at `now` (and the rollups' periods wholly before it); returns
    the workspaces that had raw rows to delete, with their counts. `cluster`:
    the ClickHouse cluster the tables are sharded over (`SAAS_TRACKER_CLICKHOUSE_CLUSTER`)."""
    instant = now or utcnow()
    results: list[PurgeResult] = []
    for workspace_id, cutoff in retention_cutoffs(engine, instant):
        params = {"w": workspace_id, "cutoff": cutoff}
        deleted: dict[str, int] = {}
        for table in RAW_TABLES:
            # Counted first: the number is the job's report, and a DELETE that would match
            # nothing is not issued at all (see IMPORTANT above).
            due = int(store.query(_COUNT.format(table=table), params)[0]["n"])
            if due:
                for statement in for_cluster(
                    _DELETE.format(table=table), cluster=cluster, database=store.database
                ):
                    store.command(statement, params)
            deleted[table] = due
        _purge_rollups(store, workspace_id, cutoff, cluster=cluster)
        if any(deleted.values()):
            log.info(
                "retention purge: workspace %s, before %s: %s",
                workspace_id,
                cutoff.isoformat(),
                deleted,
            )
            results.append(PurgeResult(workspace_id=workspace_id, cutoff=cutoff, deleted=deleted))
    return results


def _purge_rollups(
    store: AnalyticsStore, workspace_id: UUID, cutoff: datetime, *, cluster: str | None
) -> None:
    params = {
        "w": workspace_id,
        **{grain.value: floor_to(cutoff, grain) for grain in {r.grain for r in ROLLUPS}},
    }
    by_name = {rollup.name: rollup for rollup in ROLLUPS}
    for row in store.query(_ROLLUP_COUNTS, params):
        if not row["n"]:
            continue
        rollup = by_name[row["rollup"]]
        where = _ROLLUP_PERIOD_BEFORE.format(before=rollup.grain.value)
        for statement in for_cluster(
            f"DELETE FROM {rollup.name} WHERE {where}", cluster=cluster, database=store.database
        ):
            store.command(statement, params)


def run_periodically(
    job: Callable[[], object],
    *,
    stop: threading.Event,
    interval: timedelta = DEFAULT_INTERVAL,
    first_delay: timedelta = DEFAULT_FIRST_DELAY,
) -> None:
    """Run `job` after `first_delay`, then every `interval`, until `stop` is set. A failed run
    is logged and retried at the next tick (the job is idempotent)."""
    wait = first_delay
    while not stop.wait(wait.total_seconds()):
        try:
            job()
        except Exception:
            log.exception("retention purge failed; retrying in %s", interval)
        wait = interval


def start_purger(
    store: AnalyticsStore,
    engine: Engine,
    *,
    stop: threading.Event,
    cluster: str | None = None,
    interval: timedelta = DEFAULT_INTERVAL,
    first_delay: timedelta = DEFAULT_FIRST_DELAY,
) -> threading.Thread:
    """Start the periodic purge in a daemon thread of this process; it ends when `stop` is
    set (the runtime's stop event)."""
    thread = threading.Thread(
        target=run_periodically,
        args=(lambda: purge_expired(store, engine, cluster=cluster),),
        kwargs={"stop": stop, "interval": interval, "first_delay": first_delay},
        name="retention-purge",
        daemon=True,
    )
    thread.start()
    return thread
