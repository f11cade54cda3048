"""Everything a process holds for its lifetime, opened and closed in one place.

One process of `serve` is one of three shapes:
- embedded (no Redis): the SQLite queue on local disk, consumed by a thread of this process;
- Redis, with workers: Dramatiq worker threads of this process consume the Redis queue;
- Redis, `--no-workers`: ingest only; `saas-tracker worker` processes write to ClickHouse.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.engine import Engine

from app import cache_versions
from app.analytics.events_table import QueuedRow
from app.analytics.store import AnalyticsStore, open_store
from app.db import make_engine, session_scope
from app.ingest.app_cache import AppCache
from app.ingest.enqueuer import GroupCommitEnqueuer
from app.metrics import track_queue_depth
from app.migrate import migrate_all
from app.pricing.cache import PricingCache
from app.settings import Settings
from app.workers.dead_letters import DeadLetterStore
from app.workers.local_consumer import LocalConsumer
from app.workers.local_queue import LocalQueue
from app.workers.writer import EventWriter

log = logging.getLogger(__name__)


class DurableQueue(Protocol):
    def put(self, rows: list[QueuedRow]) -> None: ...
    def ping(self) -> None: ...
    def depth(self) -> float: ...
    def close(self) -> None: ...


class Consumer(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


class EmbeddedEngineRefused(RuntimeError):
    """A second process cannot use the embedded engine's folder."""


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    store: AnalyticsStore
    pricing: PricingCache
    apps: AppCache
    queue: DurableQueue
    enqueuer: GroupCommitEnqueuer
    dead_letters: DeadLetterStore
    consumer: Consumer | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _refresher: threading.Thread | None = None

    def start(self) -> None:
        track_queue_depth(self.queue.depth)
        if self.consumer is not None:
            self.consumer.start()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="cache-refresher", daemon=True
        )
        self._refresher.start()

    def _refresh_loop(self) -> None:
        seen: dict[str, int] = {}
        while not self._stop.wait(self.settings.pricing_refresh_s):
            try:
                with session_scope(self.engine) as session:
                    versions = cache_versions.read_all(session)
                    if versions.get(cache_versions.PRICING) != seen.get(cache_versions.PRICING):
                        self.pricing.load(session)
                if versions.get(cache_versions.APPS) != seen.get(cache_versions.APPS):
                    self.apps.invalidate()
                seen = versions
            except Exception:
                log.exception("could not refresh the in-memory catalog and app caches")

    def readiness(self) -> dict[str, str]:
        """Each dependency: "ok" or why not (blocking: call off the event loop)."""
        checks: dict[str, str] = {}
        probes = {
            "database": lambda: self.engine.connect().close(),
            "clickhouse": self.store.ping,
            "queue": self.queue.ping,
        }
        for name, probe in probes.items():
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        return checks

    def stop(self) -> None:
        self._stop.set()
        if self.consumer is not None:
            self.consumer.stop()
        self.queue.close()
        self.store.close()
        self.engine.dispose()


def check_process_shape(settings: Settings, *, workers: bool) -> None:
    if not workers and not settings.uses_redis:
        raise EmbeddedEngineRefused(
            "--no-workers needs Redis (SAAS_TRACKER_REDIS_URL): without it, events wait in this "
            "process's local queue and only this process can write them."
        )
    if settings.clickhouse_is_embedded and not workers:
        raise EmbeddedEngineRefused(
            "--no-workers needs a ClickHouse server (SAAS_TRACKER_CLICKHOUSE_URL=clickhouse://…): "
            "the embedded engine (chdb://) belongs to the one process that opens its folder, "
            "so that process must run the workers."
        )


def open_runtime(settings: Settings, *, workers: bool = True, migrate: bool = True) -> Runtime:
    """Open databases, apply migrations, load caches and build the queue (not started)."""
    check_process_shape(settings, workers=workers)
    engine = make_engine(settings.resolved_database_url)
    store = open_store(settings.resolved_clickhouse_url)
    if migrate:
        migrate_all(settings.resolved_database_url, engine, store)
    pricing = PricingCache()
    with session_scope(engine) as session:
        pricing.load(session)
    apps = AppCache(engine, ttl_s=settings.app_cache_ttl_s)
    dead_letters = DeadLetterStore(engine)
    writer = EventWriter(store, dead_letters)

    queue: DurableQueue
    consumer: Consumer | None = None
    if settings.uses_redis:
        from app.workers.redis_queue import RedisConsumer, RedisQueue, make_broker

        redis_queue = RedisQueue(make_broker(settings), settings.queue_name)
        queue = redis_queue
        if workers:
            consumer = RedisConsumer(redis_queue, writer, settings)
    else:
        local_queue = LocalQueue(settings.local_queue_path)
        queue = local_queue
        consumer = LocalConsumer(
            local_queue,
            writer,
            max_rows=settings.batch_max_rows,
            max_wait_s=settings.batch_max_wait_s,
        )
    return Runtime(
        settings=settings,
        engine=engine,
        store=store,
        pricing=pricing,
        apps=apps,
        queue=queue,
        enqueuer=GroupCommitEnqueuer(queue.put),
        dead_letters=dead_letters,
        consumer=consumer,
    )
