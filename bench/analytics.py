"""AI cost analytics latency at scale, on the embedded engine (chdb), in one run.

    python -m bench.analytics [--events 10000000] [--runs 5] [--folder DIR]

1. Loads `--events` synthetic events into a fresh chdb folder, generated server-side with one
   INSERT … SELECT FROM numbers() into `events`, then derived into `ai_usage_events` with the
   writer's own statements (app/ai_cost/attribution.py: write-time attribution of
   output events to their call), one day at a time. The traffic: 30 days ending now, 1,000
   organizations (20 of them case variants of others, e.g. `Org-7` beside `org-7`), 3 apps,
   production and staging, 50 features each using 3 of 20 models (one of them unknown to the
   catalog: cost NULL), and per 20 events: 12 completed calls, 1 failed call, 4 accepted,
   1 rejected and 2 edited outputs naming their call by ai_call_id — a third of them without
   provider/model, as clients often send them.
2. Times each report over the last 30 days (the dashboard's default range, not aligned to
   hours, so the partial hours at both ends are read from the rows): the median of `--runs`
   runs after one warm-up run, as served (the AI cost reports from the rollup tables, the
   organizations list from those of `events`) — the figures CONTRACT §4 lists,
   then every figure (latency percentiles and edit-ratio distribution too) — and, for
   comparison, from the rows alone (no rollup). CPU ms is the
   whole process's CPU time: on a loaded machine it stays what the query costs while the wall
   clock grows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from app.ai_cost import reports as ai_cost
from app.ai_cost.attribution import (
    derive_other_ai_usage,
    derive_output_usage,
    window_params,
)
from app.ai_cost.plan import ROLLUP_CATALOG, ROWS_ONLY
from app.ai_cost.rollups import ROWS_TABLE
from app.ai_cost.top_keys import LastTopKeys
from app.organizations import queries as organizations
from app.organizations.health import DEFAULT_MODEL
from app.organizations.rollups import ORGANIZATION_ROLLUPS
from app.store.chdb_store import ChdbStore
from app.store.interface import AnalyticsStore
from app.store.migrations import migrate
from app.store.rollups import Rollup
from app.workers.rollups import ROLLUPS

WORKSPACE = UUID("00000000-0000-4000-8000-00000000b001")
APPS = (
    UUID("00000000-0000-4000-8000-0000000a0001"),
    UUID("00000000-0000-4000-8000-0000000a0002"),
    UUID("00000000-0000-4000-8000-0000000a0003"),
)
DAYS = 30
CHUNK_DAYS = 5

# One INSERT … SELECT: event n belongs to group g = n / 20 (one user session of one org);
# positions 0-11 are completed calls, 12 a failed call, 13-16 accepted, 17 rejected and 18-19
# edited outputs of calls 0-6 of the same group, a minute later.
_GENERATE = """
INSERT INTO events
SELECT
    {workspace:UUID} AS workspace_id,
    {apps:Array(UUID)}[1 + org % 3] AS app_id,
    concat('bench-', toString(n)) AS event_id,
    multiIf(pos < 12, 'ai_call_completed', pos = 12, 'ai_call_failed',
            pos < 17, 'ai_output_accepted', pos = 17, 'ai_output_rejected',
            'ai_output_edited') AS event,
    {start:DateTime64(3, 'UTC')}
        + toIntervalMillisecond(intDiv(g * {span_ms:UInt64}, {groups:UInt64}) + pos * 10
                                + if(pos > 12, 60000, 0)) AS timestamp,
    timestamp AS received_at,
    if(h % 10 = 0, 'staging', 'production') AS environment,
    concat(if(org >= 980, 'Org-', 'org-'), toString(org % 980)) AS customer_org_id,
    hex(SHA256(concat('user', toString(org), '-', toString(g % 7)))) AS user_hash,
    concat(
        '{"feature":"feature-', toString(feature), '"',
        if(pos >= 13 AND h % 3 = 0, '',
           concat(',"provider":"', provider, '","model":"', model_name, '"')),
        if(org % 10 < 7,
           concat(',"customer_plan":"', ['starter', 'growth', 'enterprise'][1 + org % 3], '"'),
           ''),
        ',"ai_call_id":"call-', toString(g), '-', toString(if(pos >= 13, pos - 13, pos)), '"',
        if(pos < 12, concat(',"input_tokens":', toString(input_tokens),
                            ',"output_tokens":', toString(output_tokens),
                            ',"cached_input_tokens":', toString(cached),
                            ',"total_tokens":', toString(input_tokens + output_tokens),
                            ',"latency_ms":', toString(latency), ',"success":true'), ''),
        if(pos = 12, ',"latency_ms":8500,"error_code":"rate_limited"', ''),
        if(pos >= 18, concat(',"edit_ratio":', toString((h % 1000) / 1000)), ''),
        '}') AS properties,
    multiIf(pos = 12, 'missing_tokens', pos > 12, '', model_index = 19, 'unknown_model',
            'calculated') AS ai_cost_status,
    if(pos < 12 AND model_index != 19, 'global_catalog', 'none') AS ai_pricing_source,
    if(model_index = 19 OR pos = 12, '', concat(provider, '/', model_name))
        AS ai_canonical_model_key,
    if(pos < 12 AND model_index != 19,
       toDecimal128(input_tokens * (model_index + 1) * 150
                    + output_tokens * (model_index + 1) * 600, 12) / 1000000000,
       NULL) AS estimated_cost_eur
