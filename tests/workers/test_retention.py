"""The retention purge on the embedded engine: exactly the expired rows go, per workspace."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy.engine import Engine

from app.accounts.models import Workspace
from app.accounts.service import create_workspace
from app.db import session_scope
from app.event_types import format_timestamp
from app.store.interface import AnalyticsStore
from app.workers.dead_letters import DeadLetterStore
from app.workers.retention import PurgeResult, purge_expired, run_periodically
from app.workers.writer import EventWriter
from tests.workers.rows import queued_row

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _workspace(engine: Engine, plan: str, retention_override: int | None = None) -> UUID:
    with session_scope(engine) as session:
        workspace, _ = create_workspace(session, name=plan, plan_key=plan)
        workspace.override_retention_days = retention_override
        session.add(workspace)
        return workspace.id


def _row(workspace_id: UUID, at: datetime, event: str = "ai_call_completed") -> dict[str, str]:
    return queued_row(
        workspace_id=str(workspace_id),
        event=event,
        timestamp=format_timestamp(at),
        received_at=format_timestamp(at),
    )


def _counts(store: AnalyticsStore, workspace_id: UUID) -> tuple[int, int]:
    params = {"w": workspace_id}
    events = store.query("SELECT count() AS n FROM events WHERE workspace_id = {w:UUID}", params)
    usage = store.query(
        "SELECT count() AS n FROM ai_usage_events WHERE workspace_id = {w:UUID}", params
    )
    return int(events[0]["n"]), int(usage[0]["n"])


def test_purge_deletes_exactly_the_rows_older_than_each_workspaces_retention(
    store: AnalyticsStore, engine: Engine
) -> None:
    free = _workspace(engine, "free")  # 30 days
    short = _workspace(engine, "growth", retention_override=7)  # plan 365, override 7
    growth = _workspace(engine, "growth")  # 365 days
    free_cutoff = NOW - timedelta(days=30)
    writer = EventWriter(store, DeadLetterStore(engine))
    result = writer.write(
        [
            # free: two AI calls and a signup before its cutoff, one call exactly at it (kept),
            # one after.
            _row(free, free_cutoff - timedelta(days=1)),
            _row(free, free_cutoff - timedelta(milliseconds=1)),
            _row(free, free_cutoff - timedelta(days=2), event="signup"),
            _row(free, free_cutoff),
            _row(free, NOW - timedelta(days=1)),
            # short: one call and one signup 8 days old, one call 6 days old.
            _row(short, NOW - timedelta(days=8)),
            _row(short, NOW - timedelta(days=8), event="signup"),
            _row(short, NOW - timedelta(days=6)),
            # growth: 40 days old is well within 365.
            _row(growth, NOW - timedelta(days=40)),
        ]
    )
    assert result.dead_lettered == 0
    assert (_counts(store, free), _counts(store, short), _counts(store, growth)) == (
        (5, 4),
        (3, 2),
        (1, 1),
    )

    results = purge_expired(store, engine, NOW)

    assert sorted(results, key=lambda r: r.cutoff) == [
        PurgeResult(
            workspace_id=free,
            cutoff=free_cutoff,
            deleted={"events": 3, "ai_usage_events": 2},
        ),
        PurgeResult(
            workspace_id=short,
            cutoff=NOW - timedelta(days=7),
            deleted={"events": 2, "ai_usage_events": 1},
        ),
    ]
    assert (_counts(store, free), _counts(store, short), _counts(store, growth)) == (
        (2, 2),
        (1, 1),
        (1, 1),
    )
    kept = store.query(
        "SELECT timestamp FROM events WHERE workspace_id = {w:UUID} ORDER BY timestamp",
        {"w": free},
    )
    assert [r["timestamp"] for r in kept] == [free_cutoff, NOW - timedelta(days=1)]
    # Idempotent: nothing left to delete, no DELETE issued.
    assert purge_expired(store, engine, NOW) == []


def test_a_shorter_retention_applies_at_the_next_run(store: AnalyticsStore, engine: Engine) -> None:
    workspace_id = _workspace(engine, "growth")
    EventWriter(store, DeadLetterStore(engine)).write(
        [_row(workspace_id, NOW - timedelta(days=20))]
    )
    assert purge_expired(store, engine, NOW) == []
    with session_scope(engine) as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        workspace.override_retention_days = 14
    assert [r.deleted for r in purge_expired(store, engine, NOW)] == [
        {"events": 1, "ai_usage_events": 1}
    ]
    assert _counts(store, workspace_id) == (0, 0)


def test_the_periodic_runner_survives_a_failed_run_and_stops_on_request() -> None:
    stop = threading.Event()
    runs: list[int] = []

    def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("ClickHouse hiccup")
        if len(runs) == 3:
            stop.set()

    thread = threading.Thread(
        target=run_periodically,
        args=(job,),
        kwargs={"stop": stop, "interval": timedelta(0), "first_delay": timedelta(0)},
    )
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert runs == [0, 1, 2]


def test_the_rollups_lose_the_periods_wholly_before_the_cutoff(
    store: AnalyticsStore, engine: Engine
) -> None:
    free = _workspace(engine, "free")  # 30 days
    cutoff = NOW - timedelta(days=30)  # 2026-10-24 12:00
    EventWriter(store, DeadLetterStore(engine)).write(
        [
            _row(free, cutoff - timedelta(days=8)),  # the week before the cutoff's
            _row(free, cutoff - timedelta(days=1)),
            _row(free, cutoff - timedelta(milliseconds=1)),
            _row(free, cutoff),
        ]
    )
    purge_expired(store, engine, NOW)

    def periods(table: str) -> list[str]:
        rows = store.query(
            f"SELECT DISTINCT toString(period) AS p FROM {table} WHERE workspace_id = {{w:UUID}} "
            "ORDER BY p",
            {"w": free},
        )
        return [r["p"] for r in rows]

    # The day and the hour of the cutoff stay: a report starting at the cutoff reads their
    # remaining rows, never them as a whole.
    assert periods("ai_daily") == ["2026-10-24 00:00:00"]
    assert periods("ai_hourly") == ["2026-10-24 12:00:00"]
    assert periods("ai_latency_daily_customer") == ["2026-10-24 00:00:00"]
    assert periods("ai_latency_weekly_plan") == ["2026-10-19 00:00:00"]  # the cutoff's week
