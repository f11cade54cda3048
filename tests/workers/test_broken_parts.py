"""A part whose file a full disk cut short is rebuilt, and writing goes on with no row lost or
doubled (app/workers/broken_parts.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from sqlalchemy.engine import Engine

from app.errors import AnalyticsRejected
from app.store.interface import AnalyticsStore, open_store
from app.workers.broken_parts import (
    BrokenPart,
    finish_interrupted,
    heal,
    reconcile_broken_on_start,
)
from app.workers.dead_letters import DeadLetterStore
from app.workers.rollups import ROLLUPS
from app.workers.writer import EventWriter
from tests.conftest import CHDB_FOLDER
from tests.workers.rows import queued_row


@pytest.fixture
def own_store(own_clickhouse_database: str) -> Iterator[AnalyticsStore]:
    """A database of the test's own: parts are detached from its tables."""
    store = open_store(f"chdb://{CHDB_FOLDER}?database={own_clickhouse_database}")
    yield store
    store.close()


def _parts(store: AnalyticsStore, table: str) -> list[dict[str, str]]:
    rows = store.query(
        "SELECT name, path, partition_id FROM system.parts WHERE database = {db:String}"
        " AND table = {t:String} AND active",
        {"db": store.database, "t": table},
    )
    return [{key: str(value) for key, value in row.items()} for row in rows]


def _part(store: AnalyticsStore, table: str) -> dict[str, str]:
    [part] = _parts(store, table)
    return part


def _drop_caches(store: AnalyticsStore) -> None:
    """Forget the marks read so far, as a process started afterwards would."""
    for cache in ("MARK CACHE", "INDEX MARK CACHE", "QUERY CONDITION CACHE"):
        store.command(f"SYSTEM DROP {cache}")


def _cut_short_the_index_marks(store: AnalyticsStore) -> str:
    """Empty the bloom-filter index marks of the only `events` part, as a full disk did."""
    part = _part(store, "events")
    (marks,) = Path(part["path"]).glob("skp_idx_idx_event_id.*mrk*")
    marks.write_bytes(b"")
    _drop_caches(store)
    return part["name"]


def _rollups_count_each_row_once(store: AnalyticsStore) -> bool:
    rows = {
        table: int(store.query(f"SELECT count() AS n FROM {table}")[0]["n"])
        for table in ("events", "ai_usage_events")
    }
    for rollup in ROLLUPS:
        summed = store.query(f"SELECT sum(source_rows) AS n FROM {rollup.name}")[0]["n"]
        if int(summed) != rows[rollup.source]:
            return False
    return True