FROM
(
    SELECT
        number AS n,
        intDiv(number, 20) AS g,
        number % 20 AS pos,
        cityHash64(g, 'org') % 1000 AS org,
        cityHash64(g, 'feature') % 50 AS feature,
        cityHash64(number) AS h,
        -- the call an event is about: itself, or for outputs the call they name
        cityHash64(g, if(pos >= 13, pos - 13, pos)) AS c,
        (feature * 3 + c % 3) % 20 AS model_index,
        multiIf(model_index < 8, 'openai', model_index < 14, 'anthropic',
                model_index < 18, 'mistral', model_index = 18, 'local', 'acme-llm')
            AS provider,
        if(model_index = 19, 'mystery', concat('model-', toString(model_index))) AS model_name,
        200 + c % 4000 AS input_tokens,
        50 + intDiv(c, 7) % 1500 AS output_tokens,
        if(c % 4 = 0, intDiv(input_tokens, 2), 0) AS cached,
        200 + intDiv(c, 11) % 3000 + if(c % 50 = 0, 10000, 0) AS latency
    FROM numbers({events:UInt64})
)
"""
# Plans set on organizations (used for PLAN when an event has no customer_plan).
_ORG_PLANS = """
INSERT INTO organization_plans
SELECT {workspace:UUID}, concat(if(number >= 980, 'Org-', 'org-'), toString(number % 980)),
       ['team', 'pro'][1 + number % 2], {start:DateTime64(3, 'UTC')}
