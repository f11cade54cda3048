"""`ingestStatus` reads only the granules received within its window (migration 010)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import UUID

from app.events.stream import seen_events
from app.store.interface import AnalyticsStore

WORKSPACE = UUID("5f0c8a55-3d1e-4a7b-9c2f-0b1d2e3f4a5b")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

# 100,000 events over 100 days, one every 86.4 s, received when they happened: 13 granules.
_TRAFFIC = """
INSERT INTO events (workspace_id, app_id, event_id, event, timestamp, received_at, environment,
                    customer_org_id, user_hash, properties)
SELECT {workspace:UUID}, {workspace:UUID}, toString(number), 'page_view', t, t, 'production',
       'org', 'u', '{}'
FROM (SELECT number, {start:DateTime64(3, 'UTC')} + toIntervalMillisecond(number * 86400) AS t
      FROM numbers(100000))
"""


def test_the_received_window_skips_granules_received_outside_it(store: AnalyticsStore) -> None:
    store.command(_TRAFFIC, {"workspace": WORKSPACE, "start": NOW - timedelta(days=100)})
    store.command("OPTIMIZE TABLE events FINAL")
    window = {"workspace_id": WORKSPACE, "from": NOW - timedelta(hours=1), "to": NOW}
    plan = "\n".join(
        row["explain"]
        for row in store.query(
            "EXPLAIN indexes = 1 SELECT count() FROM events"
            " WHERE workspace_id = {workspace_id:UUID}"
            " AND received_at >= {from:DateTime64(3, 'UTC')}"
            " AND received_at < {to:DateTime64(3, 'UTC')}",
            window,
        )
    )
    read = re.search(r"Name: idx_received_at.*?Granules: (\d+)/(\d+)", plan, flags=re.S)
    assert read is not None, plan
    assert read.group(1) == "1", plan
    assert "Parts: 1 | Granules: 1\n" in plan  # of 13
    [seen] = seen_events(
        store, workspace_id=WORKSPACE, received_from=window["from"], received_to=window["to"]
    )
    # Events 99,959 to 99,999 fall in the last hour (the last one 86.4 s before NOW).
    assert seen.count == 41
