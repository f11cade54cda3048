"""The pre-aggregated aiCost reports equal the §4 definitions, whatever order events arrive in.

Random traffic is written through the workers' writer in shuffled batches (outputs often before
their call, so the late-call reconciliation runs), then every report is compared three ways:
with the oracle of tests/analytics/ai_traffic.py (plain Python over the events), with the same
report read from the rows alone (no rollup table), and — through EXPLAIN — with the plan
ClickHouse picks, which must read the rollup tables (app/store/rollups.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from app.ai_cost import reports as ai_cost
from app.ai_cost.attribution import reconcile_outputs, window_params
from app.ai_cost.plan import ROLLUP_CATALOG, ROWS_ONLY, Catalog
from app.ai_cost.top_keys import LastTopKeys
from app.store.interface import AnalyticsStore, Params, Row
from app.workers.rollups import ROLLUPS
from app.workers.writer import EventWriter
from tests.analytics.ai_traffic import (
    APP,
    DAY,
    OTHER_APP,
    WORKSPACE,
    AiEvent,
    Ids,
    Oracle,
    assert_figures,
    batches,
    call,
    output,
    queued,
    random_traffic,
)
from tests.conftest import database_copy

Breakdown = ai_cost.Breakdown
Granularity = ai_cost.Granularity
ROLLUP_NAMES = {rollup.name for rollup in ROLLUPS}
ORG_PLANS = {"globex": "enterprise", "Acme-Corp": "team", "acme-corp": "starter"}


class Recording:
    """A store that remembers the statements it ran."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store
        self.database = store.database
        self.statements: list[tuple[str, Params | None]] = []

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        self.statements.append((sql, params))
        return self.store.query(sql, params)

    def command(self, sql: str, params: Params | None = None) -> None:
        self.store.command(sql, params)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        self.store.insert(table, columns, rows)

    def ping(self) -> None:
        self.store.ping()

    def close(self) -> None:
        self.store.close()


def _no_dead_letters(row: dict[str, Any], reason: str) -> None:
    raise AssertionError(f"dead-lettered {row['event_id']}: {reason}")


def write(store: AnalyticsStore, events: list[AiEvent], seed: int = 1) -> None:
    writer = EventWriter(store, _no_dead_letters)
    for batch in batches(events, seed):
        result = writer.write(batch)
        assert result.dead_lettered == 0


def set_org_plans(store: AnalyticsStore) -> None:
    rows = [
        {"workspace_id": WORKSPACE, "customer_org_id": org, "plan": plan, "updated_at": DAY}
        for org, plan in ORG_PLANS.items()
    ]
    # An older plan that a later row replaces.
    rows.append(
        {
            "workspace_id": WORKSPACE,
            "customer_org_id": "globex",
            "plan": "free-trial",
            "updated_at": DAY - timedelta(days=30),
        }
    )
    columns = ("workspace_id", "customer_org_id", "plan", "updated_at")
    store.insert("organization_plans", columns, rows)


@pytest.fixture
def top_keys() -> LastTopKeys:
    """What a runtime remembers of the reports' top keys (app/runtime.py), empty at first; a
    report not given it remembers nothing."""
    return LastTopKeys()


@pytest.fixture(scope="module")
def traffic() -> list[AiEvent]:
    return random_traffic(seed=7)


@pytest.fixture(scope="module")
def written_store(
    clickhouse_template: AnalyticsStore, traffic: list[AiEvent]
) -> Iterator[AnalyticsStore]:
    """A database of this module's own holding the random traffic, written once for the tests
    that only read it (writing it takes seconds)."""
    with database_copy(clickhouse_template) as store:
        write(store, traffic)
        set_org_plans(store)
        yield store


@pytest.fixture(scope="module")
def written(written_store: AnalyticsStore, traffic: list[AiEvent]) -> Oracle:
    return Oracle(traffic, ORG_PLANS)


@pytest.fixture
def written_copy(written_store: AnalyticsStore) -> Iterator[AnalyticsStore]:
    """A copy of the written traffic for a test that adds to it."""
    with database_copy(written_store) as store:
        yield store