FROM numbers(1000) WHERE number % 10 >= 7 AND number % 4 != 0
"""


# The rankings remembered between reports, as a served runtime keeps them.
_TOP_KEYS = LastTopKeys()


def load(store: AnalyticsStore, events: int, end: datetime) -> None:
    start = end - timedelta(days=DAYS)
    span_ms = DAYS * 86_400_000
    began = time.perf_counter()
    store.command(
        _GENERATE,
        {
            "workspace": WORKSPACE,
            "apps": list(APPS),
            "start": start,
            "span_ms": span_ms - 120_000,
            "groups": max(events // 20, 1),
            "events": events,
        },
    )
    store.command(_ORG_PLANS, {"workspace": WORKSPACE, "start": start})
    generated = time.perf_counter()
    print(f"generated {events:,} events in {generated - began:.1f} s", flush=True)
    # The writer's derivation, CHUNK_DAYS at a time in time order, so that each chunk's outputs
    # find their calls (stored by the chunk before, or by step 1 of the same chunk).
    chunk_filter = (
        "workspace_id IN {workspaces:Array(UUID)}"
        " AND timestamp >= {first:DateTime64(3, 'UTC')} AND timestamp < {last:DateTime64(3, 'UTC')}"
    )
    other, outputs = derive_other_ai_usage(chunk_filter), derive_output_usage(chunk_filter)
    for day in range(0, DAYS + 1, CHUNK_DAYS):
        first = start + timedelta(days=day)
        last = first + timedelta(days=CHUNK_DAYS)
        params = {"workspaces": [WORKSPACE], "first": first, "last": last}
        params.update(window_params(first, last))
        store.command(other, params)
        store.command(outputs, params)
        print(f"\rderived {min(day + CHUNK_DAYS, DAYS)}/{DAYS} days", end="", flush=True)
    derived = time.perf_counter()
    print(f"\rderived ai_usage_events in {derived - generated:.1f} s", flush=True)
    # Merged, as background merges leave them in steady state: the rollups too, which the
    # chunks above fill in parts of five days of every customer each (a live system's old
    # days lie in a few large parts, its new parts hold the last hours only). Left in those
    # parts, a page of 100 customers reads their granules in each part: its latency took
    # 50 ms in four parts against 40 in one.
    for table in ("events", ROWS_TABLE, *(rollup.name for rollup in ROLLUPS)):
        store.command(f"OPTIMIZE TABLE {table} FINAL")
    print(f"merged parts in {time.perf_counter() - derived:.1f} s", flush=True)


def median_ms(run: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of `runs` runs, after one warm-up run.

    The CPU time is the whole process's (chdb runs its threads in it): on a machine shared
    with other work it stays what the query costs, while the wall clock grows with the load.
    """
    run()  # warm-up: caches, first-use allocations
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def organizations_report(
    store: Any, end: datetime, order: organizations.OrderField, rollups: Sequence[Rollup]
) -> Callable[[bool], object]:
    """The organizations list: top 50 in `order`, with health scores."""
    scope = organizations.OrganizationScope(
        workspace_id=WORKSPACE,
        start=end - timedelta(days=DAYS),
        end=end,
        retained_from=end - timedelta(days=365),
    )
    page = organizations.Page(order=order, descending=True, limit=50)
    return lambda _full: organizations.list_organizations(
        store, scope=scope, model=DEFAULT_MODEL, page=page, rollups=rollups
    )


Report = Callable[[bool], object]