def test_a_batch_that_meets_a_broken_part_rebuilds_it_and_its_retry_stores_once(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    # Small indexes are packed in one file; this part's, as the broken one's, has files of its own.
    own_store.command("ALTER TABLE events MODIFY SETTING packed_skip_index_max_bytes = 0")
    writer = EventWriter(own_store, DeadLetterStore(engine))
    batch = [queued_row("e1"), queued_row("e2")]
    writer.write(batch)
    broken = _cut_short_the_index_marks(own_store)

    with pytest.raises(AnalyticsRejected) as refused:  # the de-duplication look-up reads it
        writer.write([*batch, queued_row("e3")])
    assert refused.value.details["clickhouse_code"] == 246  # CORRUPTED_DATA
    result = writer.write([*batch, queued_row("e3")])

    assert (result.inserted, result.duplicates, result.dead_lettered) == (1, 2, 0)
    stored = own_store.query("SELECT event_id FROM events ORDER BY event_id")
    assert stored == [{"event_id": "e1"}, {"event_id": "e2"}, {"event_id": "e3"}]
    assert _rollups_count_each_row_once(own_store)
    detached = own_store.query(
        "SELECT name FROM system.detached_parts WHERE database = {db:String} AND table = 'events'",
        {"db": own_store.database},
    )
    assert detached == [{"name": broken}]


def test_an_unreadable_part_of_a_failed_write_is_detached_and_the_retry_stores_its_batch_once(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(own_store, DeadLetterStore(engine))
    writer.write([queued_row("e1"), queued_row("e2")])
    written = _part(own_store, "events")["name"]
    # The write of e3 committed its `events` part with its marks cut short, then failed.
    retried = [queued_row("e3", timestamp="2026-11-03T09:00:00.000000Z")]
    writer.write(retried)
    [broken] = [p for p in _parts(own_store, "events") if p["name"] != written]
    (Path(broken["path"]) / "data.cmrk4").write_bytes(b"")
    _drop_caches(own_store)

    with pytest.raises(AnalyticsRejected):
        writer.write(retried)
    result = writer.write(retried)

    assert (result.inserted, result.duplicates, result.dead_lettered) == (1, 0, 0)
    stored = own_store.query("SELECT event_id FROM events ORDER BY event_id")
    assert stored == [{"event_id": "e1"}, {"event_id": "e2"}, {"event_id": "e3"}]
    derived = own_store.query("SELECT event_id FROM ai_usage_events ORDER BY event_id")
    assert derived == stored
    assert _rollups_count_each_row_once(own_store)


def test_a_rebuild_cut_short_after_detaching_is_completed_when_a_writer_starts(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    EventWriter(own_store, DeadLetterStore(engine)).write([queued_row("e1"), queued_row("e2")])
    found = _part(own_store, "events")
    part = BrokenPart("events", found["name"], found["partition_id"])
    # The steps of `heal` up to the crash: the copy made, the broken part detached.
    own_store.command(f"CREATE TABLE {part.scratch} AS events")
    own_store.command(f"INSERT INTO {part.scratch} SELECT * FROM events")
    own_store.command(f"ALTER TABLE events DETACH PART '{part.part}'")
    assert own_store.query("SELECT count() AS n FROM events") == [{"n": 0}]

    finish_interrupted(own_store)

    stored = own_store.query("SELECT event_id FROM events ORDER BY event_id")
    assert stored == [{"event_id": "e1"}, {"event_id": "e2"}]
    assert _rollups_count_each_row_once(own_store)
    tables = own_store.query(
        "SELECT name FROM system.tables WHERE database = {db:String} AND name = {n:String}",
        {"db": own_store.database, "n": part.scratch},
    )
    assert tables == []


def test_a_rebuild_cut_short_after_moving_the_copy_adds_nothing_more(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    EventWriter(own_store, DeadLetterStore(engine)).write([queued_row("e1"), queued_row("e2")])
    found = _part(own_store, "events")
    part = BrokenPart("events", found["name"], found["partition_id"])
    heal(own_store, part)
    own_store.command(f"CREATE TABLE {part.scratch} AS events")  # as if the DROP had not run

    finish_interrupted(own_store)

    assert own_store.query("SELECT count() AS n FROM events") == [{"n": 2}]
    assert _rollups_count_each_row_once(own_store)


def _set_aside_as_broken_on_start(store: AnalyticsStore, table: str, part: str) -> None:
    """What the engine does with a part it cannot read when it opens the table."""
    store.command(f"ALTER TABLE {table} DETACH PART '{part}'")
    [row] = store.query(
        "SELECT path FROM system.detached_parts WHERE database = {db:String}"
        " AND table = {t:String} AND name = {p:String}",
        {"db": store.database, "t": table, "p": part},
    )
    folder = Path(str(row["path"]))
    folder.rename(folder.with_name(f"broken-on-start_{part}"))


def test_a_rollup_part_the_engine_set_aside_on_start_is_rebuilt_from_its_source(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    EventWriter(own_store, DeadLetterStore(engine)).write([queued_row("e1"), queued_row("e2")])
    _set_aside_as_broken_on_start(own_store, "ai_hourly", _part(own_store, "ai_hourly")["name"])
    assert not _rollups_count_each_row_once(own_store)

    reconcile_broken_on_start(own_store)

    assert _rollups_count_each_row_once(own_store)
    detached = own_store.query(
        "SELECT name FROM system.detached_parts WHERE database = {db:String}",
        {"db": own_store.database},
    )
    assert detached == []


def test_an_events_part_the_engine_set_aside_on_start_leaves_every_figure_agreeing(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(own_store, DeadLetterStore(engine))
    writer.write([queued_row("e1"), queued_row("e2")])
    kept = _part(own_store, "events")["name"]
    writer.write([queued_row("e3", timestamp="2026-11-03T09:00:00.000000Z")])
    [lost] = [p["name"] for p in _parts(own_store, "events") if p["name"] != kept]
    _set_aside_as_broken_on_start(own_store, "events", lost)

    reconcile_broken_on_start(own_store)
    reconcile_broken_on_start(own_store)  # the next start finds it handled

    stored = own_store.query("SELECT event_id FROM events ORDER BY event_id")
    assert stored == [{"event_id": "e1"}, {"event_id": "e2"}]
    derived = own_store.query("SELECT event_id FROM ai_usage_events ORDER BY event_id")
    assert derived == stored
    assert _rollups_count_each_row_once(own_store)
    detached = own_store.query(
        "SELECT name FROM system.detached_parts WHERE database = {db:String}",
        {"db": own_store.database},
    )
    assert detached == [{"name": f"reconciled_broken-on-start_{lost}"}]


def _call(event_id: str, call_id: str, at: str) -> dict[str, object]:
    return queued_row(
        event_id,
        timestamp=at,
        properties=orjson.dumps(
            {
                "feature": "support",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "input_tokens": 1200,
                "output_tokens": 350,
                "ai_call_id": call_id,
            }
        ).decode(),
    )


def _accepted(event_id: str, call_id: str, at: str) -> dict[str, object]:
    return queued_row(
        event_id,
        event="ai_output_accepted",
        timestamp=at,
        customer_org_id="the-output-s-own",
        properties=orjson.dumps({"ai_call_id": call_id, "value_signal": "accepted"}).decode(),
        ai_cost_status="",
        ai_pricing_source="",
        ai_canonical_model_key="",
        estimated_cost_eur=None,
    )


def _attribution(store: AnalyticsStore) -> dict[str, tuple[int, str, str]]:
    """Per stored AI event: the sum of its rows' signs, and the call and customer its rows
    that count (sign summed per attribution) attribute it to."""
    rows = store.query(
        "SELECT event_id, call_event_id, attr_customer_org_id, sum(sign) AS n"
        " FROM ai_usage_events GROUP BY event_id, call_event_id, attr_customer_org_id"
        " HAVING n != 0 ORDER BY event_id"
    )
    return {
        str(row["event_id"]): (
            int(row["n"]),
            str(row["call_event_id"]),
            str(row["attr_customer_org_id"]),
        )
        for row in rows
    }


def _ai_usage_part_of(store: AnalyticsStore, event_id: str) -> str:
    [row] = store.query(
        "SELECT DISTINCT _part AS part FROM ai_usage_events WHERE event_id = {e:String}"
        " AND sign = 1 ORDER BY part LIMIT 1",
        {"e": event_id},
    )
    return str(row["part"])


def test_an_ai_usage_part_the_engine_set_aside_on_start_is_derived_again_from_the_events(
    own_store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(own_store, DeadLetterStore(engine))
    writer.write(
        [
            _call("call-1", "c1", "2026-11-02T10:00:00.000000Z"),
            _accepted("out-1", "c1", "2026-11-02T10:01:00.000000Z"),
        ]
    )
    writer.write([_accepted("out-2", "c1", "2026-11-02T10:02:00.000000Z")])
    lost = _ai_usage_part_of(own_store, "call-1")
    assert lost != _ai_usage_part_of(own_store, "out-2")
    _set_aside_as_broken_on_start(own_store, "ai_usage_events", lost)

    reconcile_broken_on_start(own_store)
    reconcile_broken_on_start(own_store)  # the next start finds it handled

    assert _attribution(own_store) == {
        "call-1": (1, "", "acme-corp"),
        "out-1": (1, "call-1", "acme-corp"),
        "out-2": (1, "call-1", "acme-corp"),
    }
    assert _rollups_count_each_row_once(own_store)
    detached = own_store.query(
        "SELECT name FROM system.detached_parts WHERE database = {db:String}",
        {"db": own_store.database},
    )
    assert detached == [{"name": f"reconciled_broken-on-start_{lost}"}]


@pytest.mark.parametrize("lost_batch", ["the output's own row", "the call and the correction"])
def test_an_output_corrected_by_its_late_call_counts_once_whichever_part_was_lost(
    own_store: AnalyticsStore, engine: Engine, lost_batch: str
) -> None:
    writer = EventWriter(own_store, DeadLetterStore(engine))
    writer.write([_accepted("out-1", "c1", "2026-11-02T10:01:00.000000Z")])
    first = _ai_usage_part_of(own_store, "out-1")
    # The call arrives later: the output gets a correction pair in the call's part.
    writer.write([_call("call-1", "c1", "2026-11-02T10:00:00.000000Z")])
    second = _ai_usage_part_of(own_store, "call-1")
    assert first != second
    lost = first if lost_batch == "the output's own row" else second
    _set_aside_as_broken_on_start(own_store, "ai_usage_events", lost)

    reconcile_broken_on_start(own_store)

    assert _attribution(own_store) == {
        "call-1": (1, "", "acme-corp"),
        "out-1": (1, "call-1", "acme-corp"),
    }
    assert _rollups_count_each_row_once(own_store)
