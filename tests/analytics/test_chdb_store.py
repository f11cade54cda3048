"""The embedded backend (chdb, the current ClickHouse engine): binding, types, errors, and the
schema itself — migrations and the materialized views that fill from `events`."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
import pytest

from app.errors import AnalyticsLimitExceeded, AnalyticsRejected, AnalyticsUnavailable
from app.store.events_table import to_queued_row
from app.store.interface import AnalyticsStore, Row, open_store, query_settings, side_by_side
from app.store.migrations import load_migrations, migrate
from app.workers.writer import EventWriter
from tests.analytics.samples import HOSTILE_STRINGS

WORKSPACE = UUID("6f1b0a0e-5d8c-4a51-9c4e-3b4f6d9e0a11")
APP = UUID("0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f")
OTHER_APP = UUID("11111111-2222-4333-8444-555555555555")
EVENT_COLUMNS = (
    "workspace_id",
    "app_id",
    "event_id",
    "event",
    "timestamp",
    "received_at",
    "environment",
    "customer_org_id",
    "user_hash",
    "properties",
    "ai_cost_status",
    "ai_pricing_source",
    "ai_canonical_model_key",
    "estimated_cost_eur",
)
AI_PROPERTIES = {
    "customer_plan": "pro",
    "feature": "support",
    "provider": "openai",
    "model": "gpt-5.4-mini",
    "request_type": "chat",
    "ai_call_id": "call-1",
    "workflow_id": "wf-1",
    "input_tokens": 1200,
    "output_tokens": 350,
    "cached_input_tokens": 200,
    "total_tokens": 1550,
    "latency_ms": 812.5,
    "success": True,
    "error_code": "",
    "value_signal": "accepted",
    "edit_ratio": 0.25,
}


def event(event_id: str = "e1", **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "workspace_id": WORKSPACE,
        "app_id": APP,
        "event_id": event_id,
        "event": "ai_call_completed",
        "timestamp": datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC),
        "received_at": datetime(2026, 11, 2, 10, 0, 0, 500000, tzinfo=UTC),
        "environment": "production",
        "customer_org_id": "acme-corp",
        "user_hash": "u1",
        "properties": orjson.dumps(AI_PROPERTIES).decode(),
        "ai_cost_status": "calculated",
        "ai_pricing_source": "global_catalog",
        "ai_canonical_model_key": "openai/gpt-5.4-mini",
        "estimated_cost_eur": Decimal("0.000123456789"),
    }
    row.update(overrides)
    return row


@pytest.fixture
def things(store: AnalyticsStore) -> AnalyticsStore:
    store.command(
        "CREATE TABLE things (name String, quantity UInt64, cost Nullable(Decimal(38, 12))) "
        "ENGINE = MergeTree ORDER BY quantity"
    )
    return store


# --- parameter binding -----------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_a_hostile_string_parameter_round_trips_exactly(store: AnalyticsStore, value: str) -> None:
    rows = store.query(
        "SELECT {value:String} AS value, length({value:String}) AS n", {"value": value}
    )
    assert rows == [{"value": value, "n": len(value.encode())}]


def test_hostile_strings_are_stored_exactly_and_found_by_parameter(things: AnalyticsStore) -> None:
    things.insert(
        "things",
        ("name", "quantity"),
        [{"name": s, "quantity": i} for i, s in enumerate(HOSTILE_STRINGS)],
    )
    stored = things.query("SELECT name FROM things ORDER BY quantity")
    assert [r["name"] for r in stored] == HOSTILE_STRINGS
    for i, value in enumerate(HOSTILE_STRINGS):
        found = things.query(
            "SELECT quantity FROM things WHERE name = {name:String}", {"name": value}
        )
        assert found == [{"quantity": i}]


def test_an_array_parameter_selects_rows_with_in(things: AnalyticsStore) -> None:
    things.insert(
        "things",
        ("name", "quantity"),
        [
            {"name": "it's", "quantity": 1},
            {"name": "b", "quantity": 2},
            {"name": "c", "quantity": 3},
        ],
    )
    rows = things.query(
        "SELECT quantity FROM things WHERE name IN {names:Array(String)} ORDER BY quantity",
        {"names": ["it's", "c", "absent"]},
    )
    assert rows == [{"quantity": 1}, {"quantity": 3}]


def test_an_empty_array_parameter_in_in_matches_nothing(things: AnalyticsStore) -> None:
    things.insert("things", ("name", "quantity"), [{"name": "a", "quantity": 1}])
    rows = things.query(
        "SELECT count() AS n FROM things WHERE name IN {names:Array(String)}", {"names": []}
    )
    assert rows == [{"n": 0}]


def test_a_uuid_array_given_as_text_selects_with_in(store: AnalyticsStore) -> None:
    store.insert("events", EVENT_COLUMNS, [event("e1"), event("e2", app_id=OTHER_APP)])
    rows = store.query(
        "SELECT event_id FROM events WHERE app_id IN {apps:Array(UUID)}", {"apps": [str(OTHER_APP)]}
    )
    assert rows == [{"event_id": "e2"}]


def test_null_and_zero_parameters_stay_distinct(store: AnalyticsStore) -> None:
    rows = store.query(
        "SELECT {a:Nullable(Decimal(38, 12))} AS a, {b:Nullable(Decimal(38, 12))} AS b, "
        "{c:Nullable(String)} AS c, {d:Nullable(String)} AS d",
        {"a": None, "b": 0, "c": None, "d": ""},
    )
    assert rows == [{"a": None, "b": Decimal(0), "c": None, "d": ""}]
    assert rows[0]["b"] is not None


def test_null_and_zero_costs_stay_distinct_when_stored(things: AnalyticsStore) -> None:
    things.insert(
        "things",
        ("name", "quantity", "cost"),
        [
            {"name": "unknown", "quantity": 1, "cost": None},
            {"name": "free", "quantity": 2, "cost": 0},
        ],
    )
    rows = things.query("SELECT name, cost, isNull(cost) AS missing FROM things ORDER BY quantity")
    assert rows == [
        {"name": "unknown", "cost": None, "missing": 1},
        {"name": "free", "cost": Decimal(0), "missing": 0},
    ]


def test_a_decimal_parameter_is_exact_to_12_places(store: AnalyticsStore) -> None:
    value = Decimal("12345678901234567890123456.123456789012")
    rows = store.query(
        "SELECT {v:Decimal(38, 12)} AS v, {tiny:Decimal(38, 12)} AS tiny",
        {"v": value, "tiny": Decimal("0.000000000001")},
    )
    assert rows == [{"v": value, "tiny": Decimal("0.000000000001")}]


def test_stored_decimals_sum_exactly_to_12_places(things: AnalyticsStore) -> None:
    costs = [Decimal("0.000000000001"), Decimal("12345678901234567890123456.123456789012")]
    things.insert(
        "things",
        ("name", "quantity", "cost"),
        [{"name": "x", "quantity": i, "cost": c} for i, c in enumerate(costs)],
    )
    assert things.query("SELECT sum(cost) AS total FROM things") == [
        {"total": Decimal("12345678901234567890123456.123456789013")}
    ]


def test_a_decimal_keeps_its_column_scale(store: AnalyticsStore) -> None:
    (row,) = store.query("SELECT {v:Decimal(38, 12)} AS v", {"v": Decimal("1.5")})
    assert str(row["v"]) == "1.500000000000"


def test_a_uuid_parameter_returns_a_uuid(store: AnalyticsStore) -> None:
    assert store.query("SELECT {u:UUID} AS u", {"u": APP}) == [{"u": APP}]


def test_a_uuid_given_as_text_returns_a_uuid(store: AnalyticsStore) -> None:
    assert store.query("SELECT {u:UUID} AS u", {"u": str(APP)}) == [{"u": APP}]


def test_a_datetime64_parameter_round_trips_as_aware_utc(store: AnalyticsStore) -> None:
    at = datetime(2026, 11, 2, 11, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    (row,) = store.query("SELECT {at:DateTime64(3, 'UTC')} AS at", {"at": at})
    assert row == {"at": datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC)}
    assert row["at"].tzinfo is UTC


def test_stored_timestamps_round_trip_and_filter_by_parameter(store: AnalyticsStore) -> None:
    early = datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC)
    store.insert(
        "events",
        EVENT_COLUMNS,
        [event("early", timestamp=early), event("late", timestamp=early + timedelta(hours=1))],
    )
    rows = store.query(
        "SELECT event_id, timestamp FROM events WHERE timestamp < {until:DateTime64(3, 'UTC')}",
        {"until": early + timedelta(minutes=1)},
    )
    assert rows == [{"event_id": "early", "timestamp": early}]


def test_a_whole_second_datetime_parameter_binds_as_datetime(store: AnalyticsStore) -> None:
    rows = store.query(
        "SELECT toUnixTimestamp({at:DateTime}) AS t", {"at": datetime(2026, 11, 2, 10, tzinfo=UTC)}
    )
    assert rows == [{"t": 1793613600}]


def test_a_datetime_column_reads_as_an_aware_datetime(store: AnalyticsStore) -> None:
    rows = store.query("SELECT toDateTime('2026-11-02 10:00:00', 'UTC') AS at")
    assert rows == [{"at": datetime(2026, 11, 2, 10, tzinfo=UTC)}]


def test_each_column_type_reads_as_its_python_value(store: AnalyticsStore) -> None:
    (row,) = store.query(
        "SELECT toUUID('0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f') AS uuid,"
        " toDecimal128('1.5', 12) AS cost, [toDecimal64('2', 2)] AS costs,"
        " CAST(NULL, 'Nullable(Decimal(38, 12))') AS no_cost,"
        " toDateTime64('2026-11-02 10:00:00.123', 3, 'UTC') AS at, toDate('2026-11-02') AS day,"
        " toInt64(-9223372036854775808) AS low, toUInt64(18446744073709551615) AS high,"
        " [1.5, nan, 2] AS floats, 1 / 0 AS inf, toFloat32(0.1) AS f32, true AS yes,"
        " toLowCardinality('x') AS lc, (1, 'a') AS pair, map('a', toUInt8(1)) AS m,"
        " 'a\\nb\"c' AS text"
    )
    low, nan, two = row.pop("floats")
    assert (low, math.isnan(nan), repr(two)) == (1.5, True, "2.0")
    assert repr(row) == repr(
        {
            "uuid": APP,
            "cost": Decimal("1.500000000000"),
            "costs": [Decimal("2.00")],
            "no_cost": None,
            "at": datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC),
            "day": date(2026, 11, 2),
            "low": -9223372036854775808,
            "high": 18446744073709551615,
            "inf": float("inf"),
            "f32": 0.10000000149011612,
            "yes": True,
            "lc": "x",
            "pair": {"1": 1, "2": "a"},
            "m": [("a", 1)],
            "text": 'a\nb"c',
        }
    )


def test_a_column_type_json_cannot_carry_reads_as_arrow_gives_it(store: AnalyticsStore) -> None:
    rows = store.query(
        "SELECT CAST('on', 'Enum8(\\'on\\' = 1)') AS state, toFixedString('ab', 2) AS code"
    )
    assert rows == [{"state": 1, "code": b"ab"}]  # an enum as its number


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        ("SELECT * FROM no_such_table", 60),
        ("SELECT no_such_function(1)", 46),
        ("SELEC 1", 62),
    ],
)
def test_a_server_error_is_rejected_with_its_code(
    store: AnalyticsStore, sql: str, code: int
) -> None:
    with pytest.raises(AnalyticsRejected) as refused:
        store.query(sql)
    assert refused.value.details == {"clickhouse_code": code}
    assert refused.value.message.startswith(f"Code: {code}. DB::Exception: ")
    assert "\n" not in refused.value.message


def test_a_missing_parameter_is_rejected_with_code_456(store: AnalyticsStore) -> None:
    with pytest.raises(AnalyticsRejected) as refused:
        store.query("SELECT {absent:String} AS a", {})
    assert refused.value.details == {"clickhouse_code": 456}


def test_a_value_that_does_not_fit_its_column_is_rejected_and_nothing_is_stored(
    things: AnalyticsStore,
) -> None:
    too_big = Decimal("1" + "0" * 30)  # Decimal(38, 12) holds 26 digits before the point
    with pytest.raises(AnalyticsRejected):
        things.insert(
            "things",
            ("name", "quantity", "cost"),
            [
                {"name": "ok", "quantity": 1, "cost": 1},
                {"name": "big", "quantity": 2, "cost": too_big},
            ],
        )
    assert things.query("SELECT count() AS n FROM things") == [{"n": 0}]


# --- the events schema -----------------------------------------------------------------------


def test_an_events_row_with_every_column_type_round_trips(store: AnalyticsStore) -> None:
    row = event("e1")
    unknown_cost = event(
        "e2",
        event="page_viewed",
        properties="{}",
        ai_cost_status="",
        ai_pricing_source="",
        ai_canonical_model_key="",
        estimated_cost_eur=None,
    )
    store.insert("events", EVENT_COLUMNS, [row, unknown_cost])
    columns = ", ".join(EVENT_COLUMNS)
    assert store.query(f"SELECT {columns} FROM events ORDER BY event_id") == [row, unknown_cost]


def test_every_migration_file_is_recorded_with_its_version(store: AnalyticsStore) -> None:
    recorded = store.query("SELECT version, name FROM schema_migrations FINAL ORDER BY version")
    assert recorded[:4] == [
        {"version": 1, "name": "001_events"},
        {"version": 2, "name": "002_ai_usage_events"},
        {"version": 3, "name": "003_ai_usage_cost_resolution"},
        {"version": 4, "name": "004_event_id_indexes"},
    ]
    assert recorded == [{"version": m.version, "name": m.name} for m in load_migrations()]


def test_migrating_again_applies_nothing_and_records_nothing(store: AnalyticsStore) -> None:
    assert migrate(store) == []
    assert store.query("SELECT count() AS n FROM schema_migrations") == [
        {"n": len(load_migrations())}
    ]


def test_a_fresh_database_migrated_has_the_schema_of_each_test_database(
    store: AnalyticsStore, clickhouse_url: str
) -> None:
    """Tests run on copies of one migrated database (tests/conftest.py): a copy must hold
    what migrating gives (tables, projections, indexes, TTLs, applied migrations)."""
    fresh = open_store(clickhouse_url, database=f"{store.database}_fresh")
    try:
        assert migrate(fresh) == [m.name for m in load_migrations()]
        assert _schema(fresh) == _schema(store)
        assert _applied(fresh) == _applied(store)
    finally:
        fresh.command(f"DROP DATABASE IF EXISTS {fresh.database}")


def _schema(store: AnalyticsStore) -> dict[str, str]:
    rows = store.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String}",
        {"db": store.database},
    )
    return {
        row["name"]: row["create_table_query"].replace(f"{store.database}.", "") for row in rows
    }


def _applied(store: AnalyticsStore) -> list[Row]:
    return store.query("SELECT version, name FROM schema_migrations FINAL ORDER BY version")


def test_the_cost_resolution_migration_added_its_columns_to_both_tables(
    store: AnalyticsStore,
) -> None:
    expected = [
        ("ai_canonical_model_key", "LowCardinality(String)"),
        ("ai_cost_status", "LowCardinality(String)"),
        ("ai_pricing_source", "LowCardinality(String)"),
        ("estimated_cost_eur", "Nullable(Decimal(38, 12))"),
    ]
    rows = store.query(
        "SELECT table, name, type FROM system.columns "
        "WHERE database = {db:String} AND table IN ('events', 'ai_usage_events') "
        "AND name IN {names:Array(String)} ORDER BY table, name",
        {"db": store.database, "names": [name for name, _ in expected]},
    )
    assert rows == [
        {"table": table, "name": name, "type": type_}
        for table in ("ai_usage_events", "events")
        for name, type_ in expected
    ]


def _write(store: AnalyticsStore, rows: list[dict[str, Any]]) -> None:
    """Through the workers' writer, which derives ai_usage_events from events."""
    EventWriter(store, _refuse_dead_letter).write([to_queued_row(r) for r in rows])


