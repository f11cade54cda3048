"""The planner of the AI cost reports: which table serves each part of a report's range.

A report (app/ai_cost/reports.py) groups `ai_usage_events` by some columns (its dimension's
and its filters'), optionally per time bucket of a series. The same figures are kept, already
summed per period and key, in the rollup tables of app/store/rollups.py. The plan of a
report is decided in two steps, both plain functions of their arguments (no I/O):

1. Which rollups may serve it (`Catalog.figures_for`, `Catalog.histograms_for`, both
   `rollups_to_read`): those that hold every column the report reads; per grain (week, day,
   hour) the first of the catalog, i.e. the smallest — or, for a report about a few customers,
   one sorted by customer first, whose granules hold one customer each. A series may only read
   a grain that never straddles its buckets: an hourly series reads hourly rollups alone, a
   daily or monthly one no weekly rollup (a week may straddle a day's or a month's end).
   The latency percentiles alone read the latency histograms where one has the columns;
   every other figure reads the figure rollups.

2. Which part of the range each of them serves (`plan`, over `time_split.branches`): the whole
   weeks from the weekly rollup, the whole days left from the daily one, the whole hours left
   from the hourly one, and the partial hours at either end from the rows. Each source is one
   `Branch`: the table and its condition on its time key, the bounds bound as parameters
   (t0, t1, …). Every event of the range is read exactly once, so a report merged from the
   branches equals the report read from the rows alone (`ROWS_ONLY`, which the tests compare
   with).

Example: the figures by feature over [Sat 3 Oct 07:30, Mon 2 Nov 16:45) read
`ai_daily_feature` for the days from Sun 4 Oct to Mon 2 Nov, the hourly rollup of the feature
(`ai_hourly_dims`) for 08:00 to 24:00 on 3 Oct and 00:00 to 16:00 on 2 Nov, and the rows for
07:30 to 08:00 and 16:00 to 16:45 (tests/analytics/test_ai_cost_plan.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.ai_cost.rollups import FIGURE_ROLLUPS, HISTOGRAM_ROLLUPS, ROWS_TABLE
from app.store.rollups import Rollup
from app.store.time_split import Branch, Granularity, branches


def rollups_to_read(
    columns: Iterable[str],
    series: Granularity | None,
    catalog: Sequence[Rollup],
    *,
    few_customers: bool = False,
) -> list[Rollup]:
    """The rollups of `catalog` to read, coarsest grain first (per grain, the smallest that
    has every column and can bucket the series; with `few_customers`, one sorted by customer
    first if one fits: smaller ones hold every customer's rows in each granule); empty when
    the rows must be read."""
    fitting = [p for p in catalog if set(columns) <= p.columns]
    if few_customers:
        fitting.sort(key=lambda p: not p.customer_first)  # stable: smallest first otherwise
    if series is Granularity.HOUR:
        fitting = [p for p in fitting if p.grain is Granularity.HOUR]
    elif series not in (None, Granularity.WEEK):  # a week may straddle a day or month bucket
        fitting = [p for p in fitting if p.grain is not Granularity.WEEK]
    chosen = []
    for grain in (Granularity.WEEK, Granularity.DAY, Granularity.HOUR):
        chosen += [p for p in fitting if p.grain is grain][:1]
    return chosen


@dataclass(frozen=True)
class Catalog:
    """The rollup tables the reports may read: of the figures, and the latency histograms
    (app/store/rollups.py). `ROWS_ONLY` has none: every report reads the rows."""

    figures: tuple[Rollup, ...] = FIGURE_ROLLUPS
    histograms: tuple[Rollup, ...] = HISTOGRAM_ROLLUPS

    def figures_for(
        self, columns: Iterable[str], series: Granularity | None, *, few_customers: bool
    ) -> list[Rollup]:
        """The figure rollups that serve a report reading `columns` (see `rollups_to_read`)."""
        return rollups_to_read(columns, series, self.figures, few_customers=few_customers)

    def histograms_for(
        self, columns: Iterable[str], series: Granularity | None, *, few_customers: bool
    ) -> list[Rollup]:
        """The latency histograms that serve the latency of a report reading `columns`; empty
        when none has them all (the latency is then merged from the figure rollups' states)."""
        return rollups_to_read(columns, series, self.histograms, few_customers=few_customers)


ROLLUP_CATALOG = Catalog()
ROWS_ONLY = Catalog(figures=(), histograms=())


def plan(
    start: datetime, end: datetime, rollups: Sequence[Rollup], params: dict[str, Any]
) -> list[Branch]:
    """The sources of `[start, end)`: a branch per rollup of `rollups` (coarsest first, as
    `Catalog` returns them) that serves a whole period of its grain, and one for the rows
    left; the bounds bound into `params`. An empty range is one branch of the rows that reads
    nothing (see `time_split.branches`)."""
    return branches(ROWS_TABLE, start, end, rollups, params)
