"""CPU cost of each stage an event goes through, in one process, no HTTP: `python -m bench.hotpath`.

A noise-resistant complement to bench/ingest.py: CPU time (not wall time) per stage, for a
single-event request and per event of a batch of 100, with the project's real functions on
the same ~460-byte `ai_call_completed` event. The server runs all of it under one GIL, so the
sum bounds what one `serve` process can reach whatever the number of cores. The ClickHouse
stage is the real `EventWriter.write` (dedup query, `to_insert_row` for each row, one INSERT
and the materialized views; `to_insert_row` is also shown alone) on an
embedded chdb folder, 5,000 rows at a time (the default batch_max_rows), its CPU counted over
all of chdb's threads.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import JSONResponse

from app.accounts import service
from app.db import session_scope, utcnow
from app.event_types import format_timestamp
from app.ingest.app_cache import AppCredentials
from app.ingest.parsing import parse_json
from app.ingest.rows import build_row
from app.ingest.signature import sign, verify
from app.ingest.validation import _reference_validate, decode_request, validate_request
from app.runtime import Runtime, open_runtime
from app.settings import Settings
from app.store.events_table import to_insert_row
from app.workers.writer import EventWriter
from bench.ingest import make_body

WRITE_ROWS = 5000


def cpu_us(fn: Callable[[], object], repeat: int) -> float:
    """CPU microseconds per call, best of three rounds."""
    best = float("inf")
    for _ in range(3):
        start = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(repeat):
            fn()
        end = resource.getrusage(resource.RUSAGE_SELF)
        spent = end.ru_utime + end.ru_stime - start.ru_utime - start.ru_stime
        best = min(best, spent / repeat * 1e6)
    return best


def open_bench_runtime(folder: Path) -> tuple[Runtime, AppCredentials]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=folder, clickhouse_url=f"chdb://{folder / 'clickhouse'}"
    )
    runtime = open_runtime(settings)  # the consumer is built, never started
    with session_scope(runtime.engine) as session:
        workspace, _ = service.create_workspace(session, name="hotpath", plan_key="growth")
        app_uuid = service.create_app(session, workspace_id=workspace.id, name="a").uuid
    app = runtime.apps.load(app_uuid)
    assert app is not None
    return runtime, app


def stages(runtime: Runtime, app: AppCredentials, events: int) -> dict[str, float]:
    """CPU µs per event of each request-side stage, for requests of `events` events."""
    body = make_body(events)
    now = utcnow()
    stamp = str(int(now.timestamp()))
    signature = sign(app.secrets(now)[0], body, int(stamp))
    payload = parse_json(body, max_depth=32)
    parsed = validate_request(payload, now=now, max_batch_events=500, max_event_bytes=65536)
    rows = [
        build_row(app, e, runtime.pricing.resolve(app.workspace_id, e), format_timestamp(now))
        for e in parsed
    ]
    queued = orjson.dumps(rows)
    repeat = max(20, 2000 // events)

    def check_signature() -> None:
        verify(
            body=body,
            signature=signature,
            timestamp=stamp,
            secrets=app.secrets(now),
            now=now.timestamp(),
            tolerance_s=300,
        )

    work: dict[str, Callable[[], Any]] = {
        "verify HMAC (ceiling)": check_signature,
        "parse_json (ceiling)": lambda: parse_json(body, max_depth=32),
        "before: parse_json + validation in Python (counted in the above)": lambda: (
            _reference_validate(
                parse_json(body, max_depth=32),
                now=now,
                max_batch_events=500,
                max_event_bytes=65536,
                body_size=len(body),
            )
        ),
        "decode_request (msgspec model + Python rules)": lambda: decode_request(
            body, now=now, max_batch_events=500, max_event_bytes=65536, max_depth=32
        ),
        "price + build_row": lambda: [
            build_row(app, e, runtime.pricing.resolve(app.workspace_id, e), format_timestamp(now))
            for e in parsed
        ],
        "202 JSONResponse": lambda: JSONResponse(
            {"accepted": len(parsed), "event_ids": [e.event_id for e in parsed]}, status_code=202
        ),
        "queue encode (orjson)": lambda: orjson.dumps(rows),
        "consumer: queue decode (orjson)": lambda: orjson.loads(queued),
        "to_insert_row (counted in EventWriter.write)": lambda: [to_insert_row(r) for r in rows],
    }
    return {name: cpu_us(fn, repeat) / events for name, fn in work.items()}


def statement_kind(sql: str) -> str:
    """A short name for one of the writer's statements."""
    head = " ".join(sql.split())
    if head.startswith("SELECT DISTINCT app_id, event_id"):
        return "dedup lookup (SELECT … FROM events)"
    if head.startswith("INSERT INTO events "):
        return "INSERT INTO events"
    if "ai_usage_events" in head.split("SELECT", 1)[0]:
        return "derive into ai_usage_events (INSERT … SELECT)"
    return "other statements"


