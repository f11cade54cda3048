"""The one choke point for ClickHouse SQL.

Every statement goes through an `AnalyticsStore`; parameters are always bound with ClickHouse's
`{name:Type}` placeholders, never formatted into the SQL text. Two backends run the same SQL:
`ChdbStore` (the embedded engine, in-process) and `NativeStore` (clickhouse-driver, a server).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlparse

from app.errors import AnalyticsLimitExceeded

Row = dict[str, Any]
Params = Mapping[str, Any]

# Server error codes that mean "not now" rather than "not this data": a batch hitting them is
# retried later instead of being bisected into dead letters.
TRANSIENT_ERROR_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        243,  # NOT_ENOUGH_SPACE
        252,  # TOO_MANY_PARTS
        425,  # SYSTEM_ERROR
    }
)

# Server error codes that refuse the data itself: a row that gets one of these fails the same way
# however often it is retried, so the writer parks it as a dead letter. Any other refusal (the
# disk, memory, a file, the server, a code this list does not know) is about the engine, and the
# batch waits in its queue until the engine can take it.
CONTENT_ERROR_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        25,  # CANNOT_PARSE_ESCAPE_SEQUENCE
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        128,  # TOO_LARGE_ARRAY_SIZE
        131,  # TOO_LARGE_STRING_SIZE
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        376,  # CANNOT_PARSE_UUID
        407,  # DECIMAL_OVERFLOW
        467,  # CANNOT_PARSE_BOOL
        469,  # VIOLATED_CONSTRAINT
    }
)


# Server error codes of a statement that outgrew the limits it runs with (`query_settings`).
LIMIT_ERROR_CODES = {
    159: "max_execution_time",  # TIMEOUT_EXCEEDED
    241: "max_memory_usage",  # MEMORY_LIMIT_EXCEEDED
}
_LIMIT_MESSAGES = {
    "max_execution_time": "The query ran past its time limit",
    "max_memory_usage": "The query needed more memory than it may use",
}


def limit_exceeded(code: int | None) -> AnalyticsLimitExceeded | None:
    """The error of a statement that hit one of `LIMIT_ERROR_CODES`, else None."""
    limit = LIMIT_ERROR_CODES.get(code) if code is not None else None
    if limit is None:
        return None
    return AnalyticsLimitExceeded(
        f"{_LIMIT_MESSAGES[limit]} ({limit}): ask for a shorter range, a coarser granularity "
        "or fewer rows.",
        limit=limit,
    )


QuerySettings = Mapping[str, int]
_SETTING_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# IMPORTANT: set by `query_settings`, read by every backend's `query`. Ambient rather than an
# argument so that the limits reach every SELECT of a report (dozens of functions, statements
# run side by side) and any wrapper of the store, without each one passing them on.
_NO_SETTINGS: QuerySettings = MappingProxyType({})
_QUERY_SETTINGS: contextvars.ContextVar[QuerySettings] = contextvars.ContextVar(
    "clickhouse_query_settings", default=_NO_SETTINGS
)


@contextmanager
def query_settings(settings: QuerySettings) -> Iterator[None]:
    """Run every SELECT of this context (thread, task) with these ClickHouse settings, e.g.
    `max_execution_time`; `side_by_side` carries them into its threads."""
    for name, value in settings.items():
        if not _SETTING_NAME.match(name) or type(value) is not int:
            raise ValueError(f"invalid ClickHouse setting {name}={value!r}")
    token = _QUERY_SETTINGS.set(settings)
    try:
        yield
    finally:
        _QUERY_SETTINGS.reset(token)


def current_query_settings() -> QuerySettings:
    """The settings `query_settings` set for this context (empty outside it)."""
    return _QUERY_SETTINGS.get()


class AnalyticsStore(Protocol):
    """What the rest of the application may ask of ClickHouse."""

    database: str

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing (DDL, ALTER, …)."""

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        """Run a SELECT; rows as dicts of Python values (Decimal, aware datetime, int, str).
        It runs with the settings of `current_query_settings()`."""

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows in one INSERT (one part): all of them or, on error, none."""

    def ping(self) -> None:
        """Raise `AnalyticsUnavailable` unless the engine answers."""

    def close(self) -> None: ...


# Threads for `side_by_side`; their statements wait for a connection of the store like any other.
_SIDE_BY_SIDE = ThreadPoolExecutor(max_workers=4, thread_name_prefix="clickhouse-side-by-side")


def side_by_side(
    store: AnalyticsStore, statements: Sequence[tuple[str, Params | None]]
) -> list[list[Row]]:
    """The rows of each statement, run at once on connections of their own.

    ClickHouse plans a statement on one core, and planning is most of what a dashboard
    statement costs: two independent statements side by side take about the time of the
    longer one. The first runs in the calling thread.
    """
    first, *others = statements
    # Each in a copy of this context: its `query_settings` hold in the pool's threads too.
    pending = [
        _SIDE_BY_SIDE.submit(contextvars.copy_context().run, store.query, sql, params)
        for sql, params in others
    ]
    return [store.query(*first), *(future.result() for future in pending)]


def open_store(
    url: str, *, database: str | None = None, cluster: str | None = None
) -> AnalyticsStore:
    """Open the store a `SAAS_TRACKER_CLICKHOUSE_URL` names, creating its database if needed.

    With a `cluster`, inserts through the Distributed tables are synchronous (see
    docs/clickhouse-cluster.md)."""
    scheme = urlparse(url).scheme
    if scheme == "chdb":
        if cluster:
            raise ValueError(
                "a ClickHouse cluster needs clickhouse:// servers; chdb is one process"
            )
        from app.store.chdb_store import ChdbStore

        return ChdbStore.from_url(url, database=database)
    if scheme in ("clickhouse", "clickhouses"):
        from app.store.native_store import NativeStore

        return NativeStore.from_url(url, database=database, distributed=cluster is not None)
    raise ValueError(f"unsupported ClickHouse URL scheme {scheme!r} (use chdb:// or clickhouse://)")
