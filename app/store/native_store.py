"""A ClickHouse server over the native protocol (clickhouse-driver).

It runs the same SQL as the embedded backend: statements carry ClickHouse `{name:Type}`
placeholders. `translate` rewrites each one for the driver's parameter binding,
`CAST(%(name)s AS Type)`, so the driver escapes every value into a literal (quotes, backslashes,
control characters) and the server still sees the declared type. We never format a value into
SQL ourselves; we only turn values the driver would render lossily into text it renders exactly
(Decimal → '0.000000000001' rather than a float literal, datetime → UTC text).

Why not the driver's `server_side_params`: it needs protocol revision 54459 (ClickHouse 23.x);
older servers would need this rewriting anyway, its encoding of NULL ('NULL' where the server
reads `\\N`) and of Decimal is unproven, and no modern server runs here to prove it. One
translation that the tests run on Debian's 18.16 server and on chdb's current engine beats two
code paths of which one is never run.

Two forms differ from a plain CAST:
- `IN {ids:Array(T)}` becomes `IN (SELECT arrayJoin(CAST(%(ids)s AS Array(T))))`: servers before
  ~20.x refuse an array on the right of IN, and a subquery set is still used for the primary
  key (use_index_for_in_with_subqueries).
- DateTime placeholders parse their text in UTC (`toDateTime(%(x)s, 'UTC')`), because a bare
  CAST reads it in the server's time zone, which need not be UTC.

IMPORTANT: a clickhouse-driver `Client` owns one socket and is not thread-safe; every call
borrows a client from a small pool and returns it afterwards.
"""

from __future__ import annotations

import queue
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal, localcontext
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse
from uuid import UUID
from zoneinfo import ZoneInfo

from clickhouse_driver import Client, errors
from clickhouse_driver.util.helpers import parse_url