def writer_cost(
    runtime: Runtime, app: AppCredentials, rounds: int = 5
) -> tuple[float, dict[str, float]]:
    """CPU µs per row of EventWriter.write on WRITE_ROWS fresh rows (all of chdb's threads),
    and, of that, the CPU of each kind of statement it sends (the rest is Python)."""
    writer = EventWriter(runtime.store, runtime.dead_letters)
    payload = parse_json(make_body(100), max_depth=32)
    now = utcnow()
    store: Any = runtime.store
    spent_by_kind: dict[str, float] = {}
    run = store._run

    def timed_run(sql: str, params: Any, fmt: str) -> Any:
        start = time.process_time()
        try:
            return run(sql, params, fmt)
        finally:
            kind = statement_kind(sql)
            spent_by_kind[kind] = spent_by_kind.get(kind, 0.0) + time.process_time() - start

    def fresh_rows() -> list[dict[str, Any]]:
        rows = []
        for _ in range(WRITE_ROWS // 100):
            for e in validate_request(
                payload, now=now, max_batch_events=500, max_event_bytes=65536
            ):
                rows.append(
                    build_row(
                        app, e, runtime.pricing.resolve(app.workspace_id, e), format_timestamp(now)
                    )
                )
        return rows

    batches = [fresh_rows() for _ in range(rounds + 1)]
    writer.write(batches.pop())  # warm up
    spent = []
    store._run = timed_run
    try:
        for rows in batches:
            start = time.process_time()
            writer.write(rows)
            spent.append((time.process_time() - start) / len(rows) * 1e6)
    finally:
        del store._run
    per_row = {k: v / (rounds * WRITE_ROWS) * 1e6 for k, v in spent_by_kind.items()}
    # the breakdown averages all rounds: its Python remainder is taken from the mean, not the best
    per_row["Python around them (dedup, `to_insert_row`, encoding)"] = sum(spent) / len(
        spent
    ) - sum(per_row.values())
    return min(spent), per_row


def query_cost(runtime: Runtime) -> tuple[float, float]:
    """CPU µs of one trivial query through the store, and of a bare `USE <db>` statement
    (which the store now sends once per pooled session, not before every statement)."""
    store: Any = runtime.store
    through_store = cpu_us(lambda: store.query("SELECT 1 AS x"), 200)
    use_alone = cpu_us(lambda: store.command(f"USE {store.database}"), 200) / 2
    return through_store, use_alone


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-hotpath-") as tmp:
        runtime, app = open_bench_runtime(Path(tmp))
        single, batch = stages(runtime, app, 1), stages(runtime, app, 100)
        write, statements = writer_cost(runtime, app)
        query, use = query_cost(runtime)
    single["EventWriter.write (5,000 rows)"] = write
    batch["EventWriter.write (5,000 rows)"] = write
    print("| stage | CPU µs, single-event request | CPU µs per event, batch of 100 |")
    print("| --- | ---: | ---: |")
    for name in single:
        print(f"| {name} | {single[name]:,.1f} | {batch[name]:,.1f} |")
    # decode_request parses the body itself: parse_json is a ceiling stage, not a server's.
    for label, keep, skip in (
        ("ceiling stages", "(ceiling)", "counted in"),
        ("all stages", "", "parse_json (ceiling)"),
    ):
        s = sum(
            v for k, v in single.items() if keep in k and "counted in" not in k and skip not in k
        )
        b = sum(
            v for k, v in batch.items() if keep in k and "counted in" not in k and skip not in k
        )
        print(f"| **sum, {label}** | {s:,.1f} | {b:,.1f} |")
    print(
        f"\nOf `EventWriter.write`'s {write:,.1f} µs per row "
        f"(averages over {WRITE_ROWS:,}-row batches):\n"
    )
    print("| statement | CPU µs per row |")
    print("| --- | ---: |")
    for kind, cost in sorted(statements.items(), key=lambda kv: -kv[1]):
        print(f"| {kind} | {cost:,.1f} |")
    total = sum(
        v for k, v in batch.items() if "counted in" not in k and "parse_json (ceiling)" not in k
    )
    print(
        f"\nOne GIL-bound process at this CPU cost tops out near {1e6 / total:,.0f} events/s "
        "in batches (HTTP and the event loop not counted)."
    )
    print(
        f"One `store.query('SELECT 1')` costs {query:,.0f} µs of CPU; a `USE <database>` "
        f"statement {use:,.0f} µs (sent once per pooled session since abba988)."
    )


if __name__ == "__main__":
    main()
