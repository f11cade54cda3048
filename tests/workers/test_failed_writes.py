"""A write that fails part-way is completed exactly once by its retry, in the rollups too.

ClickHouse does not commit an insert's part together with the parts of the views it feeds:
when one view refuses (here a view made to throw, as a full disk or memory refuses), others
may have committed theirs, and the source's part may or may not be there.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from app.errors import AnalyticsRejected, AnalyticsUnavailable
from app.store.interface import AnalyticsStore
from app.workers.dead_letters import DeadLetterStore
from app.workers.rollups import ROLLUPS
from app.workers.writer import EventWriter
from tests.workers.rows import queued_row


def _summed(store: AnalyticsStore) -> dict[str, int]:
    """What each rollup counts of its source's rows."""
    return {
        rollup.name: int(store.query(f"SELECT sum(source_rows) AS n FROM {rollup.name}")[0]["n"])
        for rollup in ROLLUPS
    }


def _refusing(store: AnalyticsStore, source: str) -> None:
    """A view on `source` that refuses every insert, beside the rollups' views."""
    store.command("CREATE TABLE refused (n UInt8) ENGINE = Memory")
    store.command(
        f"CREATE MATERIALIZED VIEW refusing TO refused AS SELECT throwIf(1) AS n FROM {source}"
    )


@pytest.mark.parametrize("source", ["events", "ai_usage_events"])
def test_a_batch_whose_write_failed_at_a_view_is_counted_once_by_every_rollup_after_its_retry(
    store: AnalyticsStore, engine: Engine, source: str
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    batch = [queued_row("e1"), queued_row("e2"), queued_row("e3")]
    _refusing(store, source)
    with pytest.raises((AnalyticsRejected, AnalyticsUnavailable)):  # kept queued, retried
        writer.write(batch)
    store.command("DROP TABLE refusing")

    writer.write(batch)

    assert store.query("SELECT count() AS n FROM events") == [{"n": 3}]
    assert store.query("SELECT count() AS n FROM ai_usage_events") == [{"n": 3}]
    assert _summed(store) == {rollup.name: 3 for rollup in ROLLUPS}


def test_a_delete_left_failing_by_an_earlier_attempt_cannot_remove_rows_after_the_retry(
    store: AnalyticsStore, engine: Engine
) -> None:
    """The rebuild of a retried batch deletes a rollup's day before writing it again; if that
    DELETE fails (a full disk), the engine keeps its mutation and retries it in the
    background, where it would remove the day's rows once it can."""
    writer = EventWriter(store, DeadLetterStore(engine))
    batch = [queued_row("e1"), queued_row("e2"), queued_row("e3")]
    writer.write(batch)
    # A mutation failing now and able to succeed later (in an hour), as one cut off by the disk.
    store.command(
        "ALTER TABLE ai_hourly DELETE WHERE throwIf(toUnixTimestamp(now()) < {until:UInt32}) = 0"
        " SETTINGS mutations_sync = 0",
        {"until": int(time.time()) + 3600},
    )

    writer.write(batch)  # the retry: every row is stored already, the rollups are checked

    pending = store.query(
        "SELECT count() AS n FROM system.mutations WHERE database = {db:String} AND NOT is_done",
        {"db": store.database},
    )
    assert pending == [{"n": 0}]
    assert _summed(store) == {rollup.name: 3 for rollup in ROLLUPS}