def reports(store: Any, end: datetime, *, rows_only: bool = False) -> Mapping[str, Report]:
    """Every report over the last 30 days. Each runs with the figures CONTRACT §4 lists for a
    row (`full` False) or with every figure (`full`: plus the latency percentiles and the
    edit-ratio distribution, which GraphQL computes only when selected). `rows_only`: read
    from the rows alone, as if there were no rollup table."""
    catalog = ROWS_ONLY if rows_only else ROLLUP_CATALOG
    organization_rollups: Sequence[Rollup] = () if rows_only else ORGANIZATION_ROLLUPS
    scope = ai_cost.AiScope(workspace_id=WORKSPACE, start=end - timedelta(days=DAYS), end=end)
    staging = ai_cost.AiScope(WORKSPACE, scope.start, scope.end, environment="staging")
    one_customer = ai_cost.AiScope(WORKSPACE, scope.start, scope.end, customer_org_id="org-7")

    def totals(full: bool) -> ai_cost.AiCostFigures:
        return ai_cost.ai_cost_totals(store, scope, latency=full, edit_ratios=full, catalog=catalog)

    def breakdown(by: ai_cost.Breakdown, within: ai_cost.AiScope = scope) -> Report:
        return lambda full: ai_cost.ai_cost_breakdown(
            store,
            within,
            by,
            limit=100,
            latency=full,
            edit_ratios=full,
            top_keys=_TOP_KEYS,
            catalog=catalog,
        )

    def series(granularity: ai_cost.Granularity, by: ai_cost.Breakdown | None = None) -> Report:
        return lambda full: ai_cost.ai_cost_series(
            store,
            scope,
            granularity,
            by=by,
            latency=full,
            edit_ratios=full,
            top_keys=_TOP_KEYS,
            catalog=catalog,
        )

    def cost_per_accepted_output(full: bool) -> list[Decimal | None]:
        rows = breakdown(ai_cost.Breakdown.CUSTOMER)(full)
        assert isinstance(rows, list)
        return [row.figures.cost_per_accepted_output_eur for row in rows]

    runs: dict[str, Report] = {"totals": totals}
    for by in ai_cost.Breakdown:
        runs[f"breakdown by {by.name}"] = breakdown(by)
    runs["cost per accepted output (totals)"] = lambda full: (
        totals(full).cost_per_accepted_output_eur
    )
    runs["cost per accepted output by CUSTOMER"] = cost_per_accepted_output
    for granularity in ai_cost.Granularity:
        runs[f"series by {granularity.name}"] = series(granularity)
    for by in (ai_cost.Breakdown.FEATURE, ai_cost.Breakdown.MODEL, ai_cost.Breakdown.CUSTOMER):
        runs[f"series by DAY split by {by.name} (top 10)"] = series(ai_cost.Granularity.DAY, by)
    runs["environment = staging, by MODEL"] = breakdown(ai_cost.Breakdown.MODEL, staging)
    runs["customer = org-7, by FEATURE (no projection)"] = breakdown(
        ai_cost.Breakdown.FEATURE, one_customer
    )
    for order in (organizations.OrderField.AI_COST, organizations.OrderField.HEALTH_SCORE):
        name = order.name.replace("_", " ").lower().replace("ai", "AI")
        runs[f"organizations (top 50 by {name})"] = organizations_report(
            store, end, order, organization_rollups
        )
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--folder", type=Path, default=None, help="chdb folder (default: temp)")
    parser.add_argument("--reuse", action="store_true", help="query an already loaded --folder")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="bench-analytics-"))
    if not args.reuse:
        shutil.rmtree(folder, ignore_errors=True)  # a fresh engine folder: nothing left over
    store = ChdbStore(folder, "bench")
    # The data ends at a fixed instant (whole hour + 17 min) so that reruns with --reuse query
    # the same rows; the range is not hour-aligned, like the dashboard's default.
    end = datetime(2026, 11, 30, 12, 17, tzinfo=UTC)
    try:
        migrate(store)  # with --reuse too: an older folder gains the new tables
        if not args.reuse:
            load(store, args.events, end)
        count = store.query("SELECT count() AS n FROM ai_usage_events")[0]["n"]
        print(f"\n{count:,} rows in ai_usage_events; median of {args.runs} runs, in ms:\n")
        served, raw = reports(store, end), reports(store, end, rows_only=True)
        print(
            f"| {'report (last 30 days)':<48} | {'wall ms':>7} | {'CPU ms':>7} "
            f"| {'all figures: wall':>17} | {'rows only: wall':>15} |"
        )
        print(f"| {'-' * 48} | {'-' * 6}: | {'-' * 6}: | {'-' * 16}: | {'-' * 14}: |")
        for name, run in served.items():
            wall, cpu = median_ms(partial(run, False), args.runs)
            full_wall, _ = median_ms(partial(run, True), args.runs)
            raw_wall, _ = median_ms(partial(raw[name], False), args.runs)
            cells = f"{wall:>7.1f} | {cpu:>7.1f} | {full_wall:>17.1f} | {raw_wall:>15.1f}"
            print(f"| {name:<48} | {cells} |", flush=True)
        print(f"\nload average during the run: {os.getloadavg()[0]:.1f} (2 cores)")
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
