"""The organizations list reads the rollup tables of `events` and stays exact.

Random traffic over four days is written through the workers' writer; each page is compared
with the same page read from the rows alone (no rollup table), and the plan ClickHouse picks
(EXPLAIN) must read the rollups for the whole days and hours of a range.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import pytest

from app.organizations.health import DEFAULT_MODEL
from app.organizations.queries import (
    OrderField,
    OrganizationRow,
    OrganizationScope,
    Page,
    list_organizations,
)
from app.organizations.rollups import ORGANIZATION_ROLLUPS
from app.store.interface import AnalyticsStore, Params
from app.store.rollups import Rollup
from tests.analytics.ai_traffic import DAY, WORKSPACE, random_traffic
from tests.analytics.test_ai_cost_preaggregation import Recording, write
from tests.conftest import database_copy

# Unaligned ends and midpoints (partial hours from the rows, whole hours around them from the
# hourly rollup), a whole-day range whose midpoint is midnight, and a range inside an hour.
RANGES = [
    (DAY - timedelta(hours=20, minutes=13), DAY + timedelta(days=2, hours=3, seconds=7)),
    (DAY - timedelta(days=1), DAY + timedelta(days=1)),
    (DAY + timedelta(hours=3, minutes=5), DAY + timedelta(hours=3, minutes=50)),
]


# Bulk traffic inserted straight into `events` (as a backfill would): the views sum it too.
_BULK = """
INSERT INTO events (workspace_id, app_id, event_id, event, timestamp, received_at, environment,
                    customer_org_id, user_hash, properties, estimated_cost_eur)
SELECT {workspace:UUID}, {workspace:UUID}, concat('bulk-', toString(number)),
       ['page_view', 'ai_call_completed', 'ai_output_accepted'][1 + number % 3],
       {start:DateTime64(3, 'UTC')} + toIntervalMillisecond(number * 863 % (4 * 86400000)),
       now64(3),
       if(number % 5 = 0, 'staging', 'production'), concat('bulk-org-', toString(number % 40)),
       toString(number % 97), if(number % 4 = 0, '{"customer_plan":"pro"}', '{}'),
       if(number % 3 = 1, toDecimal128(number % 1000, 12) / 1000, NULL)
FROM numbers(400000)
"""


@pytest.fixture(scope="module")
def written_store(clickhouse_template: AnalyticsStore) -> Iterator[AnalyticsStore]:
    """A database of this module's own holding the traffic, written once for its tests, which
    only read it (writing it takes seconds)."""
    with database_copy(clickhouse_template) as store:
        write(store, random_traffic(seed=11))
        store.command(_BULK, {"workspace": WORKSPACE, "start": DAY - timedelta(days=1)})
        yield store


def scope(start: datetime, end: datetime, environment: str | None = None) -> OrganizationScope:
    return OrganizationScope(
        workspace_id=WORKSPACE,
        start=start,
        end=end,
        retained_from=DAY - timedelta(days=30),
        environment=environment,
    )


def page_of(
    store: AnalyticsStore,
    s: OrganizationScope,
    order: OrderField,
    rollups: Sequence[Rollup] = ORGANIZATION_ROLLUPS,
) -> list[OrganizationRow]:
    return list_organizations(
        store, scope=s, model=DEFAULT_MODEL, page=Page(order=order), rollups=rollups
    )


@pytest.mark.parametrize("environment", [None, "staging"])
@pytest.mark.parametrize(("start", "end"), RANGES)
def test_the_page_equals_the_same_page_read_from_the_rows(
    written_store: AnalyticsStore,
    start: datetime,
    end: datetime,
    environment: str | None,
) -> None:
    s = scope(start, end, environment)
    for order in (OrderField.EVENT_COUNT, OrderField.HEALTH_SCORE, OrderField.FIRST_SEEN):
        served = page_of(written_store, s, order)
        assert served, "the traffic has organizations in every range"
        recording = Recording(written_store)
        from_rows = page_of(recording, s, order, rollups=())
        assert _tables_per_statement(written_store, recording) == [
            [_rows(written_store)],
            [_rows(written_store)],
        ]
        assert served == from_rows


def _rows(store: AnalyticsStore) -> str:
    return f"{store.database}.events"


def _tables_read(store: AnalyticsStore, sql: str, params: Params | None) -> list[str]:
    plan = "\n".join(row["explain"] for row in store.query(f"EXPLAIN {sql}", params))
    tables = re.findall(r"ReadFromMergeTree \(([^)]*)\)", plan)
    return [t for t in tables if not t.endswith("organization_plans")]


def _tables_per_statement(store: AnalyticsStore, recording: Recording) -> list[list[str]]:
    # The page and the first-seen lookup run side by side, in either order.
    return sorted(_tables_read(store, sql, params) for sql, params in recording.statements)


def test_whole_days_are_read_from_the_daily_rollup_only(
    written_store: AnalyticsStore,
) -> None:
    recording = Recording(written_store)
    page_of(recording, scope(DAY, DAY + timedelta(days=2)), OrderField.AI_COST)
    # The range, and the retention window before it (which holds the traffic's first day):
    # whole days both.
    daily = f"{written_store.database}.organizations_daily"
    assert _tables_per_statement(written_store, recording) == [[daily], [daily]]


def test_an_unaligned_range_reads_the_rows_only_for_its_partial_hours(
    written_store: AnalyticsStore,
) -> None:
    recording = Recording(written_store)
    start, end = RANGES[0]
    page_of(recording, scope(start, end), OrderField.AI_COST)
    each = [
        f"{written_store.database}.{name}"
        for name in ("organizations_daily", "organizations_hourly")
    ]
    each.append(_rows(written_store))
    assert _tables_per_statement(written_store, recording) == [each, each]
