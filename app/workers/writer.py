"""Writes batches of queued rows into ClickHouse exactly once, whatever crashes in between.

A batch is acknowledged to its queue only after `write` returns, so a crash means the batch is
written again; every step is therefore idempotent:

1. rows whose (app, event_id) is already in `events` are skipped — a batch retried after a
   crash, or an event_id a client sent twice (looked up through a bloom-filter index, whatever
   the timestamps);
2. the rest go into `events` in ONE insert (one part: all or nothing);
3. the batch's AI events are copied into `ai_usage_events` with INSERT … SELECTs that skip
   those already there — so a crash between steps 2 and 3 is repaired by the retry. (A
   materialized view would not do: ClickHouse does not commit a view's part atomically with
   its source's, and a crash between them cannot be told apart afterwards.) Output events are
   attributed to their call on the way, and outputs stored before their call are reconciled
   (see app/ai_cost/attribution.py).

The materialized views of the rollup tables sum each insert into `events` and
`ai_usage_events`; since their parts are not committed with it, a batch that finds rows already
stored (a retry) has the rollups of the days it may have touched checked against the rows and
rebuilt where they differ (app/store/rollups.py).

Two worker processes could be handed the same event at once (a client's retry), or a call and
an output naming it: with `write_locks` (Redis mode), a batch is written holding its
workspaces' locks (app/workers/write_locks.py), so that no step looks while another writer is
between its look-up and its insert for the same workspace.

A row that ClickHouse refuses for its content (a "poison" row: `CONTENT_ERROR_CODES`) is found
by bisecting the batch and parked in the dead-letter table, so it never blocks the others. Every
other failure (connectivity, a full disk, memory, an error code not known to be about content)
propagates as `AnalyticsUnavailable`: the caller keeps its messages and retries with backoff,
and the retry completes exactly once whatever the failed attempt had stored (steps 1-3).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.ai_cost.attribution import (
    derive_other_ai_usage,
    derive_output_usage,
    derive_output_usage_and_reconcile,
    named_call_ids,
    reconcile_outputs,
    window_params,
)
from app.ai_cost.rollups import AI_ROLLUPS
from app.db import utcnow
from app.errors import AnalyticsRejected, AnalyticsUnavailable
from app.event_types import EVENT_COLUMNS, QueuedRow, parse_timestamp
from app.metrics import (
    BATCH_ROWS,
    DEAD_LETTERS,
    DUPLICATES_SKIPPED,
    INGEST_LAG,
    INSERT_SECONDS,
    ROWS_WRITTEN,
)
from app.organizations.rollups import ORGANIZATION_ROLLUPS
from app.store.events_table import EVENTS_TABLE, row_key, to_insert_row
from app.store.interface import CONTENT_ERROR_CODES, AnalyticsStore
from app.store.rollups import Rollup
from app.workers.broken_parts import heal_if_broken
from app.workers.health import WriteHealth
from app.workers.rollups import repair as repair_rollups
from app.workers.write_locks import WriteLocks

log = logging.getLogger(__name__)

DeadLetterSink = Callable[[QueuedRow, str], None]
# Hears of the rows a write stored (app/live: GraphQL subscriptions); must return at once.
StoredSink = Callable[[Sequence[QueuedRow]], None]

_KEYS_FILTER = (
    "workspace_id IN {workspaces:Array(UUID)} AND app_id IN {apps:Array(UUID)}"
    " AND event_id IN {ids:Array(String)}"
)
_RANGE_FILTER = (
    " AND timestamp >= {first:DateTime64(3, 'UTC')} AND timestamp <= {last:DateTime64(3, 'UTC')}"
)
# The batch's rows, in `events` and in `ai_usage_events` alike.
_BATCH_FILTER = _KEYS_FILTER + _RANGE_FILTER
# ClickHouse feeds the rollups' materialized views of an insert one after the other by default;
# in parallel, an insert into `ai_usage_events` takes about 0.6x the time (bench/README.md).
_VIEWS_IN_PARALLEL = " SETTINGS parallel_view_processing = 1"
# Each derivation in two forms: skipping rows already derived (a retry, a client's resend), and
# for a batch whose rows this attempt alone stored (the common case: nothing to skip).
_DERIVE_OTHER_AI_USAGE = {
    fresh: derive_other_ai_usage(_BATCH_FILTER, fresh=fresh) + _VIEWS_IN_PARALLEL
    for fresh in (False, True)
}
_DERIVE_OUTPUT_USAGE = {
    fresh: derive_output_usage(_BATCH_FILTER, fresh=fresh) + _VIEWS_IN_PARALLEL
    for fresh in (False, True)
}
_NAMED_CALL_IDS = named_call_ids(_BATCH_FILTER)
_NAMED_CALLS_FILTER = _BATCH_FILTER + " AND ai_call_id IN {named:Array(String)}"
_RECONCILE_OUTPUTS = reconcile_outputs(_NAMED_CALLS_FILTER) + _VIEWS_IN_PARALLEL
_DERIVE_OUTPUT_USAGE_AND_RECONCILE = {
    fresh: derive_output_usage_and_reconcile(_BATCH_FILTER, _NAMED_CALLS_FILTER, fresh=fresh)
    + _VIEWS_IN_PARALLEL
    for fresh in (False, True)
}
_OUTPUT_EVENTS = frozenset({"ai_output_accepted", "ai_output_rejected", "ai_output_edited"})


@dataclass
class WriteResult:
    inserted: int = 0
    duplicates: int = 0
    in_events: list[QueuedRow] = field(default_factory=list)
    # The rows this write inserted (not those a retried batch found stored already).
    stored: list[QueuedRow] = field(default_factory=list)
    dead_lettered: int = 0
    errors: list[str] = field(default_factory=list)


def _key_params(rows: Sequence[QueuedRow]) -> dict[str, Any]:
    return {
        "workspaces": sorted({row["workspace_id"] for row in rows}),
        "apps": sorted({row["app_id"] for row in rows}),
        "ids": sorted({row["event_id"] for row in rows}),
    }


def _observe_lag(rows: Sequence[QueuedRow]) -> None:
    """The ingest-to-visible lag of a batch just written: its first row waited longest (rows
    are queued in arrival order). A row without a readable time is skipped, never raised on:
    the batch is written."""
    try:
        received = parse_timestamp(rows[0]["received_at"])
    except (IndexError, KeyError, TypeError, ValueError):
        return
    INGEST_LAG.set((utcnow() - received).total_seconds())


class EventWriter:
    def __init__(
        self,
        store: AnalyticsStore,
        dead_letter: DeadLetterSink,
        write_locks: WriteLocks | None = None,
        *,
        cluster: str | None = None,
        health: WriteHealth | None = None,
        on_stored: StoredSink | None = None,
    ) -> None:
        """`write_locks` is needed when several processes write: without it, only one may.
        `cluster`: the ClickHouse cluster the tables are sharded over, if any. `health` hears
        of every batch written or failed (readiness). `on_stored` hears of the rows each
        write inserted, once they are visible (live events); it must not block."""
        self.store = store
        self.dead_letter = dead_letter
        self.write_locks = write_locks
        self.cluster = cluster
        self.health = health or WriteHealth()
        self.on_stored = on_stored

    def write(self, rows: Sequence[QueuedRow]) -> WriteResult:
        try:
            if self.write_locks is None:
                result = self._write(rows)
            else:
                with self.write_locks.hold(row["workspace_id"] for row in rows):
                    result = self._write(rows)
        except Exception as exc:
            self.health.failed(exc)
            # A part the engine cannot read fails every later batch: rebuilt here, the batch's
            # retry finds it readable (app/workers/broken_parts.py).
            if self.cluster is None:
                heal_if_broken(self.store, exc)
            raise
        self.health.succeeded()
        _observe_lag(rows)
        if self.on_stored is not None and result.stored:
            try:
                self.on_stored(result.stored)
            except Exception:  # the batch is written: announcing it must not undo that
                log.exception("could not announce stored events")
        return result

    def _write(self, rows: Sequence[QueuedRow]) -> WriteResult:
        result = WriteResult()
        unique = self._unique(rows)
        stored = self._stored_keys(unique) if unique else set()
        fresh = [row for row in unique if row_key(row) not in stored]
        result.duplicates = len(rows) - len(fresh)
        result.in_events = [row for row in unique if row_key(row) in stored]
        if fresh:
            self._insert_or_bisect(fresh, result)
        ai_rows = [row for row in result.in_events if row["event"].startswith("ai_")]
        retried = len(fresh) < len(unique)
        self._derive_ai_usage(ai_rows, retried=retried)
        if retried:
            timestamps = [parse_timestamp(row["timestamp"]) for row in unique]
            workspaces = _key_params(unique)["workspaces"]
            self._repair(ORGANIZATION_ROLLUPS, workspaces, min(timestamps), max(timestamps))
        ROWS_WRITTEN.inc(result.inserted)
        DUPLICATES_SKIPPED.inc(result.duplicates)
        DEAD_LETTERS.inc(result.dead_lettered)
        return result

    @staticmethod
    def _unique(rows: Sequence[QueuedRow]) -> list[QueuedRow]:
        seen: set[tuple[str, str]] = set()
        unique: list[QueuedRow] = []
        for row in rows:
            key = row_key(row)
            if key not in seen:
                seen.add(key)
                unique.append(row)
        return unique

    def _stored_keys(self, rows: Sequence[QueuedRow]) -> set[tuple[str, str]]:
        found = self.store.query(
            f"SELECT DISTINCT app_id, event_id FROM {EVENTS_TABLE} WHERE {_KEYS_FILTER}",
            _key_params(rows),
        )
        return {(str(r["app_id"]), r["event_id"]) for r in found}

    def _derive_ai_usage(self, rows: Sequence[QueuedRow], *, retried: bool) -> None:
        # Covers the rows just inserted and those found already stored: if an earlier attempt
        # died between its two inserts, this is where its AI rows are completed, and (`retried`:
        # some rows were stored already) where the rollups its inserts fed are checked.
        if not rows:
            return
        timestamps = [parse_timestamp(row["timestamp"]) for row in rows]
        first, last = min(timestamps), max(timestamps)
        params = {**_key_params(rows), "first": first, "last": last, **window_params(first, last)}
        # Calls first, so that outputs of the same batch find them; each statement skips what
        # is already there (unless this attempt stored every row), so a crash anywhere in
        # between is completed by the retry.
        fresh = not retried
        self.store.command(_DERIVE_OTHER_AI_USAGE[fresh], params)
        # Outputs stored before their call (another batch, clock skew) are re-attributed: only
        # those naming a call of this batch, so first which calls they name. Only calls that
        # carry an ai_call_id can be named (a cheap test on the raw JSON text).
        named: list[str] = []
        if any(
            row["event"] == "ai_call_completed" and '"ai_call_id"' in row["properties"]
            for row in rows
        ):
            named = [r["ai_call_id"] for r in self.store.query(_NAMED_CALL_IDS, params)]
        outputs = any(row["event"] in _OUTPUT_EVENTS for row in rows)
        # The new outputs and the corrections of stored ones in one insert where both are due:
        # each insert pays a fixed cost for the views it feeds.
        if outputs and named:
            both = _DERIVE_OUTPUT_USAGE_AND_RECONCILE[fresh]
            self.store.command(both, {**params, "named": named})
        elif outputs:
            self.store.command(_DERIVE_OUTPUT_USAGE[fresh], params)
        elif named:
            self.store.command(_RECONCILE_OUTPUTS, {**params, "named": named})
        if retried:
            # The days these statements may have written: the rows' own, and those of outputs
            # re-attributed by their correction pairs (within the window of the calls).
            low, high = (params["window_start"], params["window_end"]) if named else (first, last)
            self._repair(AI_ROLLUPS, params["workspaces"], low, high)

    def _repair(
        self, rollups: Sequence[Rollup], workspaces: Sequence[str], first: datetime, last: datetime
    ) -> None:
        rebuilt = repair_rollups(
            self.store, workspaces, first, last, rollups=rollups, cluster=self.cluster
        )
        if rebuilt:
            log.warning("rollups rebuilt after a retried batch", extra={"days": len(rebuilt)})

    def _insert_or_bisect(self, rows: list[QueuedRow], result: WriteResult) -> None:
        try:
            started = time.perf_counter()
            self.store.insert(EVENTS_TABLE, EVENT_COLUMNS, [to_insert_row(r) for r in rows])
            INSERT_SECONDS.observe(time.perf_counter() - started)
            BATCH_ROWS.observe(len(rows))
            result.inserted += len(rows)
            result.in_events.extend(rows)
            result.stored.extend(rows)
            return
        except AnalyticsRejected as exc:
            if exc.details.get("clickhouse_code") not in CONTENT_ERROR_CODES:
                # About the engine (its disk, memory, files…), not these rows: the batch stays
                # queued and is retried whole, which completes whatever this attempt stored.
                raise AnalyticsUnavailable(
                    f"ClickHouse cannot store events: {exc.message}"
                ) from exc
            reason = exc.message
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        # `events` may hold some of these rows although the statement failed: its part is
        # committed before the views', which may be what refused. Those are not inserted again.
        stored = self._stored_keys(rows)
        if stored:
            result.in_events.extend(row for row in rows if row_key(row) in stored)
            rows = [row for row in rows if row_key(row) not in stored]
        if len(rows) == 1:
            log.error(
                "dead-lettering one event",
                extra={"app_id": rows[0].get("app_id"), "event_id": rows[0].get("event_id")},
            )
            self.dead_letter(rows[0], str(reason)[:1000])
            result.dead_lettered += 1
            result.errors.append(str(reason)[:200])
            return
        middle = len(rows) // 2
        if middle:
            self._insert_or_bisect(rows[:middle], result)
            self._insert_or_bisect(rows[middle:], result)