# Unaligned ranges exercise the partial hours and days read from the rows; the whole-day range
# is served by the rollups alone; the last holds a whole week (DAY is a Monday).
RANGES = [
    (DAY - timedelta(hours=20, minutes=13), DAY + timedelta(days=2, hours=3, seconds=7)),
    (DAY, DAY + timedelta(days=2)),
    (DAY + timedelta(hours=3, minutes=5), DAY + timedelta(hours=3, minutes=50)),
    (DAY - timedelta(days=1, hours=5, minutes=3), DAY + timedelta(days=7, hours=2, minutes=30)),
]


def scope(start: datetime, end: datetime, **filters: Any) -> ai_cost.AiScope:
    return ai_cost.AiScope(workspace_id=WORKSPACE, start=start, end=end, **filters)


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_totals_and_every_breakdown_equal_the_definitions(
    written_store: AnalyticsStore, written: Oracle, start: datetime, end: datetime
) -> None:
    s = scope(start, end)
    expected = written.group(s).get(None)
    totals = ai_cost.ai_cost_totals(written_store, s)
    if expected is None:
        assert totals == ai_cost.EMPTY
    else:
        assert_figures(totals, expected, "totals")
    for by in Breakdown:
        rows = ai_cost.ai_cost_breakdown(written_store, s, by, limit=1000)
        wanted = written.group(s, lambda a, by=by: written.key(a, by))
        assert {r.key for r in rows} == set(wanted), by
        for row in rows:
            assert_figures(row.figures, wanted[row.key], f"{by} {row.key!r}")
        # Costliest first, then most calls, then by key.
        order = [(-r.figures.known_cost_eur, -r.figures.calls, r.key) for r in rows]
        assert order == sorted(order), by


@pytest.mark.parametrize(
    "filters",
    [
        {"environment": "staging"},
        {"app_id": OTHER_APP},
        {"customer_org_id": "Acme-Corp"},
        {"customer_org_id": "acme-corp"},
        {"feature": "summary"},
        {"model": "openai/gpt-5.4-mini"},
        {"provider": "anthropic"},
        {"environment": "production", "feature": "support", "app_id": APP},
    ],
)
def test_filters_select_calls_and_the_outputs_of_those_calls(
    written_store: AnalyticsStore, written: Oracle, filters: dict[str, Any]
) -> None:
    start, end = RANGES[0]
    s = scope(start, end, **filters)
    assert_figures(ai_cost.ai_cost_totals(written_store, s), written.group(s)[None], str(filters))
    for by in (Breakdown.FEATURE, Breakdown.CUSTOMER, Breakdown.PLAN):
        rows = ai_cost.ai_cost_breakdown(written_store, s, by, limit=1000)
        wanted = written.group(s, lambda a, by=by: written.key(a, by))
        assert {r.key for r in rows} == set(wanted)
        for row in rows:
            assert_figures(row.figures, wanted[row.key], f"{filters} {by} {row.key!r}")


@pytest.mark.parametrize("granularity", list(Granularity))
def test_the_series_equals_the_definitions(
    written_store: AnalyticsStore, written: Oracle, granularity: Granularity
) -> None:
    start, end = RANGES[0]
    s = scope(start, end)
    points = ai_cost.ai_cost_series(written_store, s, granularity)
    assert [p.start for p in points] == ai_cost.bucket_starts(start, end, granularity)
    floor = {p.start: p for p in points}
    wanted = written.group(
        s,
        lambda a: max(t for t in floor if t <= a.event.at),  # the bucket it falls in
    )
    for point in points:
        if point.start in wanted:
            assert_figures(point.figures, wanted[point.start], str(point.start))
        else:
            assert point.figures == ai_cost.EMPTY


