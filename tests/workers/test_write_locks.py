"""Several worker processes consuming one Redis queue store each event once (CONTRACT §2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy.engine import Engine

from app.errors import AnalyticsUnavailable
from app.store.interface import AnalyticsStore
from app.workers.dead_letters import DeadLetterStore
from app.workers.write_locks import RedisWriteLocks
from app.workers.writer import EventWriter
from tests.workers.rows import WORKSPACE, queued_row

OTHER_APP = "11111111-2222-4333-8444-555555555555"
OTHER_WORKSPACE = "22222222-3333-4444-8555-666666666666"


@pytest.fixture
def clients(redis_url: str) -> Iterator[list[redis.Redis]]:
    """One Redis connection per simulated worker process."""
    made = [redis.Redis.from_url(redis_url) for _ in range(2)]
    yield made
    for client in made:
        client.close()


def _writer(store: AnalyticsStore, engine: Engine, client: redis.Redis, **kw: float) -> EventWriter:
    locks = RedisWriteLocks(client, store.database, **kw)
    return EventWriter(store, DeadLetterStore(engine), locks)


def _counts(store: AnalyticsStore, table: str) -> dict[str, int]:
    rows = store.query(f"SELECT event_id, count() AS n FROM {table} GROUP BY event_id")
    return {row["event_id"]: row["n"] for row in rows}


def _in_thread(write: EventWriter, rows: list[dict]) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []
    thread = threading.Thread(target=lambda: outcome.append(write.write(rows)))
    thread.start()
    return thread, outcome


def test_two_workers_handed_the_same_events_at_once_store_each_once(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis]
) -> None:
    writers = [_writer(store, engine, client) for client in clients]
    rounds = 12
    start = threading.Barrier(2)

    def work(writer: EventWriter) -> None:
        for i in range(rounds):
            start.wait(timeout=30)
            writer.write([queued_row(f"retried-{i}"), queued_row(f"retried-{i}-b")])

    threads = [threading.Thread(target=work, args=(w,)) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    expected = {f"retried-{i}{s}": 1 for i in range(rounds) for s in ("", "-b")}
    assert _counts(store, "events") == expected
    assert _counts(store, "ai_usage_events") == expected


@pytest.mark.parametrize("app_id", [None, OTHER_APP], ids=["same app", "another app"])
def test_a_writer_waits_while_another_worker_writes_the_same_workspace(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis], app_id: str | None
) -> None:
    # Another app of the workspace too: an output is attributed to a call of any of its apps.
    row = queued_row("e1", **({"app_id": app_id} if app_id else {}))
    other_worker = RedisWriteLocks(clients[0], store.database)
    with other_worker.hold([WORKSPACE]):
        thread, outcome = _in_thread(_writer(store, engine, clients[1]), [row])
        thread.join(timeout=0.5)
        assert thread.is_alive()
        assert _counts(store, "events") == {}
    thread.join(timeout=30)
    assert len(outcome) == 1
    assert _counts(store, "events") == {"e1": 1}


def test_workers_writing_different_workspaces_do_not_wait_for_each_other(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis]
) -> None:
    other_worker = RedisWriteLocks(clients[0], store.database)
    with other_worker.hold([WORKSPACE]):
        row = queued_row("e1", workspace_id=OTHER_WORKSPACE)
        result = _writer(store, engine, clients[1]).write([row])
    assert result.inserted == 1


def test_a_lock_held_past_the_wait_leaves_the_batch_to_be_retried(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis]
) -> None:
    other_worker = RedisWriteLocks(clients[0], store.database)
    writer = _writer(store, engine, clients[1], wait_s=0.2)
    batch = [queued_row("e1", workspace_id=OTHER_WORKSPACE), queued_row("e2")]
    with other_worker.hold([WORKSPACE]), pytest.raises(AnalyticsUnavailable, match="write lock"):
        writer.write(batch)
    assert _counts(store, "events") == {}
    assert writer.write(batch).inserted == 2


def test_the_lock_of_a_worker_killed_while_writing_expires(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis]
) -> None:
    killed = RedisWriteLocks(clients[0], store.database, ttl_s=0.5)
    # Taken and never renewed nor released: the process died holding it.
    assert clients[0].lock(killed.key(WORKSPACE), timeout=killed.ttl_s).acquire()
    result = _writer(store, engine, clients[1], wait_s=10).write([queued_row("e1")])
    assert result.inserted == 1


def test_a_write_longer_than_the_lock_s_ttl_keeps_it(
    store: AnalyticsStore, engine: Engine, clients: list[redis.Redis]
) -> None:
    slow = RedisWriteLocks(clients[0], store.database, ttl_s=0.3)
    with slow.hold([WORKSPACE]):
        time.sleep(1.0)  # over three TTLs: renewed all along
        assert clients[1].exists(slow.key(WORKSPACE))
    assert not clients[1].exists(slow.key(WORKSPACE))


def test_without_redis_a_writer_leaves_its_batch_to_be_retried(
    store: AnalyticsStore, engine: Engine
) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    with pytest.raises(AnalyticsUnavailable, match="cannot take the write lock"):
        _writer(store, engine, unreachable).write([queued_row("e1")])
    assert _counts(store, "events") == {}