def _refuse_dead_letter(row: dict[str, Any], error: str) -> None:
    raise AssertionError(f"unexpected dead letter: {error}")


def test_the_writer_derives_the_typed_ai_columns_of_an_ai_event(store: AnalyticsStore) -> None:
    _write(store, [event("ai-1"), event("view-1", event="page_viewed")])
    rows = store.query(
        "SELECT event_id, timestamp, customer_plan, feature, provider, model, request_type, "
        "ai_call_id, workflow_id, input_tokens, output_tokens, cached_input_tokens, total_tokens, "
        "latency_ms, success, error_code, value_signal, edit_ratio, ai_cost_status, "
        "ai_pricing_source, ai_canonical_model_key, estimated_cost_eur FROM ai_usage_events"
    )
    assert rows == [
        {
            "event_id": "ai-1",
            "timestamp": datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC),
            "customer_plan": "pro",
            "feature": "support",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "request_type": "chat",
            "ai_call_id": "call-1",
            "workflow_id": "wf-1",
            "input_tokens": 1200,
            "output_tokens": 350,
            "cached_input_tokens": 200,
            "total_tokens": 1550,
            "latency_ms": 812.5,
            "success": 1,
            "error_code": "",
            "value_signal": "accepted",
            "edit_ratio": 0.25,
            "ai_cost_status": "calculated",
            "ai_pricing_source": "global_catalog",
            "ai_canonical_model_key": "openai/gpt-5.4-mini",
            "estimated_cost_eur": Decimal("0.000123456789"),
        }
    ]