@pytest.mark.parametrize("by", [Breakdown.FEATURE, Breakdown.CUSTOMER, Breakdown.PLAN])
def test_a_split_series_has_the_top_keys_and_one_other_row(
    written_store: AnalyticsStore, written: Oracle, by: Breakdown
) -> None:
    start, end = RANGES[0]
    s = scope(start, end)
    top = 2
    points = ai_cost.ai_cost_series(written_store, s, Granularity.DAY, by=by, top=top)
    ranking = ai_cost.ai_cost_breakdown(written_store, s, by, limit=top)
    top_keys = {r.key for r in ranking}
    buckets = {p.start for p in points}

    def bucket(a: Any) -> datetime:
        return max(t for t in buckets if t <= a.event.at)

    def group(a: Any) -> tuple[datetime, str | None]:
        key = written.key(a, by)
        return bucket(a), key if key in top_keys else None

    wanted = written.group(s, group)
    totals = written.group(s, bucket)
    for point in points:
        assert_figures(point.figures, totals[point.start], str(point.start))
        found = {(None if r.other else r.key): r for r in point.rows}
        expected = {k: v for (b, k), v in wanted.items() if b == point.start}
        assert set(found) == set(expected), point.start
        for key, row in found.items():
            assert_figures(row.figures, expected[key], f"{point.start} {key!r}")
        # Top keys first, costliest first, the `other` row last.
        assert [r.other for r in point.rows] == sorted(r.other for r in point.rows)


def _every_report(
    store: AnalyticsStore, start: datetime, end: datetime, catalog: Catalog = ROLLUP_CATALOG
) -> list[object]:
    s = scope(start, end)
    one_customer = scope(start, end, customer_org_id="Acme-Corp")
    c = catalog
    return [
        ai_cost.ai_cost_totals(store, s, catalog=c),
        *(ai_cost.ai_cost_breakdown(store, s, by, limit=1000, catalog=c) for by in Breakdown),
        *(ai_cost.ai_cost_series(store, s, g, by=Breakdown.MODEL, catalog=c) for g in Granularity),
        *(
            ai_cost.ai_cost_series(store, s, g, by=Breakdown.CUSTOMER, catalog=c)
            for g in Granularity
        ),
        *(
            ai_cost.ai_cost_breakdown(store, one_customer, by, limit=1000, catalog=c)
            for by in (Breakdown.FEATURE, Breakdown.MODEL, Breakdown.APP)
        ),
    ]


@pytest.mark.parametrize(("start", "end"), RANGES)
def test_reading_the_rows_gives_the_same_reports(
    written_store: AnalyticsStore,
    written: Oracle,
    start: datetime,
    end: datetime,
) -> None:
    served = _every_report(written_store, start, end)
    recording = Recording(written_store)
    from_rows = _every_report(recording, start, end, ROWS_ONLY)
    assert all(
        _tables_read(written_store, sql, params) == ["ai_usage_events"]
        for sql, params in recording.statements
    )
    assert served == from_rows


def _tables_read(store: AnalyticsStore, sql: str, params: Params | None) -> list[str]:
    plan = "\n".join(row["explain"] for row in store.query(f"EXPLAIN {sql}", params))
    return [name.split(".")[-1] for name in re.findall(r"ReadFromMergeTree \(([^)]*)\)", plan)]


