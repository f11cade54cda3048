"""The clickhouse-driver transport against a real server: Debian's clickhouse-server 18.16.

Only the transport is proven here (binding, typed inserts, Python types, error mapping, the
pool): 18.16 lacks LowCardinality, DateTime64 and the JSON functions, so the schema and its
migrations are tested on chdb only. The last tests run the very SQL the translation produces
on chdb's current engine, so both ends of the server range are covered.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from clickhouse_driver.util.escape import escape_params

from app.errors import AnalyticsLimitExceeded, AnalyticsRejected, AnalyticsUnavailable
from app.store.interface import AnalyticsStore, open_store, query_settings
from app.store.native_store import NativeStore, translate, values_as_select
from tests.analytics.conftest import SERVER_TIMEZONE, ClickHouseServer
from tests.analytics.samples import HOSTILE_STRINGS

pytestmark = pytest.mark.clickhouse_server


THINGS = (
    "CREATE TABLE things (id UUID, name String, quantity UInt64, cost Nullable(Decimal(38, 12)), "
    "at DateTime, ratio Float64, tags Array(String), note Nullable(String)) "
    "ENGINE = MergeTree ORDER BY quantity"
)
THING_COLUMNS = ("id", "name", "quantity", "cost", "at", "ratio", "tags", "note")
ID_1 = UUID("6f1b0a0e-5d8c-4a51-9c4e-3b4f6d9e0a11")
ID_2 = UUID("0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f")


def thing(**overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ID_1,
        "name": "first",
        "quantity": 1,
        "cost": Decimal("0.000123456789"),
        "at": datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC),
        "ratio": 0.25,
        "tags": ["a", "b"],
        "note": None,
    }
    row.update(overrides)
    return row


@pytest.fixture
def native(clickhouse_server: ClickHouseServer) -> Iterator[NativeStore]:
    """A store on a database of its own on the private server, dropped afterwards."""
    database = f"native_{uuid.uuid4().hex[:12]}"
    store = NativeStore.from_url(clickhouse_server.url(database))
    yield store
    store.command(f"DROP DATABASE IF EXISTS {database}")
    store.close()


@pytest.fixture
def things(native: NativeStore) -> NativeStore:
    native.command(THINGS)
    return native


# --- connecting ------------------------------------------------------------------------------


def test_opening_creates_the_database(clickhouse_server: ClickHouseServer) -> None:
    database = f"native_{uuid.uuid4().hex[:12]}"
    store = open_store(clickhouse_server.url(database))
    try:
        assert store.database == database
        assert store.query(
            "SELECT name FROM system.databases WHERE name = {db:String}", {"db": database}
        ) == [{"name": database}]
        assert store.query("SELECT currentDatabase() AS db") == [{"db": database}]
    finally:
        store.command(f"DROP DATABASE {database}")
        store.close()


def test_opening_an_existing_database_keeps_its_tables(
    clickhouse_server: ClickHouseServer, things: NativeStore
) -> None:
    things.insert("things", THING_COLUMNS, [thing()])
    again = NativeStore.from_url(clickhouse_server.url(things.database))
    try:
        assert again.query("SELECT name FROM things") == [{"name": "first"}]
    finally:
        again.close()


def test_the_database_argument_overrides_the_url(clickhouse_server: ClickHouseServer) -> None:
    database = f"native_{uuid.uuid4().hex[:12]}"
    store = open_store(clickhouse_server.url("ignored"), database=database)
    try:
        assert store.query("SELECT currentDatabase() AS db") == [{"db": database}]
    finally:
        store.command(f"DROP DATABASE {database}")
        store.close()


def test_ping_answers_on_a_live_server(native: NativeStore) -> None:
    native.ping()


# --- typed inserts ---------------------------------------------------------------------------


def test_a_typed_insert_round_trips_every_column_type(things: NativeStore) -> None:
    second = thing(
        id=str(ID_2),  # a UUID column takes the text form too
        name="second",
        quantity=2**64 - 1,
        cost=None,
        at=datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC),
        ratio=1.5,
        tags=[],
        note="",
    )
    things.insert("things", THING_COLUMNS, [thing(), second])
    assert things.query("SELECT * FROM things ORDER BY quantity") == [
        {
            "id": ID_1,
            "name": "first",
            "quantity": 1,
            "cost": Decimal("0.000123456789"),
            "at": datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC),
            "ratio": 0.25,
            "tags": ["a", "b"],
            "note": None,
        },
        {
            "id": ID_2,
            "name": "second",
            "quantity": 18446744073709551615,
            "cost": None,
            "at": datetime(2026, 11, 2, 23, 59, 59, tzinfo=UTC),
            "ratio": 1.5,
            "tags": [],
            "note": "",
        },
    ]


def test_query_returns_the_python_types_of_the_chdb_backend(things: NativeStore) -> None:
    things.insert("things", THING_COLUMNS, [thing(cost=Decimal("1.5"))])
    (row,) = things.query("SELECT id, quantity, cost, at, ratio, tags, name FROM things")
    assert [type(v) for v in row.values()] == [UUID, int, Decimal, datetime, float, list, str]
    assert row["at"].tzinfo is UTC
    # The column's scale is kept, as chdb returns it, so both backends print the same text.
    assert str(row["cost"]) == "1.500000000000"


def test_hostile_strings_are_stored_exactly_by_insert(things: NativeStore) -> None:
    rows = [thing(quantity=i, name=s) for i, s in enumerate(HOSTILE_STRINGS)]
    things.insert("things", THING_COLUMNS, rows)
    stored = things.query("SELECT name FROM things ORDER BY quantity")
    assert [r["name"] for r in stored] == HOSTILE_STRINGS


def test_naive_datetimes_are_inserted_as_utc(things: NativeStore) -> None:
    things.insert("things", THING_COLUMNS, [thing(at=datetime(2026, 11, 2, 10, 0, 0))])
    assert things.query("SELECT at FROM things") == [
        {"at": datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)}
    ]


def test_an_aware_datetime_of_another_zone_is_stored_as_its_instant(things: NativeStore) -> None:
    paris_winter = timezone(timedelta(hours=1))
    things.insert(
        "things", THING_COLUMNS, [thing(at=datetime(2026, 11, 2, 11, 0, tzinfo=paris_winter))]
    )
    assert things.query("SELECT at FROM things") == [
        {"at": datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)}
    ]


def test_datetimes_are_utc_although_the_server_zone_is_not(things: NativeStore) -> None:
    things.insert("things", THING_COLUMNS, [thing(at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC))])
    assert things.query("SELECT timezone() AS zone, toString(at) AS local, at FROM things") == [
        {
            "zone": SERVER_TIMEZONE,
            "local": "2026-11-02 15:30:00",  # the server renders it at +05:30
            "at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        }
    ]


def test_null_and_zero_stay_distinct_in_a_nullable_decimal(things: NativeStore) -> None:
    things.insert(
        "things", THING_COLUMNS, [thing(quantity=1, cost=None), thing(quantity=2, cost=Decimal(0))]
    )
    rows = things.query(
        "SELECT quantity, cost, isNull(cost) AS missing FROM things ORDER BY quantity"
    )
    assert rows == [
        {"quantity": 1, "cost": None, "missing": 1},
        {"quantity": 2, "cost": Decimal(0), "missing": 0},
    ]


def test_decimals_are_exact_to_12_places_in_insert_and_sum(things: NativeStore) -> None:
    costs = [Decimal("0.000000000001"), Decimal("12345678901234567890123456.123456789012")]
    things.insert("things", THING_COLUMNS, [thing(quantity=i, cost=c) for i, c in enumerate(costs)])
    assert things.query("SELECT cost FROM things ORDER BY quantity") == [{"cost": c} for c in costs]
    assert things.query("SELECT sum(cost) AS total FROM things") == [
        {"total": Decimal("12345678901234567890123456.123456789013")}
    ]


def test_a_decimal_too_large_for_its_column_is_refused_and_nothing_is_stored(
    things: NativeStore,
) -> None:
    # The driver alone would wrap 10**30 around Int128 and store a wrong number.
    too_big = Decimal("1" + "0" * 30)
    with pytest.raises(AnalyticsRejected) as refused:
        things.insert("things", THING_COLUMNS, [thing(quantity=1), thing(quantity=2, cost=too_big)])
    assert refused.value.details == {"clickhouse_code": 53}
    assert "'cost'" in refused.value.message
    assert things.query("SELECT count() AS n FROM things") == [{"n": 0}]


def test_a_value_of_the_wrong_type_is_refused_and_nothing_is_stored(things: NativeStore) -> None:
    with pytest.raises(AnalyticsRejected) as refused:
        things.insert("things", THING_COLUMNS, [thing(quantity=1), thing(quantity="two")])
    assert refused.value.details == {"clickhouse_code": 53}
    assert 'for column "quantity"' in refused.value.message
    assert things.query("SELECT count() AS n FROM things") == [{"n": 0}]


def test_an_invalid_table_name_is_refused_before_anything_is_sent(things: NativeStore) -> None:
    with pytest.raises(ValueError, match="invalid table or column name"):
        things.insert("things; DROP TABLE things", THING_COLUMNS, [thing()])


def test_insert_values_with_placeholders_runs_as_insert_select(things: NativeStore) -> None:
    # 18.16 never reads VALUES written in the query text over the native protocol; the store
    # turns them into INSERT … SELECT, which every server computes.
    things.command(
        "INSERT INTO things (id, name, quantity, at) VALUES "
        "({id:UUID}, {name:String}, {q:UInt64}, {at:DateTime}), ({id:UUID}, 'two', 2, now())",
        {"id": ID_1, "name": "it's\none", "q": 1, "at": datetime(2026, 11, 2, 10, 0, tzinfo=UTC)},
    )
    assert things.query("SELECT name, quantity, cost, ratio FROM things ORDER BY quantity") == [
        {"name": "it's\none", "quantity": 1, "cost": None, "ratio": 0.0},
        {"name": "two", "quantity": 2, "cost": None, "ratio": 0.0},
    ]


# --- parameter binding -----------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_a_hostile_string_parameter_round_trips_exactly(native: NativeStore, value: str) -> None:
    assert native.query(
        "SELECT {value:String} AS value, length({value:String}) AS n", {"value": value}
    ) == [{"value": value, "n": len(value.encode())}]


def test_a_hostile_string_parameter_matches_the_stored_row(things: NativeStore) -> None:
    rows = [thing(quantity=i, name=s) for i, s in enumerate(HOSTILE_STRINGS)]
    things.insert("things", THING_COLUMNS, rows)
    for i, value in enumerate(HOSTILE_STRINGS):
        found = things.query(
            "SELECT quantity FROM things WHERE name = {name:String}", {"name": value}
        )
        assert found == [{"quantity": i}]


def test_a_placeholder_inside_a_string_literal_is_left_alone(native: NativeStore) -> None:
    rows = native.query(
        "SELECT '{name:String}' AS literal, {name:String} AS bound, '100%' AS percent",
        {"name": "x"},
    )
    assert rows == [{"literal": "{name:String}", "bound": "x", "percent": "100%"}]


def test_percent_signs_survive_when_there_are_no_parameters(native: NativeStore) -> None:
    assert native.query("SELECT 'a%b' LIKE 'a%' AS matched, '%(x)s' AS text") == [
        {"matched": 1, "text": "%(x)s"}
    ]


def test_an_array_parameter_selects_rows_with_in(things: NativeStore) -> None:
    things.insert(
        "things",
        THING_COLUMNS,
        [thing(quantity=1, name="it's"), thing(quantity=2, name="b"), thing(quantity=3, name="c")],
    )
    rows = things.query(
        "SELECT quantity FROM things WHERE name IN {names:Array(String)} ORDER BY quantity",
        {"names": ["it's", "c", "absent"]},
    )
    assert rows == [{"quantity": 1}, {"quantity": 3}]


def test_an_empty_array_parameter_in_in_matches_nothing(things: NativeStore) -> None:
    things.insert("things", THING_COLUMNS, [thing()])
    assert things.query(
        "SELECT count() AS n FROM things WHERE name IN {names:Array(String)}", {"names": []}
    ) == [{"n": 0}]


def test_not_in_with_a_uuid_array_given_as_text(things: NativeStore) -> None:
    things.insert("things", THING_COLUMNS, [thing(id=ID_1, quantity=1), thing(id=ID_2, quantity=2)])
    rows = things.query(
        "SELECT quantity FROM things WHERE id NOT IN {ids:Array(UUID)}", {"ids": [str(ID_1)]}
    )
    assert rows == [{"quantity": 2}]


def test_an_array_parameter_outside_in_is_an_array(native: NativeStore) -> None:
    assert native.query(
        "SELECT {tags:Array(String)} AS tags, has({tags:Array(String)}, 'x') AS has_x",
        {"tags": ["x", "it's"]},
    ) == [{"tags": ["x", "it's"], "has_x": 1}]


def test_null_and_zero_parameters_stay_distinct(native: NativeStore) -> None:
    rows = native.query(
        "SELECT {a:Nullable(Decimal(38, 12))} AS a, {b:Nullable(Decimal(38, 12))} AS b, "
        "{c:Nullable(String)} AS c",
        {"a": None, "b": 0, "c": None},
    )
    assert rows == [{"a": None, "b": Decimal(0), "c": None}]
    assert rows[0]["b"] is not None


def test_a_decimal_parameter_is_exact_to_12_places(native: NativeStore) -> None:
    value = Decimal("12345678901234567890123456.123456789012")
    rows = native.query(
        "SELECT {v:Decimal(38, 12)} AS v, {tiny:Decimal(38, 12)} AS tiny",
        {"v": value, "tiny": Decimal("0.000000000001")},
    )
    assert rows == [{"v": value, "tiny": Decimal("0.000000000001")}]


def test_scalar_parameters_keep_their_types(native: NativeStore) -> None:
    rows = native.query(
        "SELECT {u:UUID} AS u, {big:UInt64} AS big, {neg:Int64} AS neg, {f:Float64} AS f, "
        "{flag:UInt8} AS flag",
        {"u": ID_1, "big": 2**64 - 1, "neg": -5, "f": 0.1, "flag": True},
    )
    assert rows == [{"u": ID_1, "big": 18446744073709551615, "neg": -5, "f": 0.1, "flag": 1}]


def test_a_datetime_parameter_is_read_as_utc_by_a_server_in_another_zone(
    things: NativeStore,
) -> None:
    things.insert(
        "things",
        THING_COLUMNS,
        [
            thing(quantity=1, at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
            thing(quantity=2, at=datetime(2026, 11, 2, 10, 0, 1, tzinfo=UTC)),
        ],
    )
    rows = things.query(
        "SELECT quantity, {at:DateTime} AS echoed FROM things WHERE at = {at:DateTime}",
        {"at": datetime(2026, 11, 2, 11, 0, tzinfo=timezone(timedelta(hours=1)))},
    )
    assert rows == [{"quantity": 1, "echoed": datetime(2026, 11, 2, 10, 0, tzinfo=UTC)}]


def test_an_array_of_datetimes_is_bound_as_instants(things: NativeStore) -> None:
    things.insert(
        "things",
        THING_COLUMNS,
        [
            thing(quantity=1, at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
            thing(quantity=2, at=datetime(2026, 11, 2, 10, 0, 1, tzinfo=UTC)),
        ],
    )
    rows = things.query(
        "SELECT quantity FROM things WHERE at IN {ats:Array(DateTime)}",
        {"ats": [datetime(2026, 11, 2, 11, 0, tzinfo=timezone(timedelta(hours=1)))]},
    )
    assert rows == [{"quantity": 1}]


def test_a_null_datetime_parameter_is_null(native: NativeStore) -> None:
    assert native.query("SELECT {at:Nullable(DateTime)} AS at", {"at": None}) == [{"at": None}]


def test_an_object_the_driver_would_format_with_str_is_refused(native: NativeStore) -> None:
    with pytest.raises(TypeError, match="cannot bind dict"):
        native.query("SELECT {m:String} AS m", {"m": {"a": "b"}})


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "code", "message"),
    [
        (
            "SELECT * FROM no_such_table",
            60,
            "Code: 60. DB::Exception: Table {db}.no_such_table doesn't exist.",
        ),
        (
            "SELECT no_such_function(1)",
            46,
            "Code: 46. DB::Exception: Unknown function no_such_function",
        ),
        ("SELEC 1", 62, None),
    ],
)
def test_a_server_error_is_rejected_with_its_code(
    native: NativeStore, sql: str, code: int, message: str | None
) -> None:
    with pytest.raises(AnalyticsRejected) as refused:
        native.query(sql)
    assert refused.value.details == {"clickhouse_code": code}
    assert "\n" not in refused.value.message and "Stack trace" not in refused.value.message
    if message is not None:
        assert refused.value.message == message.format(db=native.database)


def test_a_missing_parameter_is_rejected_as_the_server_would(native: NativeStore) -> None:
    with pytest.raises(AnalyticsRejected) as refused:
        native.query("SELECT {absent:String} AS a", {})
    assert refused.value.details == {"clickhouse_code": 456}


def test_the_connection_is_usable_after_a_server_error(native: NativeStore) -> None:
    with pytest.raises(AnalyticsRejected):
        native.query("SELECT * FROM no_such_table")
    assert native.query("SELECT 1 AS one") == [{"one": 1}]


def test_a_wrong_password_is_rejected(clickhouse_server: ClickHouseServer) -> None:
    url = f"clickhouse://{clickhouse_server.user}:wrong@{clickhouse_server.host}:{clickhouse_server.port}/x"
    with pytest.raises(AnalyticsRejected) as refused:
        open_store(url)
    assert refused.value.details == {"clickhouse_code": 193}  # WRONG_PASSWORD


def test_an_unreachable_server_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(AnalyticsUnavailable):
            open_store(f"clickhouse://default@127.0.0.1:{port}/x?connect_timeout=2")


def test_a_peer_that_hangs_up_during_the_handshake_is_unavailable() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]

        def hang_up() -> None:
            conn, _ = listener.accept()
            conn.close()

        threading.Thread(target=hang_up, daemon=True).start()
        with pytest.raises(AnalyticsUnavailable):
            open_store(f"clickhouse://default@127.0.0.1:{port}/x?connect_timeout=2")


class _Proxy:
    """A TCP forwarder to the server that can be cut, as a server that goes away would be."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass

    def cut(self) -> None:
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test_a_server_that_goes_away_makes_queries_unavailable(
    clickhouse_server: ClickHouseServer,
) -> None:
    proxy = _Proxy((clickhouse_server.host, clickhouse_server.port))
    database = f"native_{uuid.uuid4().hex[:12]}"
    url = f"clickhouse://default@127.0.0.1:{proxy.port}/{database}?connect_timeout=2"
    store = NativeStore.from_url(url)
    try:
        store.ping()
        proxy.cut()
        with pytest.raises(AnalyticsUnavailable):
            store.ping()
        with pytest.raises(AnalyticsUnavailable):
            store.query("SELECT 1 AS one")
    finally:
        store.close()
        cleanup = NativeStore.from_url(clickhouse_server.url(database))
        cleanup.command(f"DROP DATABASE {database}")
        cleanup.close()