from app.errors import AnalyticsRejected, AnalyticsUnavailable
from app.store.cluster import CLUSTER_QUERY_SETTINGS
from app.store.interface import (
    TRANSIENT_ERROR_CODES,
    Params,
    Row,
    current_query_settings,
    limit_exceeded,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POOL_SIZE = 4
_DEFAULT_DATABASE = "saas_tracker"
# Keys of the URL query that are ours; every other key goes to the driver (timeouts, TLS,
# compression) or, when the driver does not know it, to the server as a setting.
_OWN_URL_KEYS = ("database", "pool_size")

_CLIENT_SETTINGS: dict[str, Any] = {
    # One INSERT must be one block (one part): the driver would otherwise cut the rows into
    # blocks of 1,048,576 and a failure in a later block would leave the earlier ones stored.
    "insert_block_size": 2**31,
    # As chdb's JSONEachRow does: None in a non-Nullable column stores the column default.
    "input_format_null_as_default": True,
}

# One token of SQL: a literal, a quoted identifier or a comment (copied untouched: ClickHouse
# substitutes no placeholder inside them), or a placeholder.
_TOKEN = re.compile(
    r"""
    '(?:[^'\\]|\\.)*'
    | "(?:[^"\\]|\\.)*"
    | `(?:[^`\\]|\\.)*`
    | --[^\n]*
    | /\*.*?\*/
    | \{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?P<type>[^{}]+?)\s*\}
    """,
    re.VERBOSE | re.DOTALL,
)
_AFTER_IN = re.compile(r"\bIN\s*$", re.IGNORECASE)
_WRAPPER = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$", re.DOTALL)
_DECIMAL = re.compile(r"^Decimal(?:32|64|128|256)?\((?:\d+,\s*)?(\d+)\)$")
_STACK_TRACE = re.compile(r"\.?\s*Stack trace:.*$", re.DOTALL)

# Failures of the connection rather than of the statement: the caller retries later.
_CONNECTIVITY_ERRORS: tuple[type[BaseException], ...] = (
    errors.NetworkError,
    errors.SocketTimeoutError,
    errors.UnexpectedPacketFromServerError,
    errors.UnknownPacketFromServerError,
    OSError,  # socket.error, ssl.SSLError, ConnectionResetError, timeouts
    EOFError,
)


def _base_type(type_: str) -> str:
    """`Nullable(LowCardinality(String))` → `String`."""
    type_ = type_.strip()
    while match := _WRAPPER.match(type_):
        type_ = match.group(1).strip()
    return type_


def _utc(value: datetime) -> datetime:
    # Naive datetimes are UTC throughout the application, as in the chdb backend.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _is_datetime_type(type_: str) -> bool:
    return _base_type(type_).startswith("DateTime")


def _bind_element(value: Any, type_: str) -> Any:
    """An element of an array parameter whose elements are of `type_`."""
    if isinstance(value, datetime) and _is_datetime_type(type_):
        # A number converts to DateTime without any time zone, where text would be read in
        # the server's zone; sub-second precision is lost inside arrays.
        return int(_utc(value).timestamp())
    return _bind(value, type_)


def _bind(value: Any, type_: str) -> Any:
    """A parameter value in a form the driver renders exactly for a `{name:type_}` placeholder."""
    if isinstance(value, bool):
        return int(value)  # the driver writes True, which old servers do not know
    if value is None or isinstance(value, str | int | float | UUID):
        return value
    if isinstance(value, datetime):
        utc = _utc(value)
        if _is_datetime_type(type_) and not _base_type(type_).startswith("DateTime64"):
            return utc.strftime("%Y-%m-%d %H:%M:%S")  # toDateTime() reads no fraction
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")  # quoted text: CAST('…' AS Decimal) is exact, 1E-12 is a float
    if isinstance(value, list | tuple | set | frozenset):
        # Tuples and sets are arrays too, as the chdb backend renders them.
        base = _base_type(type_)
        element = base[len("Array(") : -1] if base.startswith("Array(") else ""
        return [_bind_element(v, element) for v in value]
    # The driver would format any other object with str() into the SQL: refuse it.
    raise TypeError(f"cannot bind {type(value).__name__} as a ClickHouse parameter")


def _placeholder_sql(name: str, type_: str, after_in: bool) -> str:
    base = _base_type(type_)
    if after_in and base.startswith("Array("):
        return f"(SELECT arrayJoin(CAST(%({name})s AS {type_})))"
    if base.startswith("DateTime64"):
        return f"CAST(toDateTime64(%({name})s, 6, 'UTC') AS {type_})"
    if _is_datetime_type(base):
        return f"CAST(toDateTime(%({name})s, 'UTC') AS {type_})"
    return f"CAST(%({name})s AS {type_})"


def translate(sql: str, params: Params | None) -> tuple[str, dict[str, Any] | None]:
    """Rewrite `{name:Type}` placeholders for the driver; returns the SQL and its parameters.

    Without placeholders the SQL is returned as it is with no parameters, so that the driver
    does not apply `%` formatting to it. With them, every `%` of the SQL is doubled.
    """
    params = params or {}
    pieces: list[str] = []
    bound: dict[str, Any] = {}
    position = 0
    for match in _TOKEN.finditer(sql):
        name = match.group("name")
        if name is None:
            continue
        before = sql[position : match.start()]
        pieces.append(before.replace("%", "%%"))
        if name not in params:
            # The same refusal, code and wording as a server that binds parameters itself.
            raise AnalyticsRejected(
                f"Code: 456. DB::Exception: Substitution `{name}` is not set.",
                clickhouse_code=456,
            )
        type_ = match.group("type")
        bound[name] = _bind(params[name], type_)
        pieces.append(_placeholder_sql(name, type_, bool(_AFTER_IN.search(before))))
        position = match.end()
    if not bound:
        return sql, None
    pieces.append(sql[position:].replace("%", "%%"))
    return "".join(pieces), bound


_INSERT_VALUES = re.compile(r"\s*INSERT\s+INTO\s+(?P<target>.+?)\s+VALUES\s*(?=\()", re.I | re.S)


def _tuples(text: str) -> list[str] | None:
    """The insides of `(…), (…)`, or None when `text` is anything else."""
    rows: list[str] = []
    depth, start, expect_row, i = 0, 0, True, 0
    while i < len(text):
        char = text[i]
        if char in "'\"`":
            literal = _TOKEN.match(text, i)
            if literal is None:
                return None
            i = literal.end()
            continue
        if char == "(":
            if depth == 0:
                if not expect_row:
                    return None
                start, expect_row = i + 1, False
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                rows.append(text[start:i])
        elif depth == 0 and char == "," and not expect_row:
            expect_row = True
        elif depth == 0 and not (char.isspace() or char == ";"):
            return None
        i += 1
    return rows if rows and depth == 0 and not expect_row else None


def values_as_select(sql: str) -> str:
    """`INSERT INTO t (a, b) VALUES (x, y), (z, w)` → `INSERT INTO t (a, b) SELECT x, y UNION ALL
    SELECT z, w`.

    IMPORTANT: over the native protocol a server (18.16 at least) does not read VALUES written
    in the query text: it answers with the table's sample block and waits for the client to send
    the data as blocks, while the driver waits for the result, until the socket times out.
    INSERT … SELECT is computed by the server on every version. One difference: a bare numeric
    literal such as 0.1 is a Float64 in a SELECT and is then converted to the column type, where
    VALUES would parse it as the column type; bind Decimals as `{x:Decimal(P, S)}`.
    """
    match = _INSERT_VALUES.match(sql)
    if match is None or re.search(r"\bFORMAT$", match.group("target"), re.I):
        return sql  # `FORMAT Values (…)`: data in a format, not VALUES expressions
    rows = _tuples(sql[match.end() :])
    if rows is None:
        return sql
    selects = " UNION ALL ".join(f"SELECT {row}" for row in rows)
    return f"INSERT INTO {match.group('target')} {selects}"


def _first_line(message: str) -> str:
    return _STACK_TRACE.sub("", message.strip().split("\n", 1)[0])[:500]


def _mapped(exc: BaseException) -> AnalyticsRejected | AnalyticsUnavailable:
    """Connectivity and transient server errors: retry later; any other: the data or SQL."""
    if isinstance(exc, errors.ServerException):
        if (limited := limit_exceeded(exc.code)) is not None:
            return limited
        if exc.code in TRANSIENT_ERROR_CODES:
            return AnalyticsUnavailable(f"Code: {exc.code}. {_first_line(exc.message or '')}")
        # Worded as the chdb backend words it: "Code: 60. DB::Exception: …".
        return AnalyticsRejected(
            f"Code: {exc.code}. {_first_line(exc.message or '')}", clickhouse_code=exc.code
        )
    if isinstance(exc, _CONNECTIVITY_ERRORS):
        return AnalyticsUnavailable(f"ClickHouse does not answer: {_first_line(str(exc))}")
    # Refused by the driver before sending (a value that does not fit its column, …).
    code = getattr(exc, "code", None)
    return AnalyticsRejected(_first_line(str(exc)), clickhouse_code=code)


_HANDLED: tuple[type[BaseException], ...] = (errors.Error, *_CONNECTIVITY_ERRORS)


def _read_converter(type_: str, server_zone: ZoneInfo) -> Callable[[Any], Any] | None:
    """How to turn the driver's value of a column of `type_` into the chdb backend's value."""
    base = _base_type(type_)
    if base.startswith("Array("):
        inner = _read_converter(base[len("Array(") : -1], server_zone)
        if inner is None:
            return None
        return lambda v: [inner(x) for x in v]
    if base.startswith("DateTime"):

        def aware_utc(v: Any) -> Any:
            if not isinstance(v, datetime):
                return v
            # The driver returns a column without its own zone as a naive datetime in the
            # server's zone.
            return (v.replace(tzinfo=server_zone) if v.tzinfo is None else v).astimezone(UTC)

        return aware_utc
    decimal = _DECIMAL.match(base)
    if decimal:
        # The driver divides by 10**scale and so drops trailing zeros; keep the column's scale
        # (Decimal('1.500000000000'), as chdb returns it).
        exponent = Decimal(1).scaleb(-int(decimal.group(1)))

        def scaled(v: Any) -> Any:
            if not isinstance(v, Decimal):
                return v
            with localcontext() as ctx:
                ctx.prec = 80
                return v.quantize(exponent)

        return scaled
    return None


def _decimal_digits(columns_with_types: Sequence[tuple[str, str]]) -> list[tuple[int, str, int]]:
    """(position, name, digits allowed left of the point) of each Decimal column."""
    limits = []
    for position, (name, type_) in enumerate(columns_with_types):
        match = re.match(r"^Decimal\((\d+),\s*(\d+)\)$", _base_type(type_))
        if match:
            limits.append((position, name, int(match.group(1)) - int(match.group(2))))
    return limits


class _Client(Client):  # type: ignore[misc]  # clickhouse-driver has no type hints
    """A `Client` that refuses a Decimal its column cannot hold.

    IMPORTANT: the driver sends a Decimal as the integer value * 10**scale and checks only the
    digits left of the point against the precision (not precision - scale), so 10**30 in a
    Decimal(38, 12) column wraps around Int128 and is stored as a wrong number, silently. The
    server's sample block names the column types just before the data is sent: check there.
    """

    def send_data(
        self, sample_block: Any, data: Any, types_check: bool = False, columnar: bool = False
    ) -> Any:
        if types_check and not columnar:
            for position, name, digits in _decimal_digits(sample_block.columns_with_types):
                bound = Decimal(10) ** digits
                for row in data:
                    value = row[position]
                    if not isinstance(value, Decimal | int | float):
                        continue  # None, or a type the driver's own check refuses
                    number = Decimal(str(value))
                    if not number.is_finite() or abs(number) >= bound:
                        raise errors.TypeMismatchError(
                            f"{value} does not fit column {name!r}: "
                            f"at most {digits} digits before the decimal point"
                        )
        return super().send_data(sample_block, data, types_check=types_check, columnar=columnar)


def _split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL without our own query keys, and those keys."""
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    own = {k: query.pop(k) for k in _OWN_URL_KEYS if k in query}
    return urlunparse(parsed._replace(query=urlencode(query))), own


class NativeStore:
    """`AnalyticsStore` on a ClickHouse server (`clickhouse://user:pass@host:9000/db`)."""

    def __init__(
        self,
        connection: Mapping[str, Any],
        database: str,
        *,
        pool_size: int = _POOL_SIZE,
        distributed: bool = False,
    ) -> None:
        if not _IDENTIFIER.match(database):
            raise ValueError(f"invalid ClickHouse database name {database!r}")
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.database = database
        self._connection = {k: v for k, v in connection.items() if k != "database"}
        settings = {**self._connection.pop("settings", {}), **_CLIENT_SETTINGS}
        if distributed:
            # The tables are Distributed ones (SAAS_TRACKER_CLICKHOUSE_CLUSTER): inserts and
            # INSERT … SELECT must return only once the shards have the rows (see cluster.py).
            settings.update(CLUSTER_QUERY_SETTINGS)
        self._settings = settings
        # The database may not exist yet and a client cannot connect to a missing one.
        bootstrap = self._client("default")
        try:
            bootstrap.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
        except _HANDLED as exc:
            raise _mapped(exc) from exc
        finally:
            bootstrap.disconnect()
        self._all = [self._client(database) for _ in range(pool_size)]
        self._idle: queue.LifoQueue[_Client] = queue.LifoQueue()
        for client in self._all:
            self._idle.put(client)

    @classmethod
    def from_url(
        cls, url: str, *, database: str | None = None, distributed: bool = False
    ) -> NativeStore:
        """`clickhouse://` or `clickhouses://` (TLS). The database is the `database` argument,
        else the URL path, else `saas_tracker`; `?pool_size=N` sizes the pool, other query keys
        go to clickhouse-driver (connect_timeout, send_receive_timeout, verify, compression…).
        `distributed`: the tables are Distributed ones (a cluster is configured)."""
        driver_url, own = _split_url(url)
        host, kwargs = parse_url(driver_url)
        db = database or kwargs.pop("database", None) or own.get("database") or _DEFAULT_DATABASE
        pool_size = int(own.get("pool_size", _POOL_SIZE))
        return cls({"host": host, **kwargs}, db, pool_size=pool_size, distributed=distributed)

    def _client(self, database: str) -> _Client:
        # Clients connect lazily, on their first statement, and reconnect after a failure.
        return _Client(database=database, settings=dict(self._settings), **self._connection)

    @contextmanager
    def _borrow(self) -> Iterator[_Client]:
        client = self._idle.get()
        try:
            yield client
        finally:
            self._idle.put(client)

    def _execute(self, sql: str, params: Any = None, **kwargs: Any) -> Any:
        with self._borrow() as client:
            try:
                return client.execute(sql, params, **kwargs)
            except _HANDLED as exc:
                raise _mapped(exc) from exc

    def command(self, sql: str, params: Params | None = None) -> None:
        text, bound = translate(values_as_select(sql), params)
        self._execute(text, bound)

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        text, bound = translate(sql, params)
        with self._borrow() as client:
            try:
                rows, columns = client.execute(
                    text,
                    bound,
                    with_column_types=True,
                    # The driver adds these to the client's own settings, for this statement.
                    settings=dict(current_query_settings()),
                )
            except _HANDLED as exc:
                raise _mapped(exc) from exc
            server_zone = ZoneInfo(client.connection.server_info.get_timezone())
        names = [name for name, _ in columns]
        converters = [_read_converter(type_, server_zone) for _, type_ in columns]
        active = [(i, conv) for i, conv in enumerate(converters) if conv is not None]
        result: list[Row] = []
        for row in rows:
            values = list(row)
            for i, conv in active:
                values[i] = conv(values[i])
            result.append(dict(zip(names, values, strict=True)))
        return result

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if not _IDENTIFIER.match(table) or not all(_IDENTIFIER.match(c) for c in columns):
            raise ValueError("invalid table or column name")
        # Rows travel as typed native blocks, never as SQL text; types_check makes the driver
        # refuse a value that does not fit its column instead of sending wrong bytes.
        data = [
            tuple(_utc(v) if isinstance(v, datetime) else v for v in (row[c] for c in columns))
            for row in rows
        ]
        self._execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES", data, types_check=True)

    def ping(self) -> None:
        self._execute("SELECT 1")

    def close(self) -> None:
        for client in self._all:
            client.disconnect()
