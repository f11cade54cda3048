"""The planner alone (app/ai_cost/plan.py): which table serves which part of a range."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.ai_cost.plan import ROLLUP_CATALOG, ROWS_ONLY, Catalog, plan
from app.store.rollups import Rollup
from app.store.time_split import Branch, Granularity

# Saturday 3 October 2026, 07:30 to Monday 2 November 2026, 16:45: partial hours at both ends,
# whole hours and a whole day before the first Monday, four whole weeks.
START = datetime(2026, 10, 3, 7, 30, tzinfo=UTC)
END = datetime(2026, 11, 2, 16, 45, tzinfo=UTC)
PLAN_COLUMNS = ("attr_customer_plan", "plan_customer")  # what a breakdown by plan reads


def at(day: int, hour: int = 0, minute: int = 0, month: int = 10) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def names(rollups: list[Rollup]) -> list[str]:
    return [rollup.name for rollup in rollups]


def served(branches: list[Branch], params: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """Each source with the half-open intervals its condition reads."""
    result = []
    for branch in branches:
        bounds = [params[name] for name in re.findall(r"\{(t\d+):", branch.condition)]
        result.append((branch.source, list(zip(bounds[::2], bounds[1::2], strict=True))))
    return result


def test_whole_days_from_a_daily_rollup_whole_hours_from_an_hourly_one_the_rest_from_rows() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.figures_for(("attr_feature",), None, few_customers=False)
    branches = plan(START, END, rollups, params)
    assert served(branches, params) == [
        ("ai_daily_feature", [(at(4), at(2, month=11))]),
        ("ai_hourly_dims", [(at(3, 8), at(4)), (at(2, month=11), at(2, 16, month=11))]),
        ("ai_usage_events", [(START, at(3, 8)), (at(2, 16, month=11), END)]),
    ]
    # Each source is filtered on its own time key, the bounds bound in order.
    assert [(b.time_key, b.rollup) for b in branches] == [
        ("period", "ai_daily_feature"),
        ("period", "ai_hourly_dims"),
        ("toStartOfHour(timestamp)", None),
    ]
    assert branches[0].condition == (
        "((period >= {t0:DateTime('UTC')} AND period < {t1:DateTime('UTC')}))"
    )
    assert branches[2].condition == (
        "((timestamp >= {t6:DateTime64(3, 'UTC')} AND timestamp < {t7:DateTime64(3, 'UTC')})"
        " OR (timestamp >= {t8:DateTime64(3, 'UTC')} AND timestamp < {t9:DateTime64(3, 'UTC')}))"
    )
    assert list(params) == [f"t{i}" for i in range(10)]


def test_the_latency_by_plan_reads_whole_weeks_from_the_weekly_histogram() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.histograms_for(PLAN_COLUMNS, None, few_customers=False)
    assert served(plan(START, END, rollups, params), params) == [
        ("ai_latency_weekly_plan", [(at(5), at(2, month=11))]),
        ("ai_latency_daily_plan", [(at(4), at(5))]),
        ("ai_latency_hourly_plan", [(at(3, 8), at(4)), (at(2, month=11), at(2, 16, month=11))]),
        ("ai_usage_events", [(START, at(3, 8)), (at(2, 16, month=11), END)]),
    ]


def test_a_range_of_whole_days_reads_no_rows() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.figures_for((), None, few_customers=False)
    assert served(plan(at(4), at(6), rollups, params), params) == [
        ("ai_daily", [(at(4), at(6))]),
    ]


def test_a_range_within_an_hour_reads_only_the_rows() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.figures_for((), None, few_customers=False)
    start, end = at(4, 3, 5), at(4, 3, 50)
    assert served(plan(start, end, rollups, params), params) == [
        ("ai_usage_events", [(start, end)]),
    ]


def test_an_empty_range_is_one_branch_of_the_rows_that_reads_nothing() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.figures_for((), None, few_customers=False)
    [branch] = plan(END, END, rollups, params)
    assert (branch.source, branch.condition, params) == ("ai_usage_events", "0", {})


def test_without_rollups_the_whole_range_is_read_from_the_rows() -> None:
    params: dict[str, Any] = {}
    assert ROWS_ONLY.figures_for((), None, few_customers=False) == []
    assert ROWS_ONLY.histograms_for((), None, few_customers=False) == []
    assert served(plan(START, END, [], params), params) == [("ai_usage_events", [(START, END)])]


@pytest.mark.parametrize(
    ("columns", "series", "few_customers", "figures", "histograms"),
    [
        # The totals: the smallest rollups; the only weekly histogram (of plans) has every
        # column the totals read, so it serves their whole weeks.
        (
            (),
            None,
            False,
            ["ai_daily", "ai_hourly"],
            ["ai_latency_weekly_plan", "ai_latency_daily", "ai_latency_hourly"],
        ),
        # A filter picks a rollup that has its column too.
        (
            ("attr_feature", "attr_environment"),
            None,
            False,
            ["ai_daily_feature", "ai_hourly_dims"],
            ["ai_latency_daily_feature"],
        ),
        # Customers: the one sorted by customer first only for a few of them.
        (
            ("attr_customer_org_id",),
            None,
            False,
            ["ai_daily_customer", "ai_hourly_customer"],
            ["ai_latency_daily_customer"],
        ),
        (
            ("attr_customer_org_id",),
            None,
            True,
            ["ai_daily_customer_dims", "ai_hourly_customer"],
            ["ai_latency_daily_customer"],
        ),
        # One customer's features: no hourly rollup nor histogram has both columns.
        (("attr_customer_org_id", "attr_feature"), None, True, ["ai_daily_customer_dims"], []),
        # Plans: the weekly histogram, unless a series bucket may straddle a week.
        (
            PLAN_COLUMNS,
            None,
            False,
            ["ai_daily_plan", "ai_hourly_customer"],
            ["ai_latency_weekly_plan", "ai_latency_daily_plan", "ai_latency_hourly_plan"],
        ),
        (
            PLAN_COLUMNS,
            Granularity.WEEK,
            False,
            ["ai_daily_plan", "ai_hourly_customer"],
            ["ai_latency_weekly_plan", "ai_latency_daily_plan", "ai_latency_hourly_plan"],
        ),
        (
            PLAN_COLUMNS,
            Granularity.DAY,
            False,
            ["ai_daily_plan", "ai_hourly_customer"],
            ["ai_latency_daily_plan", "ai_latency_hourly_plan"],
        ),
        (
            PLAN_COLUMNS,
            Granularity.MONTH,
            False,
            ["ai_daily_plan", "ai_hourly_customer"],
            ["ai_latency_daily_plan", "ai_latency_hourly_plan"],
        ),
        # An hourly series reads hourly rollups only.
        ((), Granularity.HOUR, False, ["ai_hourly"], ["ai_latency_hourly"]),
        (
            PLAN_COLUMNS,
            Granularity.HOUR,
            False,
            ["ai_hourly_customer"],
            ["ai_latency_hourly_plan"],
        ),
        # A column no rollup has: the rows.
        (("attr_no_such_column",), None, False, [], []),
    ],
)
def test_the_rollups_that_serve_a_report(
    columns: tuple[str, ...],
    series: Granularity | None,
    few_customers: bool,
    figures: list[str],
    histograms: list[str],
) -> None:
    catalog = ROLLUP_CATALOG
    assert names(catalog.figures_for(columns, series, few_customers=few_customers)) == figures
    found = catalog.histograms_for(columns, series, few_customers=few_customers)
    assert names(found) == histograms


def test_an_hourly_series_reads_whole_hours_from_the_hourly_rollup() -> None:
    params: dict[str, Any] = {}
    rollups = ROLLUP_CATALOG.figures_for((), Granularity.HOUR, few_customers=False)
    start = at(4, 3, 5)
    end = start + timedelta(days=1)
    assert served(plan(start, end, rollups, params), params) == [
        ("ai_hourly", [(at(4, 4), at(5, 3))]),
        ("ai_usage_events", [(start, at(4, 4)), (at(5, 3), end)]),
    ]


def test_a_catalog_reads_only_its_own_rollups() -> None:
    daily = next(r for r in ROLLUP_CATALOG.figures if r.name == "ai_daily")
    catalog = Catalog(figures=(daily,), histograms=())
    params: dict[str, Any] = {}
    rollups = catalog.figures_for((), None, few_customers=False)
    assert served(plan(START, END, rollups, params), params) == [
        ("ai_daily", [(at(4), at(2, month=11))]),
        ("ai_usage_events", [(START, at(4)), (at(2, month=11), END)]),
    ]
