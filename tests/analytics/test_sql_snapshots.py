"""The SQL each report sends, written out under tests/analytics/sql/ so that a reviewer reads a
change to a report's statements in the diff, not by printing them.

Each report runs for real on the test's ClickHouse; the statements it sent (and their bound
parameters) are compared with its file. After an intended change, rewrite the files with
`SAAS_TRACKER_UPDATE_SQL_SNAPSHOTS=1 python -m pytest -n0 tests/analytics/test_sql_snapshots.py`
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from app.ai_cost import reports as ai_cost
from app.ai_cost.reports import AiScope, Breakdown
from app.organizations.health import DEFAULT_MODEL
from app.organizations.queries import OrganizationScope, Page, list_organizations
from app.store.interface import AnalyticsStore, Params, Row
from app.store.time_split import Granularity

SNAPSHOTS = Path(__file__).parent / "sql"
UPDATE = os.environ.get("SAAS_TRACKER_UPDATE_SQL_SNAPSHOTS") == "1"
# Its own workspace; the reports get no `top_keys` (app/runtime.py), so none reuses a ranking.
WORKSPACE = UUID("5a9e3c1d-7b2f-4e60-8d14-c0ffee5a1d01")
# A range with whole weeks and days inside and partial days at both ends: every kind of source
# the planner picks (weekly, daily and hourly rollups, raw rows) appears in the statements.
START = datetime(2026, 10, 3, 7, 30, tzinfo=UTC)
END = datetime(2026, 11, 2, 16, 45, tzinfo=UTC)
SCOPE = AiScope(workspace_id=WORKSPACE, start=START, end=END)


class RecordingStore:
    """The test's store, noting each statement it is sent (reports run them side by side, in
    threads: the order is made stable by sorting)."""

    def __init__(self, store: AnalyticsStore) -> None:
        self.store = store
        self.database = store.database
        self.sent: list[tuple[str, Params | None]] = []

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        self.sent.append((sql, params))
        return self.store.query(sql, params)


def _text(sent: list[tuple[str, Params | None]]) -> str:
    def one(sql: str, params: Params | None) -> str:
        lines = [line.rstrip() for line in sql.strip("\n").splitlines()]
        indent = min((len(ln) - len(ln.lstrip()) for ln in lines[1:] if ln.strip()), default=0)
        body = "\n".join([lines[0].strip(), *(ln[indent:] for ln in lines[1:] if ln.strip())])
        bound = json.dumps(params or {}, default=str, sort_keys=True)
        return f"-- parameters: {bound}\n{body};\n"

    return "\n".join(sorted(one(sql, params) for sql, params in sent))


REPORTS: dict[str, Callable[[Any], object]] = {
    "ai_cost_totals": lambda s: ai_cost.ai_cost_totals(s, SCOPE),
    **{
        f"ai_cost_breakdown_{by.name.lower()}": (
            lambda s, by=by: ai_cost.ai_cost_breakdown(s, SCOPE, by, limit=50)
        )
        for by in Breakdown
    },
    "ai_cost_series_day": lambda s: ai_cost.ai_cost_series(s, SCOPE, Granularity.DAY),
    "ai_cost_series_hour_by_feature": lambda s: ai_cost.ai_cost_series(
        s,
        AiScope(workspace_id=WORKSPACE, start=END.replace(hour=0), end=END),
        Granularity.HOUR,
        by=Breakdown.FEATURE,
        top=5,
    ),
    "ai_cost_series_week_by_customer": lambda s: ai_cost.ai_cost_series(
        s, SCOPE, Granularity.WEEK, by=Breakdown.CUSTOMER, top=5
    ),
    "organizations_page": lambda s: list_organizations(
        s,
        scope=OrganizationScope(
            workspace_id=WORKSPACE, start=START, end=END, retained_from=START.replace(month=1)
        ),
        model=DEFAULT_MODEL,
        page=Page(limit=25),
    ),
}


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_the_sql_of_the_report_is_the_one_written_in_its_file(
    store: AnalyticsStore, report: str
) -> None:
    recording = RecordingStore(store)
    REPORTS[report](recording)
    # The database's name differs between test processes.
    written = re.sub(rf"\b{re.escape(store.database)}\.", "", _text(recording.sent))
    path = SNAPSHOTS / f"{report}.sql"
    if UPDATE:
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(written)
    assert path.read_text() == written, f"the SQL of {report} changed: review, then update"
