"""Writes batches of queued rows into ClickHouse exactly once.

Exactly once rests on two things: a batch is acknowledged to its queue only after this writer
returns, and before inserting, the writer asks `event_keys` which (app, event_id) pairs are
already stored — so a batch retried after a crash, or an event_id a client sent twice, is
stored once. Everything goes into the `events` table in ONE insert; the materialized views fill
`ai_usage_events` and `event_keys` from the same block.

A row that ClickHouse refuses on its own (a "poison" row) is found by bisecting the batch and
parked in the dead-letter table, so it never blocks the others. Connectivity errors are raised
as `AnalyticsUnavailable`: the caller keeps its messages and retries with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.analytics.events_table import (
    EVENT_COLUMNS,
    EVENTS_TABLE,
    QueuedRow,
    row_key,
    to_insert_row,
)
from app.analytics.store import AnalyticsStore
from app.errors import AnalyticsRejected
from app.metrics import (
    BATCH_ROWS,
    DEAD_LETTERS,
    DUPLICATES_SKIPPED,
    INSERT_SECONDS,
    ROWS_WRITTEN,
)

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[QueuedRow, str], None]


@dataclass
class WriteResult:
    inserted: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    errors: list[str] = field(default_factory=list)


class EventWriter:
    def __init__(self, store: AnalyticsStore, dead_letter: DeadLetterSink) -> None:
        self.store = store
        self.dead_letter = dead_letter

    def write(self, rows: Sequence[QueuedRow]) -> WriteResult:
        result = WriteResult()
        fresh = self._without_stored(rows, result)
        if fresh:
            self._insert_or_bisect(fresh, result)
        ROWS_WRITTEN.inc(result.inserted)
        DUPLICATES_SKIPPED.inc(result.duplicates)
        DEAD_LETTERS.inc(result.dead_lettered)
        return result

    def _without_stored(self, rows: Sequence[QueuedRow], result: WriteResult) -> list[QueuedRow]:
        seen: set[tuple[str, str]] = set()
        unique: list[QueuedRow] = []
        for row in rows:
            key = row_key(row)
            if key not in seen:
                seen.add(key)
                unique.append(row)
        stored = self._stored_keys(unique)
        fresh = [row for row in unique if row_key(row) not in stored]
        result.duplicates += len(rows) - len(fresh)
        return fresh

    def _stored_keys(self, rows: Sequence[QueuedRow]) -> set[tuple[str, str]]:
        apps = sorted({row["app_id"] for row in rows})
        event_ids = sorted({row["event_id"] for row in rows})
        found = self.store.query(
            "SELECT DISTINCT app_id, event_id FROM event_keys "
            "WHERE app_id IN {apps:Array(UUID)} AND event_id IN {ids:Array(String)}",
            {"apps": apps, "ids": event_ids},
        )
        return {(str(r["app_id"]), r["event_id"]) for r in found}

    def _insert_or_bisect(self, rows: list[QueuedRow], result: WriteResult) -> None:
        try:
            started = time.perf_counter()
            self.store.insert(EVENTS_TABLE, EVENT_COLUMNS, [to_insert_row(r) for r in rows])
            INSERT_SECONDS.observe(time.perf_counter() - started)
            BATCH_ROWS.observe(len(rows))
            result.inserted += len(rows)
            return
        except (AnalyticsRejected, ValueError, KeyError, TypeError, ArithmeticError) as exc:
            if len(rows) == 1:
                reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
                log.error(
                    "dead-lettering one event",
                    extra={"app_id": rows[0].get("app_id"), "event_id": rows[0].get("event_id")},
                )
                self.dead_letter(rows[0], str(reason)[:1000])
                result.dead_lettered += 1
                result.errors.append(str(reason)[:200])
                return
        middle = len(rows) // 2
        self._insert_or_bisect(rows[:middle], result)
        self._insert_or_bisect(rows[middle:], result)
