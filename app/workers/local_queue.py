"""The embedded durable queue: a SQLite file beside the data, for `serve` without Redis.

`put` returns only after the group of rows is committed with `synchronous=FULL` (fsync), so a
202 survives a crash of the process or the machine. The in-process consumer reads groups in
order and deletes them only after ClickHouse has their rows.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import orjson

from app.errors import QueueUnavailable
from app.event_types import QueuedRow


class LocalQueue:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._write_lock = threading.Lock()
        self._writer = self._connect()
        self._reader = self._connect()
        self._writer.execute(
            "CREATE TABLE IF NOT EXISTS queued_groups ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, rows INTEGER NOT NULL, payload BLOB NOT NULL)"
        )
        self.notify = threading.Event()
        self._acked = threading.Condition()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def put(self, rows: list[QueuedRow]) -> None:
        try:
            with self._write_lock:
                self._writer.execute(
                    "INSERT INTO queued_groups (rows, payload) VALUES (?, ?)",
                    (len(rows), orjson.dumps(rows)),
                )
        except sqlite3.Error as exc:
            raise QueueUnavailable(f"the local queue cannot take events: {exc}") from exc
        self.notify.set()

    def take(self, max_rows: int) -> tuple[list[int], list[QueuedRow]]:
        """The oldest groups holding up to `max_rows` rows (at least one group)."""
        ids: list[int] = []
        rows: list[QueuedRow] = []
        cursor = self._reader.execute("SELECT id, rows, payload FROM queued_groups ORDER BY id")
        for group_id, count, payload in cursor:
            if ids and len(rows) + count > max_rows:
                break
            ids.append(group_id)
            rows.extend(orjson.loads(payload))
        cursor.close()
        return ids, rows

    def ack(self, ids: list[int]) -> None:
        with self._write_lock:
            self._writer.executemany("DELETE FROM queued_groups WHERE id = ?", [(i,) for i in ids])
        with self._acked:
            self._acked.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every queued row is written and acknowledged; False past `timeout`."""
        with self._acked:
            return self._acked.wait_for(lambda: self.pending_rows() == 0, timeout)

    def pending_rows(self) -> int:
        row = self._reader.execute("SELECT COALESCE(SUM(rows), 0) FROM queued_groups").fetchone()
        return int(row[0])

    def depth(self) -> float:
        try:
            return float(self.pending_rows())
        except sqlite3.Error:
            return float("nan")

    def ping(self) -> None:
        self._reader.execute("SELECT 1").fetchone()

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
