"""The rollup tables: created as app/store/rollups.py renders them, fed by their views,
and rebuilt when a crash between an insert and its views left them short (or over)."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson
from sqlalchemy.engine import Engine

from app.store.interface import AnalyticsStore, Params, Row
from app.store.rollups import view_name
from app.store.time_split import Granularity
from app.workers.dead_letters import DeadLetterStore
from app.workers.rollups import ROLLUPS, repair
from app.workers.writer import EventWriter
from tests.workers.rows import WORKSPACE, queued_row

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _batch() -> list[dict[str, str]]:
    return [
        queued_row("call-1"),
        queued_row("call-2", customer_org_id="globex"),
        queued_row("failed-1", event="ai_call_failed"),
    ]


def _rolled(store: AnalyticsStore, table: str) -> list[dict[str, object]]:
    return store.query(
        f"SELECT toDateTime64(period, 3, 'UTC') AS period, sum(source_rows) AS source_rows "
        f"FROM {table} GROUP BY period ORDER BY period"
    )


def test_every_rollup_counts_the_rows_of_a_batch(store: AnalyticsStore, engine: Engine) -> None:
    EventWriter(store, DeadLetterStore(engine)).write(_batch())
    for rollup in ROLLUPS:  # DAY is a Monday: the start of its week too
        period = DAY.replace(hour=10) if rollup.grain is Granularity.HOUR else DAY
        assert _rolled(store, rollup.name) == [{"period": period, "source_rows": 3}], rollup.name


def test_a_rollup_left_short_by_a_crash_is_rebuilt_when_the_batch_is_retried(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    # The worker dies between the part of `ai_usage_events` and that of one view.
    store.command(f"DETACH TABLE {view_name(ROLLUPS[0])}")
    writer.write(_batch())
    store.command(f"ATTACH TABLE {view_name(ROLLUPS[0])}")
    assert _rolled(store, "ai_daily") == []
    result = writer.write(_batch())  # the queue hands the unacknowledged batch out again
    assert (result.inserted, result.duplicates) == (0, 3)
    assert _rolled(store, "ai_daily") == [{"period": DAY, "source_rows": 3}]
    totals = "SELECT sum(f_calls) AS calls, sum(f_failed_calls) AS failed FROM ai_daily"
    assert store.query(totals) == [{"calls": 2, "failed": 1}]


def test_an_organization_rollup_left_short_by_a_crash_is_rebuilt_when_the_batch_is_retried(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    batch = [
        queued_row("view-1", event="page_view", properties="{}"),
        queued_row("view-2", event="page_view", properties="{}", customer_org_id="globex"),
        queued_row("view-3", event="page_view", properties="{}", user_hash="u2"),
    ]
    # The worker dies between the part of `events` and that of one view.
    store.command("DETACH TABLE organizations_daily_view")
    writer.write(batch)
    store.command("ATTACH TABLE organizations_daily_view")
    assert _rolled(store, "organizations_daily") == []
    writer.write(batch)  # retried
    assert _rolled(store, "organizations_daily") == [{"period": DAY, "source_rows": 3}]
    per_organization = store.query(
        "SELECT customer_org_id AS org, sum(f_event_count) AS events,"
        " uniqExactIfMerge(f_active_users) AS users FROM organizations_daily"
        " GROUP BY org ORDER BY org"
    )
    assert per_organization == [
        {"org": "acme-corp", "events": 2, "users": 2},
        {"org": "globex", "events": 1, "users": 1},
    ]


def test_a_rollup_that_counted_an_insert_twice_is_rebuilt(
    store: AnalyticsStore, engine: Engine
) -> None:
    EventWriter(store, DeadLetterStore(engine)).write(_batch())
    store.command("INSERT INTO ai_hourly_dims SELECT * FROM ai_hourly_dims")
    rebuilt = repair(store, [WORKSPACE], DAY, DAY)
    assert rebuilt == [("ai_hourly_dims", UUID(WORKSPACE), DAY)]
    assert _rolled(store, "ai_hourly_dims") == [{"period": DAY.replace(hour=10), "source_rows": 3}]


def test_a_weekly_rollup_is_rebuilt_by_the_whole_week_of_a_retried_day(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    thursday = "2026-11-05T08:00:00.000000Z"
    writer.write([*_batch(), queued_row("call-3", timestamp=thursday, received_at=thursday)])
    store.command("INSERT INTO ai_latency_weekly_plan SELECT * FROM ai_latency_weekly_plan")
    rebuilt = repair(store, [WORKSPACE], DAY.replace(day=5), DAY.replace(day=5))
    assert rebuilt == [("ai_latency_weekly_plan", UUID(WORKSPACE), DAY)]  # Monday's week
    assert _rolled(store, "ai_latency_weekly_plan") == [{"period": DAY, "source_rows": 4}]


def test_rollups_that_count_every_row_are_left_as_they_are(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    writer.write(_batch())
    assert repair(store, [WORKSPACE], DAY, DAY) == []


def test_correction_pairs_on_another_day_are_rebuilt_when_their_call_is_retried(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    next_day = "2026-11-03T09:00:00.000000Z"
    output = queued_row(
        "accepted-1",
        event="ai_output_accepted",
        timestamp=next_day,
        received_at=next_day,
        properties=orjson.dumps({"ai_call_id": "call-x"}).decode(),
    )
    writer.write([output])  # stored before its call: attributed to nothing yet
    call = queued_row(
        "call-x",
        properties=orjson.dumps(
            {"ai_call_id": "call-x", "feature": "search", "input_tokens": 10, "output_tokens": 5}
        ).decode(),
    )
    store.command(f"DETACH TABLE {view_name(ROLLUPS[1])}")  # ai_daily_feature
    writer.write([call])  # the call, and the output's correction pair on 3 November
    store.command(f"ATTACH TABLE {view_name(ROLLUPS[1])}")
    writer.write([call])  # retried
    features = store.query(
        "SELECT toDateTime64(period, 3, 'UTC') AS day, attr_feature AS feature, "
        "sum(f_accepted_outputs) AS accepted, sum(source_rows) AS source_rows "
        "FROM ai_daily_feature GROUP BY day, feature HAVING source_rows > 0 ORDER BY day, feature"
    )
    assert features == [
        {"day": DAY, "feature": "search", "accepted": 0, "source_rows": 1},
        {"day": DAY.replace(day=3), "feature": "", "accepted": 0, "source_rows": 2},
        {"day": DAY.replace(day=3), "feature": "search", "accepted": 1, "source_rows": 1},
    ]


class _Commands:
    """Reads from `store`; records the statements it is told to run instead of running them."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store
        self.database = store.database
        self.commands: list[str] = []

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        return self.store.query(sql, params)

    def command(self, sql: str, params: Params | None = None) -> None:
        self.commands.append(" ".join(sql.split()))


def test_on_a_cluster_a_rebuild_deletes_on_each_shard_and_inserts_through_the_distributed_table(
    store: AnalyticsStore, engine: Engine
) -> None:
    EventWriter(store, DeadLetterStore(engine)).write(_batch())
    store.command("INSERT INTO ai_daily SELECT * FROM ai_daily")
    recording = _Commands(store)
    repair(recording, [WORKSPACE], DAY, DAY, cluster="analytics")  # type: ignore[arg-type]
    delete, insert = recording.commands
    assert delete.startswith(
        f"DELETE FROM {store.database}.ai_daily_local ON CLUSTER 'analytics' WHERE "
    )
    assert insert.startswith("INSERT INTO ai_daily SELECT ")
    assert " FROM ai_usage_events WHERE workspace_id = {w:UUID} " in insert
