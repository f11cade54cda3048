"""One writer, realistic batches, as history grows: `python -m bench.writer [--stored 0,1000000]`.

For each stored size, on a fresh embedded engine folder:
1. the bulk of history is loaded straight into the engine (`events` and `ai_usage_events`, an
   INSERT … SELECT from `numbers()`; every materialized view feeds its rollup as in
   production): 30 days of the realistic mix below, in one workspace;
2. `EventWriter.write` (the production writer) is timed, wall clock, on `--batches` realistic
   batches of `--batch-rows` rows (5,000 by default, the issue's measure; serve's
   `SAAS_TRACKER_BATCH_MAX_ROWS` is 20,000) built through the real ingest functions
   (validation, pricing, `build_row`).

The realistic mix, per 20 events: 12 completed calls, 1 failed call, 7 outputs (accepted,
rejected, edited) naming a call by `ai_call_id`; each batch spans 30 days (timestamps spread
over the last 30 days, as back-filled, retried and mobile traffic does; 1 in 10 within the
last 7 days), all received now; every `event_id` and `ai_call_id` unique; an output names a
call of an earlier batch, of its own batch, or of the NEXT batch (it arrives before its call,
as with mobile clients and retries). The wall time of each kind of
statement the writer sends is summed and shown per row. Last, the floor: what any writer of
today's tables must pay for one more batch (`insert_floor`), which bounds the events/s a
writer can reach with these rollups on this machine.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.accounts import service
from app.ai_cost.attribution import OUTPUT_EVENTS
from app.db import session_scope, utcnow
from app.event_types import EVENT_COLUMNS, format_timestamp
from app.ingest.app_cache import AppCredentials
from app.ingest.rows import build_row
from app.ingest.validation import validate_request
from app.runtime import Runtime, open_runtime
from app.settings import Settings
from app.store.events_table import (
    AI_USAGE_EXPRESSIONS,
    AI_USAGE_TABLE,
    EVENTS_TABLE,
    to_insert_row,
)
from app.workers.writer import EventWriter

BATCH_ROWS = 5000
DAYS = 30
OUTPUT_KINDS = ("ai_output_accepted", "ai_output_rejected", "ai_output_edited")
FEATURES = [f"feature_{i}" for i in range(20)]
MODELS = [("openai", "gpt-5.4-mini"), ("anthropic", "claude-sonnet-4.5"), ("openai", "gpt-5.4")]


def open_bench_runtime(folder: Path) -> tuple[Runtime, AppCredentials]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=folder, clickhouse_url=f"chdb://{folder / 'clickhouse'}"
    )
    runtime = open_runtime(settings)  # the consumer is built, never started
    with session_scope(runtime.engine) as session:
        workspace, _ = service.create_workspace(session, name="writer", plan_key="growth")
        app_uuid = service.create_app(session, workspace_id=workspace.id, name="a").uuid
    app = runtime.apps.load(app_uuid)
    assert app is not None
    return runtime, app


def load_history(runtime: Runtime, app: AppCredentials, count: int) -> float:
    """`count` events of the mix straight into the engine; returns the seconds it took."""
    started = time.perf_counter()
    chunk = 2_000_000
    for offset in range(0, count, chunk):
        n = min(chunk, count - offset)
        runtime.store.command(
            "INSERT INTO events (workspace_id, app_id, event_id, event, timestamp, received_at,"
            " environment, customer_org_id, user_hash, properties, ai_cost_status,"
            " ai_pricing_source, ai_canonical_model_key, estimated_cost_eur) "
            "SELECT {ws:UUID}, {app:UUID}, concat('bulk-', toString(number)),"
            " multiIf(number % 20 < 12, 'ai_call_completed', number % 20 = 12, 'ai_call_failed',"
            "  ['ai_output_accepted', 'ai_output_rejected', 'ai_output_edited'][number % 3 + 1]),"
            " now64(3) - toIntervalMillisecond(cityHash64(number) % (30 * 86400000)), now64(3),"
            " 'production', concat('org-', toString(number % 500)), '',"
            ' concat(\'{"feature":"feature_\', toString(number % 20), \'","provider":"openai",'
            '"model":"gpt-5.4-mini","input_tokens":1200,"output_tokens":350,'
            '"latency_ms":1420,"success":true,"ai_call_id":"bulk-call-\','
            " toString(if(number % 20 < 13, number, intDiv(number, 20) * 20 + number % 12)),"
            " '\"}'),"
            " if(number % 20 < 12, 'known', ''), if(number % 20 < 12, 'catalog', ''),"
            " if(number % 20 < 12, 'openai/gpt-5.4-mini', ''),"
            " if(number % 20 < 12, toDecimal128(0.00123, 12), NULL) "
            "FROM numbers({offset:UInt64}, {n:UInt64})",
            {"ws": app.workspace_id, "app": app.uuid, "offset": offset, "n": n},
        )
    columns = ", ".join(c for c, _ in AI_USAGE_EXPRESSIONS)
    expressions = ", ".join(f"{e} AS {c}" for c, e in AI_USAGE_EXPRESSIONS)
    runtime.store.command(
        f"INSERT INTO {AI_USAGE_TABLE} ({columns}) SELECT {expressions} FROM events "
        f"WHERE startsWith(event, 'ai_')"
    )
    return time.perf_counter() - started


class Mix:
    """Realistic batches: unique ids, late events, outputs before their calls."""

    def __init__(self, rows: int = BATCH_ROWS, seed: int = 7) -> None:
        self.rows = rows
        self.random = random.Random(seed)
        self.earlier_calls: list[str] = []
        self.next_calls: list[str] = [self._call_id() for _ in range(rows)]

    def _call_id(self) -> str:
        return f"call_{uuid.UUID(int=self.random.getrandbits(128))}"

    def batch(self) -> list[dict[str, Any]]:
        now = utcnow()
        calls, self.next_calls = self.next_calls, [self._call_id() for _ in range(self.rows)]
        events: list[dict[str, Any]] = []
        own_calls: list[str] = []
        for i in range(self.rows):
            slot = i % 20
            happened = now - timedelta(seconds=self.random.uniform(0, DAYS * 86400))
            if self.random.random() < 0.1:
                happened = now - timedelta(seconds=self.random.uniform(0, 7 * 86400))
            provider, model = self.random.choice(MODELS)
            properties: dict[str, Any] = {
                "feature": self.random.choice(FEATURES),
                "provider": provider,
                "model": model,
                "customer_plan": self.random.choice(["starter", "growth", "enterprise"]),
            }
            if slot < 13:
                call_id = calls[i]
                own_calls.append(call_id)
                event = "ai_call_completed" if slot < 12 else "ai_call_failed"
                properties |= {
                    "ai_call_id": call_id,
                    "input_tokens": self.random.randint(100, 4000),
                    "output_tokens": self.random.randint(10, 1000),
                    "latency_ms": self.random.randint(200, 9000),
                    "success": event == "ai_call_completed",
                }
            else:
                event = OUTPUT_KINDS[slot % 3]
                pick = self.random.random()
                pool = (
                    self.earlier_calls
                    if pick < 0.6 and self.earlier_calls
                    else own_calls
                    if pick < 0.9 and own_calls
                    else self.next_calls
                )
                properties["ai_call_id"] = self.random.choice(pool)
                if event == "ai_output_edited":
                    properties["edit_ratio"] = round(self.random.random(), 3)
            events.append(
                {
                    "event": event,
                    "event_id": str(uuid.UUID(int=self.random.getrandbits(128))),
                    "timestamp": happened.isoformat(),
                    "customer_org_id": f"org-{self.random.randint(1, 500)}",
                    "environment": "production",
                    "properties": properties,
                }
            )
        self.earlier_calls = (self.earlier_calls + own_calls)[-50_000:]
        return events


def queued_rows(runtime: Runtime, app: AppCredentials, events: list[dict[str, Any]]) -> list[Any]:
    now = utcnow()
    rows = []
    for start in range(0, len(events), 500):
        parsed = validate_request(
            {"batch": events[start : start + 500]},
            now=now,
            max_batch_events=500,
            max_event_bytes=65536,
        )
        rows += [
            build_row(app, e, runtime.pricing.resolve(app.workspace_id, e), format_timestamp(now))
            for e in parsed
        ]
    return rows


def statement_kind(sql: str) -> str:
    head = " ".join(sql.split())
    if head.startswith("SELECT DISTINCT app_id, event_id"):
        return "dedup lookup"
    if head.startswith("INSERT INTO events "):
        return "INSERT INTO events"
    if head.startswith(f"INSERT INTO {AI_USAGE_TABLE}"):
        if "UNION ALL SELECT * FROM" in head:
            return "derive output rows + reconcile, one insert"
        if "ARRAY JOIN [toInt8(-1), toInt8(1)]" in head:
            return "reconcile outputs with late calls"
        if OUTPUT_EVENTS in head and "argMin" in head:  # after the two above: they hold it too
            return "derive output rows"
        return "derive call rows"
    return "other"


def insert_floor(runtime: Runtime, rows: list[Any]) -> float:
    """Wall µs per row of the least any writer of today's tables must do for a batch: its
    INSERT into `events` and ONE insert of its AI rows into `ai_usage_events` (every rollup's
    view fed by both), with no look-up, no de-duplication, no attribution."""
    store = runtime.store
    columns = ", ".join(c for c, _ in AI_USAGE_EXPRESSIONS)
    expressions = ", ".join(f"{e} AS {c}" for c, e in AI_USAGE_EXPRESSIONS)
    started = time.perf_counter()
    store.insert(EVENTS_TABLE, EVENT_COLUMNS, [to_insert_row(r) for r in rows])
    store.command(
        f"INSERT INTO {AI_USAGE_TABLE} ({columns}) SELECT {expressions} FROM {EVENTS_TABLE} "
        "WHERE event_id IN {ids:Array(String)} AND startsWith(event, 'ai_') "
        "SETTINGS parallel_view_processing = 1",
        {"ids": [r["event_id"] for r in rows]},
    )
    return (time.perf_counter() - started) / len(rows) * 1e6


def measure(stored: int, batches: int, batch_rows: int = BATCH_ROWS) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-writer-", ignore_cleanup_errors=True) as folder:
        runtime, app = open_bench_runtime(Path(folder))
        try:
            loaded = load_history(runtime, app, stored) if stored else 0.0
            writer = EventWriter(runtime.store, runtime.dead_letters)
            mix = Mix(batch_rows)
            prepared = [queued_rows(runtime, app, mix.batch()) for _ in range(batches + 1)]
            writer.write(prepared.pop(0))  # warm up
            store: Any = runtime.store
            spent: dict[str, float] = {}
            run: Callable[..., Any] = store._run

            def timed_run(sql: str, params: Any, fmt: str) -> Any:
                start = time.perf_counter()
                try:
                    return run(sql, params, fmt)
                finally:
                    kind = statement_kind(sql)
                    spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - start

            store._run = timed_run
            started = time.perf_counter()
            try:
                for rows in prepared:
                    writer.write(rows)
            finally:
                del store._run
            wall = time.perf_counter() - started
            rows_written = batches * batch_rows
            result = {"load s": loaded, "events/s": rows_written / wall}
            result["µs per row"] = wall / rows_written * 1e6
            for kind, seconds in sorted(spent.items()):
                result[f"  {kind}"] = seconds / rows_written * 1e6
            result["  Python around them"] = result["µs per row"] - sum(
                seconds / rows_written * 1e6 for seconds in spent.values()
            )
            result["floor: the two inserts alone, µs per row"] = insert_floor(
                runtime, queued_rows(runtime, app, mix.batch())
            )
            return result
        finally:
            runtime.consumer = None  # built, never started
            runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", default="0,1000000", help="stored events, comma-separated")
    parser.add_argument("--batches", type=int, default=6, help="timed batches per size")
    parser.add_argument("--batch-rows", type=int, default=BATCH_ROWS, help="rows per batch")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(measure(args.one, args.batches, args.batch_rows)))
        return
    sizes = [int(s) for s in args.stored.split(",")]
    # A process per size: chdb opens one engine folder per process.
    results = {
        size: json.loads(
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bench.writer",
                    "--one",
                    str(size),
                    "--batches",
                    str(args.batches),
                    "--batch-rows",
                    str(args.batch_rows),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.splitlines()[-1]
        )
        for size in sizes
    }
    names = list(next(iter(results.values())))
    print(
        f"| wall, one writer, {args.batch_rows:,}-row realistic batches | "
        + " | ".join(f"{size:,} stored" for size in sizes)
        + " |"
    )
    print("| --- |" + " --- |" * len(sizes))
    for name in names:
        cells = " | ".join(f"{results[size].get(name, 0.0):,.0f}" for size in sizes)
        print(f"| {name} | {cells} |")
    base = results[sizes[0]]["events/s"]
    for size in sizes[1:]:
        print(f"{size:,} stored ÷ {sizes[0]:,}: {results[size]['events/s'] / base:.2f}x events/s")


if __name__ == "__main__":
    main()
