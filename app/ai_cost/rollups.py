"""The rollup tables of the AI cost reports: their figures (app/ai_cost/figures.py) and latency
histograms summed per period and key from `ai_usage_events` (migrations 013 and 015; a new figure
needs a migration: docs/changing-a-figure.md). What a rollup is: app/store/rollups.py; the
planner (app/ai_cost/plan.py) picks which of them serves each part of a report's range.
"""

from __future__ import annotations

from app.ai_cost.figures import BUCKET_CALLS, FIGURES
from app.store.events_table import AI_USAGE_TABLE
from app.store.rollups import Rollup
from app.store.time_split import Granularity

ROWS_TABLE = AI_USAGE_TABLE


def _figures(
    name: str, grain: Granularity, keys: tuple[str, ...], *, customer_first: bool = False
) -> Rollup:
    return Rollup(name, grain, keys, customer_first=customer_first, figures=FIGURES)


def _histogram(
    name: str, grain: Granularity, keys: tuple[str, ...], *, customer_first: bool = False
) -> Rollup:
    return Rollup(
        name, grain, keys, histogram=True, customer_first=customer_first, bucket_calls=BUCKET_CALLS
    )


_ENV_APP = ("attr_environment", "attr_app_id")
_DIMS = ("attr_feature", "attr_provider", "attr_model")
_CUSTOMER = ("attr_environment", "attr_customer_org_id", "attr_customer_plan")
_PLAN = ("attr_environment", "attr_customer_plan", "plan_customer")
_WEEK, _DAY, _HOUR = Granularity.WEEK, Granularity.DAY, Granularity.HOUR

# The figures, smallest first within a grain (a report reads the smallest that has its columns):
# per day for the whole days of a range, per hour for the whole hours at its ends.
FIGURE_ROLLUPS: tuple[Rollup, ...] = (
    _figures("ai_daily", _DAY, _ENV_APP),
    _figures("ai_daily_feature", _DAY, ("attr_environment", "attr_feature")),
    _figures("ai_daily_model", _DAY, ("attr_environment", "attr_provider", "attr_model")),
    _figures("ai_daily_plan", _DAY, _PLAN),
    _figures("ai_daily_customer", _DAY, _CUSTOMER),
    _figures(
        "ai_daily_customer_dims",
        _DAY,
        ("attr_customer_org_id", *_ENV_APP, *_DIMS),
        customer_first=True,
    ),
    _figures("ai_hourly", _HOUR, _ENV_APP),
    _figures("ai_hourly_dims", _HOUR, (*_ENV_APP, *_DIMS)),
    _figures("ai_hourly_customer", _HOUR, _CUSTOMER),
)
# Latency histograms: reading one as rows costs about half of merging the same histogram from
# `quantilesExactWeighted` states (those of FIGURE_ROLLUPS, which remain the source where no
# histogram has a report's columns).
HISTOGRAM_ROLLUPS: tuple[Rollup, ...] = (
    _histogram("ai_latency_daily", _DAY, _ENV_APP),
    _histogram("ai_latency_daily_feature", _DAY, ("attr_environment", "attr_feature")),
    _histogram(
        "ai_latency_daily_model",
        _DAY,
        ("attr_environment", "attr_provider", "attr_model"),
    ),
    _histogram("ai_latency_daily_plan", _DAY, _PLAN),
    _histogram(
        "ai_latency_daily_customer",
        _DAY,
        ("attr_customer_org_id", "attr_environment", "attr_customer_plan"),
        customer_first=True,
    ),
    _histogram("ai_latency_hourly", _HOUR, _ENV_APP),
    # PLAN groups by customer for the customers without a plan property, so a day of its
    # histogram holds about as many rows per customer as their calls of that day have latency
    # buckets. So a range reads its whole weeks from these weekly rows rather than from the
    # daily ones, and the whole hours at its ends from the hourly rows rather than from the
    # raw rows: far fewer rows to merge. A weekly histogram per customer would not help a page
    # of customers: sorted by customer first, it reads their granules whatever the period.
    _histogram("ai_latency_weekly_plan", _WEEK, _PLAN),
    _histogram("ai_latency_hourly_plan", _HOUR, _PLAN),
)
AI_ROLLUPS = (*FIGURE_ROLLUPS, *HISTOGRAM_ROLLUPS)