# --- threads ---------------------------------------------------------------------------------


def test_threads_sharing_a_small_pool_each_get_their_own_answers(
    clickhouse_server: ClickHouseServer,
) -> None:
    database = f"native_{uuid.uuid4().hex[:12]}"
    store = NativeStore.from_url(clickhouse_server.url(database) + "?pool_size=2")

    def ask(n: int) -> list[int]:
        return [
            store.query("SELECT {n:UInt32} AS n, sleep(0.001) AS _", {"n": n * 100 + i})[0]["n"]
            for i in range(20)
        ]

    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(ask, range(8)))
        assert answers == [[n * 100 + i for i in range(20)] for n in range(8)]
    finally:
        store.command(f"DROP DATABASE {database}")
        store.close()


# --- the translation -------------------------------------------------------------------------


def test_placeholders_become_casts_bound_by_the_driver() -> None:
    sql, params = translate(
        "SELECT {a:String}, {t:DateTime}, {t64:DateTime64(3, 'UTC')} WHERE x IN {ids:Array(UUID)}",
        {
            "a": "it's",
            "t": datetime(2026, 11, 2, 10, 0, 0, 999999, tzinfo=UTC),
            "t64": datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC),
            "ids": (ID_1,),
        },
    )
    assert sql == (
        "SELECT CAST(%(a)s AS String), CAST(toDateTime(%(t)s, 'UTC') AS DateTime), "
        "CAST(toDateTime64(%(t64)s, 6, 'UTC') AS DateTime64(3, 'UTC')) "
        "WHERE x IN (SELECT arrayJoin(CAST(%(ids)s AS Array(UUID))))"
    )
    assert params == {
        "a": "it's",
        "t": "2026-11-02 10:00:00",
        "t64": "2026-11-02 10:00:00.123456",
        "ids": [ID_1],
    }


