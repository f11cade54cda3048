from __future__ import annotations

from decimal import Decimal

from sqlalchemy.engine import Engine

from app.event_types import EVENT_COLUMNS
from app.store.events_table import to_insert_row
from app.store.interface import AnalyticsStore
from app.workers.dead_letters import DeadLetterStore
from app.workers.writer import EventWriter
from tests.workers.rows import queued_row


def _events(store: AnalyticsStore) -> list[dict]:
    return store.query("SELECT event_id, estimated_cost_eur FROM events ORDER BY event_id")


def test_a_batch_lands_in_events_and_ai_usage_events_in_one_insert(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    result = writer.write([queued_row("e1"), queued_row("e2")])
    assert (result.inserted, result.duplicates, result.dead_lettered) == (2, 0, 0)
    assert _events(store) == [
        {"event_id": "e1", "estimated_cost_eur": Decimal("0.000123456789")},
        {"event_id": "e2", "estimated_cost_eur": Decimal("0.000123456789")},
    ]
    usage = store.query("SELECT count() AS n, sum(input_tokens) AS t FROM ai_usage_events")
    assert usage == [{"n": 2, "t": 2400}]


def test_a_retried_batch_is_stored_once(store: AnalyticsStore, engine: Engine) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    batch = [queued_row("e1"), queued_row("e2")]
    writer.write(batch)
    result = writer.write([*batch, queued_row("e3")])
    assert (result.inserted, result.duplicates) == (1, 2)
    assert [r["event_id"] for r in _events(store)] == ["e1", "e2", "e3"]


def test_a_repeated_event_id_within_one_batch_is_stored_once(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    result = writer.write([queued_row("same"), queued_row("same", user_hash="u2")])
    assert (result.inserted, result.duplicates) == (1, 1)
    assert store.query("SELECT user_hash FROM events") == [{"user_hash": "u1"}]


def test_the_same_event_id_in_two_apps_is_two_events(store: AnalyticsStore, engine: Engine) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    other_app = "11111111-2222-4333-8444-555555555555"
    writer.write([queued_row("e1"), queued_row("e1", app_id=other_app)])
    assert store.query("SELECT count() AS n FROM events") == [{"n": 2}]


def test_a_poison_row_is_dead_lettered_and_the_others_are_stored(
    store: AnalyticsStore, engine: Engine
) -> None:
    dead_letters = DeadLetterStore(engine)
    writer = EventWriter(store, dead_letters)
    poison = queued_row("bad", estimated_cost_eur="not-a-number")
    result = writer.write([queued_row("e1"), poison, queued_row("e2"), queued_row("e3")])
    assert (result.inserted, result.dead_lettered) == (3, 1)
    assert [r["event_id"] for r in _events(store)] == ["e1", "e2", "e3"]
    parked = dead_letters.list()
    assert [(d.event_id, d.row["estimated_cost_eur"]) for d in parked] == [("bad", "not-a-number")]


def test_a_row_clickhouse_itself_refuses_is_dead_lettered(
    store: AnalyticsStore, engine: Engine
) -> None:
    dead_letters = DeadLetterStore(engine)
    writer = EventWriter(store, dead_letters)
    too_big = "1" + "0" * 30  # beyond Decimal(38, 12)
    result = writer.write([queued_row("e1"), queued_row("huge", estimated_cost_eur=too_big)])
    assert (result.inserted, result.dead_lettered) == (1, 1)
    assert [r["event_id"] for r in _events(store)] == ["e1"]
    assert [d.event_id for d in dead_letters.list()] == ["huge"]


def test_a_crash_between_the_two_inserts_is_repaired_by_the_retry(
    store: AnalyticsStore, engine: Engine
) -> None:
    batch = [queued_row("e1"), queued_row("e2")]
    # The first attempt stored the events, then died before deriving ai_usage_events.
    store.insert("events", EVENT_COLUMNS, [to_insert_row(r) for r in batch])
    writer = EventWriter(store, DeadLetterStore(engine))
    result = writer.write(batch)
    writer.write(batch)
    assert (result.inserted, result.duplicates) == (0, 2)
    assert store.query("SELECT event_id FROM ai_usage_events ORDER BY event_id") == [
        {"event_id": "e1"},
        {"event_id": "e2"},
    ]
    assert store.query("SELECT count() AS n FROM events") == [{"n": 2}]


def test_a_repeated_event_id_with_another_timestamp_is_stored_once(
    store: AnalyticsStore, engine: Engine
) -> None:
    writer = EventWriter(store, DeadLetterStore(engine))
    writer.write([queued_row("e1")])
    result = writer.write([queued_row("e1", timestamp="2026-11-20T08:00:00.000000Z")])
    assert (result.inserted, result.duplicates) == (0, 1)
    assert store.query("SELECT count() AS n FROM ai_usage_events") == [{"n": 1}]


def test_on_stored_hears_of_the_rows_a_write_inserted_only(
    store: AnalyticsStore, engine: Engine
) -> None:
    # What live subscribers are fed (app/live): stored rows, never a duplicate, never a
    # dead-lettered row, and a failing listener never fails the write.
    announced: list[list[str]] = []
    writer = EventWriter(
        store,
        DeadLetterStore(engine),
        on_stored=lambda rows: announced.append([row["event_id"] for row in rows]),
    )
    writer.write([queued_row("e1"), queued_row("e2")])
    poison = queued_row("bad", estimated_cost_eur="not-a-number")
    writer.write([queued_row("e1"), poison, queued_row("e3")])
    writer.write([queued_row("e2")])
    assert announced == [["e1", "e2"], ["e3"]]

    def broken(rows: object) -> None:
        raise RuntimeError("a listener that fails")

    result = EventWriter(store, DeadLetterStore(engine), on_stored=broken).write([queued_row("e4")])
    assert result.inserted == 1
    assert [r["event_id"] for r in _events(store)] == ["e1", "e2", "e3", "e4"]
