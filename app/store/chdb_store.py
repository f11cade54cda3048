"""The embedded ClickHouse engine (chdb).

IMPORTANT: chdb locks its data folder to one process, and one process can open only one data
folder. Tests therefore share a folder per process and isolate themselves by database.
One chdb session serialises its queries, so a small pool of sessions lets a dashboard query run
while the writer inserts. The sessions of a database are kept for the life of the process and
shared by every store of that database, never closed: a session closed by the garbage collector
(its `__del__`) in one thread while another thread ran a query brought the embedded engine down
in the tests ("The server is shutting down due to a fatal error", code 236, every later query
of the process failing), and opening three sessions for each store cost ~7 ms besides.
"""

from __future__ import annotations

import fcntl
import queue
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC as _UTC
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import orjson
import pyarrow as pa
from chdb import session as chdb_session

from app.errors import AnalyticsRejected, AnalyticsUnavailable
from app.store import json_results
from app.store.events_table import InsertRow
from app.store.interface import (
    TRANSIENT_ERROR_CODES,
    Params,
    Row,
    current_query_settings,
    limit_exceeded,
)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_POOL_SIZE = 3
_INSERT_SETTINGS = (
    "SETTINGS date_time_input_format = 'best_effort', async_insert = 0, "
    "parallel_view_processing = 1"
)

# Only one data folder may ever be opened per process; remember which one.
_opened_path: str | None = None
_opened_lock = threading.Lock()
# The idle sessions of each database, opened once for the life of the process (see the
# docstring).
_idle_sessions: dict[str, queue.LifoQueue[chdb_session.Session]] = {}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot send {type(value).__name__} to ClickHouse")


_dumps = orjson.dumps


def _encode_row(row: Mapping[str, Any], columns: Sequence[str]) -> bytes:
    if isinstance(row, InsertRow):
        # Queued rows hold JSON text ClickHouse reads as is (ISO timestamps with best_effort,
        # UUID and Decimal strings): skip the round trip through Python types.
        queued = row.queued
        return _dumps({c: queued[c] for c in columns})
    return orjson.dumps(
        {c: row[c] for c in columns},
        default=_json_default,
        option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z,
    )