def test_sql_without_placeholders_is_passed_through_untouched() -> None:
    assert translate("SELECT '100%'", None) == ("SELECT '100%'", None)


def test_insert_values_becomes_insert_select() -> None:
    assert values_as_select("INSERT INTO t (a, b) VALUES ({a:UInt32}, 'x,(y)'), (2, f(3))") == (
        "INSERT INTO t (a, b) SELECT {a:UInt32}, 'x,(y)' UNION ALL SELECT 2, f(3)"
    )
    assert values_as_select("INSERT INTO t SELECT 1") == "INSERT INTO t SELECT 1"
    assert values_as_select("INSERT INTO t FORMAT Values (1)") == "INSERT INTO t FORMAT Values (1)"
    assert values_as_select("INSERT INTO t (a) VALUES (1) SETTINGS x = 1") == (
        "INSERT INTO t (a) VALUES (1) SETTINGS x = 1"
    )


def _rendered(sql: str, params: dict[str, Any]) -> str:
    """The SQL text the driver sends, as its client-side binding renders it."""
    text, bound = translate(sql, params)
    assert bound is not None
    return text % escape_params(bound, None)  # no datetime objects reach the driver


@pytest.mark.parametrize(
    ("sql", "params", "expected"),
    [
        ("SELECT {v:String} AS v", {"v": "a'b\\c\nd"}, [{"v": "a'b\\c\nd"}]),
        (
            "SELECT 'x' IN {a:Array(String)} AS hit, 'z' IN {a:Array(String)} AS miss, "
            "'x' IN {e:Array(String)} AS empty",
            {"a": ["x", "y"], "e": []},
            [{"hit": 1, "miss": 0, "empty": 0}],
        ),
        (
            "SELECT {d:Decimal(38, 12)} AS d, {n:Nullable(Decimal(38, 12))} AS n",
            {"d": Decimal("0.000000000001"), "n": None},
            [{"d": Decimal("0.000000000001"), "n": None}],
        ),
        (
            "SELECT {t:DateTime64(3, 'UTC')} AS t",
            {"t": datetime(2026, 11, 2, 10, 0, 0, 123456, tzinfo=UTC)},
            [{"t": datetime(2026, 11, 2, 10, 0, 0, 123000, tzinfo=UTC)}],
        ),
        (
            "SELECT toUnixTimestamp({t:DateTime}) AS t",
            {"t": datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC)},
            [{"t": 1793613600}],
        ),
        ("SELECT {u:UUID} AS u", {"u": ID_1}, [{"u": ID_1}]),
    ],
)
def test_the_translated_sql_runs_on_the_current_engine(
    store: AnalyticsStore, sql: str, params: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert store.query(_rendered(sql, params)) == expected


# --- statement limits --------------------------------------------------------------------------


def test_a_statement_past_its_memory_limit_is_query_too_costly(native: NativeStore) -> None:
    with (
        query_settings({"max_memory_usage": 10_000_000}),
        pytest.raises(AnalyticsLimitExceeded) as hit,
    ):
        native.query("SELECT length(groupArray(number)) AS n FROM numbers(100000000)")
    assert hit.value.extensions() == {
        "code": "QUERY_TOO_COSTLY",
        "status": 400,
        "limit": "max_memory_usage",
    }


def test_a_statement_past_its_time_limit_is_query_too_costly(native: NativeStore) -> None:
    with query_settings({"max_execution_time": 1}), pytest.raises(AnalyticsLimitExceeded) as hit:
        native.query("SELECT count() AS n FROM numbers(100000000000)")
    assert hit.value.details == {"limit": "max_execution_time"}
    # The client that hit it serves the next statement without the limit.
    assert native.query("SELECT length(groupArray(number)) AS n FROM numbers(2000000)") == [
        {"n": 2000000}
    ]
