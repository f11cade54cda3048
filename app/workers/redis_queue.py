"""Redis mode: Dramatiq messages that each carry a group of rows.

One message per event would cap the pipeline far below what the machine can do (see
ENGINES.md), so the API groups the rows of concurrent requests into one message, and workers
gather several messages into one ClickHouse insert (`Batcher`). A message is acknowledged only
after its rows are in ClickHouse; a worker killed mid-batch leaves its messages unacknowledged
in Redis, and Dramatiq's maintenance hands them to a live worker once the dead one's heartbeat
times out. The writer's deduplication makes that redelivery store each event once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from app.errors import QueueUnavailable
from app.event_types import QueuedRow
from app.settings import Settings
from app.workers.batcher import Batcher
from app.workers.writer import EventWriter

log = logging.getLogger(__name__)

ACTOR_NAME = "write_events"
NAMESPACE = "saas_tracker"

# The batcher of this process's worker, if it runs one. Dramatiq actors are plain functions
# looked up by name, so the running consumer registers the object they hand rows to.
_current_batcher: Batcher | None = None
_batcher_lock = threading.Lock()


def _write_events(rows: list[QueuedRow]) -> None:
    batcher = _current_batcher
    if batcher is None:
        raise RuntimeError("no event writer runs in this process")
    batcher.submit(rows)


def _retry_always(retries: int, exception: BaseException) -> bool:
    # Rows are never dropped for a transient failure; poison rows are dead-lettered by the
    # writer, not by Dramatiq, so retrying a message is always safe.
    return True


def make_broker(settings: Settings) -> RedisBroker:
    assert settings.redis_url is not None
    client = redis.Redis.from_url(
        settings.redis_url.get_secret_value(),
        socket_timeout=5,
        socket_connect_timeout=3,
        health_check_interval=30,
    )
    return RedisBroker(
        client=client,
        namespace=NAMESPACE,
        heartbeat_timeout=settings.redis_heartbeat_timeout_ms,
        maintenance_chance=settings.redis_maintenance_chance,
        middleware=[
            AgeLimit(),
            TimeLimit(time_limit=15 * 60 * 1000),
            ShutdownNotifications(),
            Callbacks(),
            Pipelines(),
            Retries(min_backoff=500, max_backoff=60_000, retry_when=_retry_always),
        ],
    )


class RedisQueue:
    """The producer side: `put` returns once Redis holds the message."""

    def __init__(self, broker: RedisBroker, queue_name: str) -> None:
        self.broker = broker
        self.queue_name = queue_name
        self.actor: Any = dramatiq.actor(
            actor_name=ACTOR_NAME, queue_name=queue_name, broker=broker
        )(_write_events)

    def put(self, rows: list[QueuedRow]) -> None:
        try:
            self.actor.send(rows)
        except (redis.RedisError, OSError) as exc:
            raise QueueUnavailable(f"Redis cannot take events: {type(exc).__name__}") from exc

    def depth(self) -> float:
        try:
            return float(self.pending_messages())
        except redis.RedisError:
            return float("nan")

    def ping(self) -> None:
        self.broker.client.ping()

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every message, delayed retries included, is acknowledged (a worker
        acknowledges a message once its rows are written); False past `timeout`."""
        try:
            self.broker.join(self.queue_name, interval=20, timeout=int(timeout * 1000))
        except dramatiq.errors.QueueJoinTimeout:
            return False
        return True

    def pending_messages(self) -> int:
        return int(self.broker.client.llen(f"{NAMESPACE}:{self.queue_name}"))

    def close(self) -> None:
        self.broker.close()


# A flush gathers at most one message per worker thread (each blocks until its rows are
# written), and a message holds the rows of the requests that arrived during one queue write
# (often a handful under single-event load, more so with several ingest processes): with 8
# threads a flush held ~20 rows, and the writer's fixed cost per batch (4 statements) capped
# the pipeline near 200 events/s in the split setup. The threads only wait, so have many.
MIN_WORKER_THREADS = 64


class RedisConsumer:
    """Dramatiq worker threads in this process, feeding one shared batcher."""

    def __init__(self, queue: RedisQueue, writer: EventWriter, settings: Settings) -> None:
        self.queue = queue
        threads = max(settings.worker_threads, MIN_WORKER_THREADS)
        self.batcher = Batcher(
            writer.write,
            max_rows=settings.batch_max_rows,
            max_wait_s=settings.batch_max_wait_s,
            producers=threads,
        )
        self.worker = dramatiq.Worker(
            queue.broker,
            queues={queue.queue_name},
            worker_threads=threads,
            worker_timeout=100,
        )

    @property
    def alive(self) -> bool:
        return self.batcher.alive and all(t.is_alive() for t in self.worker.workers)

    def start(self) -> None:
        global _current_batcher
        with _batcher_lock:
            _current_batcher = self.batcher
        self.worker.start()

    def stop(self) -> None:
        global _current_batcher
        self.worker.stop(timeout=30_000)
        self.batcher.stop()
        with _batcher_lock:
            if _current_batcher is self.batcher:
                _current_batcher = None