def test_a_missing_edit_ratio_is_null_in_ai_usage_events(store: AnalyticsStore) -> None:
    properties = {k: v for k, v in AI_PROPERTIES.items() if k != "edit_ratio"}
    _write(store, [event(properties=orjson.dumps(properties).decode())])
    assert store.query("SELECT edit_ratio FROM ai_usage_events") == [{"edit_ratio": None}]


def test_a_transient_server_error_means_unavailable_not_bad_data() -> None:
    from app.errors import AnalyticsUnavailable
    from app.store.chdb_store import _error

    error = _error(RuntimeError("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"))
    assert isinstance(error, AnalyticsUnavailable)


# --- statement limits --------------------------------------------------------------------------


def test_a_statement_past_its_time_limit_is_query_too_costly(store: AnalyticsStore) -> None:
    with query_settings({"max_execution_time": 1}), pytest.raises(AnalyticsLimitExceeded) as hit:
        store.query("SELECT count() AS n FROM numbers(100000000000)")
    assert hit.value.extensions() == {
        "code": "QUERY_TOO_COSTLY",
        "status": 400,
        "limit": "max_execution_time",
    }
    # Still unavailable for a writer: its batch waits and is retried.
    assert isinstance(hit.value, AnalyticsUnavailable)


def test_a_statement_past_its_memory_limit_is_query_too_costly(store: AnalyticsStore) -> None:
    with (
        query_settings({"max_memory_usage": 10_000_000}),
        pytest.raises(AnalyticsLimitExceeded) as hit,
    ):
        store.query("SELECT length(groupArray(number)) AS n FROM numbers(100000000)")
    assert hit.value.details == {"limit": "max_memory_usage"}


def test_the_limits_hold_only_inside_query_settings(store: AnalyticsStore) -> None:
    with query_settings({"max_memory_usage": 10_000_000}):
        pass
    assert store.query("SELECT length(groupArray(number)) AS n FROM numbers(2000000)") == [
        {"n": 2000000}
    ]


def test_statements_side_by_side_keep_the_limits(store: AnalyticsStore) -> None:
    light = ("SELECT 1 AS n", None)
    heavy = ("SELECT length(groupArray(number)) AS n FROM numbers(100000000)", None)
    with query_settings({"max_memory_usage": 10_000_000}), pytest.raises(AnalyticsLimitExceeded):
        side_by_side(store, [light, heavy])