_QUOTED = str.maketrans(
    {"'": "\\'", "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}
)
_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"})


def _literal(value: Any) -> str:
    """An element of an array parameter, written as a ClickHouse literal."""
    if isinstance(value, str | UUID | datetime):
        raw = value if isinstance(value, str) else _param_text(value)
        return "'" + raw.translate(_QUOTED) + "'"
    return _param_text(value)


def _param_text(value: Any) -> str:
    """ClickHouse reads query parameter values in its escaped text format (as clickhouse-client's
    --param_ options): backslashes, tabs and newlines must be escaped or the value is refused."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        # A DateTime parameter refuses a fractional part; DateTime64 takes either.
        utc = value.astimezone(_UTC)
        return utc.strftime("%Y-%m-%d %H:%M:%S.%f" if utc.microsecond else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(_literal(v) for v in value) + "]"
    return str(value).translate(_ESCAPES)


def _error(exc: Exception) -> AnalyticsRejected | AnalyticsUnavailable:
    text = str(exc).split("\n", 1)[0][:500]
    match = re.search(r"Code: (\d+)", text)
    code = int(match.group(1)) if match else None
    if (limited := limit_exceeded(code)) is not None:
        return limited
    if code in TRANSIENT_ERROR_CODES:
        return AnalyticsUnavailable(text)
    return AnalyticsRejected(text, clickhouse_code=code)


def _set_output_formats(session: chdb_session.Session) -> None:
    for setting in json_results.JSON_SETTINGS:
        session.query(f"SET {setting}")


# How long opening waits for another process to release the folder: a `serve` restarted right
# after a crash or a SIGKILL finds the old engine process still exiting for a moment.
RELEASE_WAIT_S = 10.0


def _wait_for_release(path: Path, timeout: float = RELEASE_WAIT_S) -> None:
    """Wait until no process holds the folder's `status` file (ClickHouse locks it while the
    folder is open), at most `timeout` seconds; opening then says who owns it if one still
    does."""
    status = path / "status"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(status, "rb") as held:
                fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return  # released when `held` closes, before chdb opens the folder
        except FileNotFoundError:
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                return
            time.sleep(0.1)


class ChdbStore:
    def __init__(self, path: Path, database: str) -> None:
        global _opened_path
        if not _IDENTIFIER.match(database):
            raise ValueError(f"invalid ClickHouse database name {database!r}")
        resolved = str(path.resolve())
        with _opened_lock:
            if _opened_path not in (None, resolved):
                raise RuntimeError(
                    f"this process already opened the embedded ClickHouse folder {_opened_path}; "
                    "chdb allows one folder per process"
                )
            opening = _opened_path is None
            if opening:
                path.mkdir(parents=True, exist_ok=True)
                _wait_for_release(path)  # this process holds the folder's lock once open
            missing = 0 if database in _idle_sessions else _POOL_SIZE
            try:
                new = [chdb_session.Session(resolved) for _ in range(missing)]
            except Exception as exc:
                if not opening:
                    raise
                raise AnalyticsUnavailable(  # the folder is locked by another process
                    f"cannot open the embedded ClickHouse folder {resolved}: {exc}. "
                    "Another saas-tracker process owns it; run separate workers or API "
                    "processes only with a ClickHouse server (clickhouse://)."
                ) from exc
            _opened_path = resolved
            idle = _idle_sessions.setdefault(database, queue.LifoQueue())
        self.path = resolved
        self.database = database
        self._sessions = idle
        if new:
            new[0].query(f"CREATE DATABASE IF NOT EXISTS {database}")
        else:  # the database may have been dropped since (tests drop theirs)
            self.command(f"CREATE DATABASE IF NOT EXISTS {database}")
        for session in new:
            # Each session of the pool is this database's alone: its current database is set
            # once.
            session.query(f"USE {database}")
            _set_output_formats(session)
            idle.put(session)

    @classmethod
    def from_url(cls, url: str, *, database: str | None = None) -> ChdbStore:
        parsed = urlparse(url)
        folder = (parsed.netloc + parsed.path) or "./data/clickhouse"
        db = database or parse_qs(parsed.query).get("database", ["saas_tracker"])[0]
        return cls(Path(folder), db)

    @contextmanager
    def _session(self) -> Iterator[chdb_session.Session]:
        sess = self._sessions.get()
        try:
            yield sess
        finally:
            self._sessions.put(sess)

    def _run(self, sql: str, params: Params | None, fmt: str) -> Any:
        with self._session() as sess:
            try:
                bound = {k: _param_text(v) for k, v in params.items()} if params else None
                return sess.query(sql, fmt, params=bound)
            except RuntimeError as exc:
                raise _error(exc) from exc

    def command(self, sql: str, params: Params | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        """The rows of a SELECT, read from JSON (app/store/json_results.py says which
        Python value each column type gives), or through Arrow for a type JSON cannot carry."""
        if settings := current_query_settings():
            # A trailing SETTINGS clause holds for the whole statement, UNION ALL included;
            # on a line of its own in case the statement ends with a `--` comment. Names and
            # values were checked by `query_settings`.
            sql = f"{sql}\nSETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings.items())
        try:
            return json_results.rows(orjson.loads(self._run(sql, params, "JSON").bytes()))
        except (json_results.UnsupportedType, orjson.JSONDecodeError):
            pass  # e.g. an enum, a fixed string, or text that is not UTF-8
        table = self._run(sql, params, "ArrowTable")
        rows: list[Row] = table.to_pylist()
        # Times as aware UTC datetimes (`datetime.UTC`, whatever zone Arrow names), column by
        # column: testing every value of a report's thousand rows cost a third of its
        # conversion.
        for name in (f.name for f in table.schema if pa.types.is_timestamp(f.type)):
            for row in rows:
                if (value := row[name]) is not None:
                    row[name] = value.replace(tzinfo=_UTC)
        return rows

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        if not _IDENTIFIER.match(table) or not all(_IDENTIFIER.match(c) for c in columns):
            raise ValueError("invalid table or column name")
        body = b"\n".join(_encode_row(row, columns) for row in rows).decode()
        # The rows travel as JSONEachRow data after FORMAT: ClickHouse parses them as data,
        # never as SQL, so no value can change the statement.
        self._run(
            f"INSERT INTO {table} ({', '.join(columns)}) {_INSERT_SETTINGS} FORMAT JSONEachRow\n"
            + body,
            None,
            "CSV",
        )

    def ping(self) -> None:
        self._run("SELECT 1", None, "CSV")

    def close(self) -> None:
        # The engine and the database's sessions stay open for the life of the process (the
        # folder cannot be reopened elsewhere in it anyway): the next store of the database
        # uses them.
        pass