def test_every_report_over_whole_days_reads_only_rollups(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    recording = Recording(written_store)
    s = scope(DAY, DAY + timedelta(days=2))
    ai_cost.ai_cost_totals(recording, s)
    for by in Breakdown:
        ai_cost.ai_cost_breakdown(recording, s, by)
    for granularity in Granularity:
        ai_cost.ai_cost_series(recording, s, granularity)
    for by in (Breakdown.FEATURE, Breakdown.MODEL, Breakdown.CUSTOMER, Breakdown.PLAN):
        ai_cost.ai_cost_series(recording, s, Granularity.WEEK, by=by)
    ai_cost.ai_cost_totals(recording, scope(DAY, DAY + timedelta(days=2), environment="staging"))
    # An organization's detail page: one customer by feature.
    one_customer = scope(DAY, DAY + timedelta(days=2), customer_org_id="acme-corp")
    ai_cost.ai_cost_breakdown(recording, one_customer, Breakdown.FEATURE)
    for sql, params in recording.statements:
        tables = _tables_read(written_store, sql, params)
        assert tables and all(t in ROLLUP_NAMES for t in tables), (tables, sql)


def test_a_partial_range_reads_the_rows_only_at_its_ends(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    recording = Recording(written_store)
    start, end = RANGES[0]  # 20 h 13 min before DAY to 2 days, 3 h and 7 s after it
    ai_cost.ai_cost_breakdown(recording, scope(start, end), Breakdown.FEATURE, latency=False)
    ai_cost.ai_cost_breakdown(recording, scope(start, end), Breakdown.CUSTOMER, latency=False)
    (feature_sql, feature_params), (customer_sql, customer_params) = recording.statements
    rows = "ai_usage_events"
    # Whole days from the daily rollup, the whole hours at both ends from the hourly one,
    # the partial hours from the rows: one SELECT each.
    assert _tables_read(written_store, feature_sql, feature_params) == [
        "ai_daily_feature",
        "ai_hourly_dims",
        rows,
    ]
    assert feature_params is not None
    bounds = sorted(v for v in feature_params.values() if isinstance(v, datetime))
    assert bounds == [
        start,
        DAY - timedelta(hours=20),  # the first whole hour
        DAY - timedelta(hours=20),
        DAY,  # the first whole day
        DAY,
        DAY + timedelta(days=2),  # the end of the last whole day
        DAY + timedelta(days=2),
        DAY + timedelta(days=2, hours=3),  # the end of the last whole hour
        DAY + timedelta(days=2, hours=3),
        end,
    ]
    assert _tables_read(written_store, customer_sql, customer_params) == [
        "ai_daily_customer",
        "ai_hourly_customer",
        rows,
    ]


def _latency_statements(recording: Recording) -> list[tuple[str, Params | None]]:
    return [(sql, params) for sql, params in recording.statements if "quantiles" in sql]


def test_latency_reads_the_histograms_for_whole_days_and_the_rows_at_the_ends(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    recording = Recording(written_store)
    start, end = RANGES[0]
    ai_cost.ai_cost_totals(recording, scope(start, end))
    ai_cost.ai_cost_breakdown(recording, scope(start, end), Breakdown.FEATURE)
    ai_cost.ai_cost_breakdown(recording, scope(start, end), Breakdown.PLAN)
    totals, feature, plan = _latency_statements(recording)
    rows = "ai_usage_events"
    # Only the totals' and the plans' families have hourly histograms; the others read the
    # partial days' rows.
    assert _tables_read(written_store, *totals) == ["ai_latency_daily", "ai_latency_hourly", rows]
    assert _tables_read(written_store, *feature) == ["ai_latency_daily_feature", rows]
    # The organizations' plans are read once, before the parts (a scalar of the statement).
    assert _tables_read(written_store, *plan) == [
        "ai_latency_daily_plan",
        "ai_latency_hourly_plan",
        rows,
    ]


def test_the_latency_of_plans_reads_the_weekly_histogram_for_whole_weeks(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    recording = Recording(written_store)
    start, end = RANGES[-1]  # a day, 5 h and 3 min before DAY to 7 days, 2 h 30 min after it
    ai_cost.ai_cost_breakdown(recording, scope(start, end), Breakdown.PLAN)
    [plan] = _latency_statements(recording)
    rows = "ai_usage_events"
    assert plan[1] is not None
    bounds = sorted(v for v in plan[1].values() if isinstance(v, datetime))
    first_hour, week = DAY - timedelta(days=1, hours=5), DAY + timedelta(days=7)
    assert bounds == [
        start,
        *(first_hour, first_hour),
        *(DAY - timedelta(days=1),) * 2,  # the whole day before the week
        *(DAY, DAY),  # the whole week
        *(week, week),
        *(week + timedelta(hours=2),) * 2,  # the end of the last whole hour
        end,
    ]
    assert _tables_read(written_store, *plan) == [
        "ai_latency_weekly_plan",
        "ai_latency_daily_plan",
        "ai_latency_hourly_plan",
        rows,
    ]


@pytest.mark.parametrize(
    ("series", "weekly"),
    [(None, True), (Granularity.WEEK, True), (Granularity.DAY, False), (Granularity.MONTH, False)],
)
def test_a_weekly_rollup_serves_no_series_whose_buckets_a_week_may_straddle(
    series: Granularity | None, weekly: bool
) -> None:
    columns = ai_cost._DIMENSIONS[Breakdown.PLAN].columns
    chosen = ROLLUP_CATALOG.histograms_for(columns, series, few_customers=False)
    assert ("ai_latency_weekly_plan" in [r.name for r in chosen]) is weekly


def test_latency_without_a_histogram_for_the_scope_reads_the_states(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    recording = Recording(written_store)
    one_customer = scope(DAY, DAY + timedelta(days=2), customer_org_id="acme-corp")
    ai_cost.ai_cost_breakdown(recording, one_customer, Breakdown.FEATURE)
    one_feature = scope(DAY, DAY + timedelta(days=1), feature="search")
    ai_cost.ai_cost_series(recording, one_feature, Granularity.HOUR)
    (by_feature, by_feature_params), (hourly, hourly_params) = _latency_statements(recording)
    assert _tables_read(written_store, by_feature, by_feature_params) == ["ai_daily_customer_dims"]
    assert _tables_read(written_store, hourly, hourly_params) == ["ai_hourly_dims"]


def test_one_customer_and_the_latency_of_a_page_of_customers_read_the_customer_first_rollups(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    # Sorted by customer first, they skip the other customers' granules.
    recording = Recording(written_store)
    days = (DAY, DAY + timedelta(days=2))
    ai_cost.ai_cost_totals(recording, scope(*days, customer_org_id="acme"), latency=False)
    ai_cost.ai_cost_breakdown(recording, scope(*days), Breakdown.CUSTOMER)
    totals, breakdown, latency = recording.statements
    assert _tables_read(written_store, *totals) == ["ai_daily_customer_dims"]
    assert _tables_read(written_store, *breakdown) == ["ai_daily_customer"]
    assert _tables_read(written_store, *latency) == ["ai_latency_daily_customer"]


def test_a_split_series_by_customer_reads_the_latency_of_its_other_row_from_histograms(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    # The `other` row's histogram is the bucket's minus the top customers': no other
    # customer's latency is read.
    recording = Recording(written_store)
    ai_cost.ai_cost_series(
        recording, scope(DAY, DAY + timedelta(days=2)), Granularity.DAY, by=Breakdown.CUSTOMER
    )
    # The ranking first; the figures of its top customers and their latency after it.
    assert len(recording.statements) == 3
    ((latency_sql, latency_params),) = _latency_statements(recording)
    assert latency_params is not None and latency_params["top_keys"]
    assert _tables_read(written_store, latency_sql, latency_params) == [
        "ai_latency_daily_customer",
        "ai_latency_daily",
    ]


def test_a_split_series_by_customer_within_one_feature_equals_the_definitions(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    # No histogram has both columns: the latency is merged from the states, in the statement
    # of the figures, once the ranking statement has found the top keys.
    start, end = RANGES[0]
    s = scope(start, end, feature="search")
    recording = Recording(written_store)
    points = ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=Breakdown.CUSTOMER, top=2)
    assert len(recording.statements) == 2
    top_keys = {
        r.key for r in ai_cost.ai_cost_breakdown(written_store, s, Breakdown.CUSTOMER, limit=2)
    }
    buckets = [p.start for p in points]

    def group(a: Any) -> tuple[datetime, str | None]:
        key = written.key(a, Breakdown.CUSTOMER)
        return max(t for t in buckets if t <= a.event.at), key if key in top_keys else None

    wanted = written.group(s, group)
    assert any(None in key for key in wanted), "the traffic must leave an `other` row"
    assert sum(len(p.rows) for p in points) == len(wanted)
    for point in points:
        for row in point.rows:
            key = None if row.other else row.key
            assert_figures(row.figures, wanted[(point.start, key)], f"{point.start} {key!r}")


def test_a_split_series_by_feature_within_one_customer_merges_its_latency_from_the_states(
    written_store: AnalyticsStore, written: Oracle
) -> None:
    # No histogram has both columns: the latency statement beside the figures merges the
    # rollups' states per bucket and row.
    start, end = RANGES[0]
    s = scope(start, end, customer_org_id="acme-corp")
    recording = Recording(written_store)
    points = ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=Breakdown.FEATURE, top=1)
    (latency_sql, latency_params), *_ = _latency_statements(recording)
    tables = _tables_read(written_store, latency_sql, latency_params)
    assert tables and not any(t.startswith("ai_latency") for t in tables)
    top_keys = {
        r.key for r in ai_cost.ai_cost_breakdown(written_store, s, Breakdown.FEATURE, limit=1)
    }
    buckets = [p.start for p in points]

    def group(a: Any) -> tuple[datetime, str | None]:
        key = written.key(a, Breakdown.FEATURE)
        return max(t for t in buckets if t <= a.event.at), key if key in top_keys else None

    wanted = written.group(s, group)
    assert any(None in key for key in wanted), "the traffic must leave an `other` row"
    assert sum(len(p.rows) for p in points) == len(wanted)
    for point in points:
        for row in point.rows:
            key = None if row.other else row.key
            assert_figures(row.figures, wanted[(point.start, key)], f"{point.start} {key!r}")


def _newcomer(feature: str = "support") -> AiEvent:
    """A call in RANGES[0] costly enough to rank first by customer and by feature."""
    event = call(Ids(), DAY + timedelta(hours=1), "big", cost="1000", latency_ms=250.0)
    return replace(event, event_id="newcomer-call", customer="newcomer", feature=feature)


def test_a_breakdown_by_customer_asked_again_reads_the_latency_beside_the_figures(
    written_store: AnalyticsStore, written: Oracle, top_keys: LastTopKeys
) -> None:
    s = scope(*RANGES[0])
    first = ai_cost.ai_cost_breakdown(written_store, s, Breakdown.CUSTOMER, top_keys=top_keys)
    recording = Recording(written_store)
    assert ai_cost.ai_cost_breakdown(recording, s, Breakdown.CUSTOMER, top_keys=top_keys) == first
    # The customers ranked on top last time are the page's: their latency was read at once.
    assert len(recording.statements) == 2
    (latency_params,) = [p for sql, p in _latency_statements(recording)]
    assert latency_params is not None
    assert latency_params["customers"] == [row.key for row in first]


def test_a_rolling_range_reads_its_latency_beside_the_figures_from_its_last_ranking(
    written_store: AnalyticsStore, written: Oracle, top_keys: LastTopKeys
) -> None:
    # "Last 30 days" moves with every load; its ranking is remembered whatever the range.
    start, end = RANGES[0]
    earlier = ai_cost.ai_cost_breakdown(
        written_store, scope(start, end), Breakdown.CUSTOMER, limit=3, top_keys=top_keys
    )
    later = scope(start + timedelta(hours=1), end + timedelta(hours=1))
    recording = Recording(written_store)
    rows = ai_cost.ai_cost_breakdown(
        recording, later, Breakdown.CUSTOMER, limit=3, top_keys=top_keys
    )
    assert [row.key for row in rows] == [row.key for row in earlier]  # the ranking held
    ((_, latency_params),) = _latency_statements(recording)
    assert len(recording.statements) == 2
    assert latency_params is not None
    assert latency_params["customers"] == [row.key for row in earlier]
    # Nothing remembered.
    assert ai_cost.ai_cost_breakdown(written_store, later, Breakdown.CUSTOMER, limit=3) == rows


def test_customers_new_to_the_top_have_their_latency_read_after_the_figures(
    written_copy: AnalyticsStore, written: Oracle, top_keys: LastTopKeys
) -> None:
    s = scope(*RANGES[0])
    before = ai_cost.ai_cost_breakdown(
        written_copy, s, Breakdown.CUSTOMER, limit=2, top_keys=top_keys
    )
    write(written_copy, [_newcomer()])
    recording = Recording(written_copy)
    rows = ai_cost.ai_cost_breakdown(recording, s, Breakdown.CUSTOMER, limit=2, top_keys=top_keys)
    assert [row.key for row in rows] == ["newcomer", before[0].key]
    assert rows[0].figures.latency.p50_ms == pytest.approx(250, rel=0.01)
    guessed, missed = [p for sql, p in _latency_statements(recording)]
    assert guessed is not None and missed is not None
    assert (guessed["customers"], missed["customers"]) == ([r.key for r in before], ["newcomer"])
    # Nothing remembered.
    assert ai_cost.ai_cost_breakdown(written_copy, s, Breakdown.CUSTOMER, limit=2) == rows


def test_a_split_series_by_customer_asked_again_reads_its_latency_beside_the_figures(
    written_store: AnalyticsStore, written: Oracle, top_keys: LastTopKeys
) -> None:
    s = scope(*RANGES[0])
    by = Breakdown.CUSTOMER
    first = ai_cost.ai_cost_series(
        written_store, s, Granularity.DAY, by=by, top=2, top_keys=top_keys
    )
    recording = Recording(written_store)
    assert (
        ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=by, top=2, top_keys=top_keys)
        == first
    )
    # Both at once (in no set order): the figures of the last top customers, and their latency
    # from histograms (the `other` row's is its bucket's minus theirs).
    assert len(recording.statements) == 2
    ((latency_sql, latency_params),) = _latency_statements(recording)
    assert "latency_sketch" in latency_sql and latency_params is not None
    keys = {r.key for p in first for r in p.rows if not r.other}
    assert sorted(latency_params["top_keys"]) == sorted(keys)


@pytest.mark.parametrize("by", [Breakdown.FEATURE, Breakdown.MODEL, Breakdown.PLAN])
def test_a_split_series_asked_again_runs_the_statements_of_the_last_top_keys_only(
    written_store: AnalyticsStore, written: Oracle, by: Breakdown, top_keys: LastTopKeys
) -> None:
    s = scope(*RANGES[0])
    recording = Recording(written_store)
    first = ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=by, top=2, top_keys=top_keys)
    # The ranking, then the figures of its top keys and their latency, side by side.
    assert len(recording.statements) == 3
    recording.statements.clear()
    again = ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=by, top=2, top_keys=top_keys)
    assert again == first
    keys = {r.key for p in first for r in p.rows if not r.other}
    assert len(recording.statements) == 2
    for _, params in recording.statements:
        assert params is not None and set(params["top_keys"]) == keys


@pytest.mark.parametrize("by", [Breakdown.FEATURE, Breakdown.PLAN])
def test_a_split_series_reads_the_latency_of_its_rows_from_histograms_beside_the_figures(
    written_store: AnalyticsStore, written: Oracle, by: Breakdown
) -> None:
    recording = Recording(written_store)
    start, end = RANGES[1]  # whole days
    ai_cost.ai_cost_series(recording, scope(start, end), Granularity.DAY, by=by, top=2)
    (latency_sql, latency_params), *_ = _latency_statements(recording)
    histogram = "ai_latency_daily_feature" if by is Breakdown.FEATURE else "ai_latency_daily_plan"
    assert _tables_read(written_store, latency_sql, latency_params) == [histogram]
    figures = [sql for sql, _ in recording.statements if "quantiles" not in sql]
    assert len(figures) == len(recording.statements) - 1


def test_a_split_series_whose_top_keys_changed_runs_again_for_the_new_ones(
    written_copy: AnalyticsStore, written: Oracle, top_keys: LastTopKeys
) -> None:
    s = scope(*RANGES[0])
    by = Breakdown.FEATURE
    before = ai_cost.ai_cost_series(
        written_copy, s, Granularity.DAY, by=by, top=2, top_keys=top_keys
    )
    write(written_copy, [_newcomer(feature="brand-new")])
    recording = Recording(written_copy)
    points = ai_cost.ai_cost_series(recording, s, Granularity.DAY, by=by, top=2, top_keys=top_keys)
    # The statement for the last top keys also ranks every key: the new ranking differs, so
    # the statement runs again for its top keys (each beside its latency statement).
    (_, guessed), (_, again) = [(q, p) for q, p in recording.statements if "quantiles" not in q]
    assert guessed is not None and again is not None
    old_top = {r.key for p in before for r in p.rows if not r.other}
    assert set(guessed["top_keys"]) == old_top
    assert "brand-new" in again["top_keys"] and set(again["top_keys"]) != old_top
    assert "brand-new" in {r.key for p in points for r in p.rows if not r.other}
    # Nothing remembered.
    assert (
        ai_cost.ai_cost_series(written_copy, s, Granularity.DAY, by=Breakdown.FEATURE, top=2)
        == points
    )


# --- write-time attribution ------------------------------------------------------------------


def test_outputs_stored_before_their_call_are_reattributed_once(store: AnalyticsStore) -> None:
    ids = Ids()
    late = call(ids, DAY, "c1", cost="0.010", feature="support", customer="globex")
    outputs = [
        output(ids, "accepted", DAY + timedelta(minutes=5), "c1", feature="mislabelled"),
        output(ids, "rejected", DAY + timedelta(minutes=6), "c1", feature="mislabelled"),
    ]
    writer = EventWriter(store, _no_dead_letters)
    writer.write([queued(e) for e in outputs])
    s = scope(DAY, DAY + timedelta(days=1))
    rows = ai_cost.ai_cost_breakdown(store, s, Breakdown.FEATURE)
    assert [(r.key, r.figures.accepted_outputs) for r in rows] == [("mislabelled", 1)]

    writer.write([queued(late)])
    # A retried batch (the worker died before acknowledging) changes nothing.
    writer.write([queued(late)])
    rows = ai_cost.ai_cost_breakdown(store, s, Breakdown.FEATURE)
    assert [
        (r.key, r.figures.calls, r.figures.accepted_outputs, r.figures.rejected_outputs)
        for r in rows
    ] == [("support", 1, 1, 1)]
    assert rows[0].figures.wasted_spend_eur == late.cost
    customers = ai_cost.ai_cost_breakdown(store, s, Breakdown.CUSTOMER)
    assert [(r.key, r.figures.accepted_outputs) for r in customers] == [("globex", 1)]
    # Each output is stored as one row plus one -1/+1 correction pair.
    counts = store.query(
        "SELECT event_id, count() AS n, sum(sign) AS net FROM ai_usage_events"
        " WHERE event != 'ai_call_completed' GROUP BY event_id ORDER BY event_id"
    )
    assert [(r["n"], r["net"]) for r in counts] == [(3, 1), (3, 1)]


def test_an_earlier_call_arriving_later_takes_its_outputs(store: AnalyticsStore) -> None:
    ids = Ids()
    second = call(ids, DAY + timedelta(minutes=10), "dup", cost="0.02", feature="second")
    first = call(ids, DAY, "dup", cost="0.01", feature="first")
    accepted = output(ids, "accepted", DAY + timedelta(minutes=20), "dup", feature="own")
    writer = EventWriter(store, _no_dead_letters)
    writer.write([queued(second), queued(accepted)])
    writer.write([queued(first)])
    rows = ai_cost.ai_cost_breakdown(store, scope(DAY, DAY + timedelta(days=1)), Breakdown.FEATURE)
    assert [(r.key, r.figures.calls, r.figures.accepted_outputs) for r in rows] == [
        ("second", 1, 0),
        ("first", 1, 1),
    ]


def test_reconciling_again_appends_nothing(store: AnalyticsStore) -> None:
    ids = Ids()
    events = [
        output(ids, "edited", DAY + timedelta(minutes=1), "c1", edit_ratio=0.4),
        call(ids, DAY, "c1", cost="0.01"),
    ]
    write(store, events)
    before = store.query("SELECT count() AS n FROM ai_usage_events")[0]["n"]
    params = {
        "workspaces": [WORKSPACE],
        "apps": [APP],
        "ids": [e.event_id for e in events],
        "first": DAY,
        "last": DAY + timedelta(minutes=1),
        **window_params(DAY, DAY + timedelta(minutes=1)),
    }
    batch = (
        "workspace_id IN {workspaces:Array(UUID)} AND app_id IN {apps:Array(UUID)}"
        " AND event_id IN {ids:Array(String)}"
    )
    store.command(reconcile_outputs(batch), params)
    assert store.query("SELECT count() AS n FROM ai_usage_events")[0]["n"] == before


def test_the_whole_traffic_in_one_batch_gives_the_same_reports(
    store: AnalyticsStore, traffic: list[AiEvent]
) -> None:
    EventWriter(store, _no_dead_letters).write([queued(e) for e in traffic])
    set_org_plans(store)
    oracle = Oracle(traffic, ORG_PLANS)
    start, end = RANGES[0]
    s = scope(start, end)
    for by in (Breakdown.MODEL, Breakdown.PLAN):
        rows = ai_cost.ai_cost_breakdown(store, s, by, limit=1000)
        wanted = oracle.group(s, lambda a, by=by: oracle.key(a, by))
        assert {r.key for r in rows} == set(wanted)
        for row in rows:
            assert_figures(row.figures, wanted[row.key], f"{by} {row.key!r}")
