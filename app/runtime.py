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
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from sqlalchemy.engine import Engine

from app import cache_versions
from app.ai_cost.top_keys import LastTopKeys
from app.db import make_engine, session_scope
from app.errors import AnalyticsUnavailable
from app.event_types import QueuedRow
from app.graphql.parts import GraphQLParts
from app.ingest.app_cache import AppCache
from app.ingest.enqueuer import GroupCommitEnqueuer
from app.ingest.parts import IngestParts
from app.live import LiveEvents, open_live_events
from app.metrics import track_queue_depth, track_writing
from app.migrate import migrate_all
from app.pricing.cache import PricingCache
from app.settings import Settings
from app.store.interface import AnalyticsStore, open_store
from app.workers import broken_parts
from app.workers.dead_letters import DeadLetterStore
from app.workers.health import Backlog, HealthLimits, WriteHealth, free_bytes
from app.workers.local_consumer import LocalConsumer
from app.workers.local_queue import LocalQueue
from app.workers.retention import start_purger
from app.workers.write_locks import RedisWriteLocks
from app.workers.writer import EventWriter

log = logging.getLogger(__name__)


class DurableQueue(Protocol):
    def put(self, rows: list[QueuedRow]) -> None: ...
    def ping(self) -> None: ...
    def depth(self) -> float: ...
    def wait_empty(self, timeout: float) -> bool: ...
    def close(self) -> None: ...


class Consumer(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def alive(self) -> bool: ...


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
    # What the writer stored, for GraphQL subscriptions (app/live).
    live: LiveEvents
    consumer: Consumer | None = None
    write_health: WriteHealth = field(default_factory=WriteHealth)
    backlog: Backlog | None = None
    # The keys each AI cost report scope ranked on top last time (app/ai_cost/top_keys.py),
    # passed to the reports by the GraphQL resolvers.
    top_keys: LastTopKeys = field(default_factory=LastTopKeys)
    _stop: threading.Event = field(default_factory=threading.Event)
    _refresher: threading.Thread | None = None

    def start(self) -> None:
        track_queue_depth(self.queue.depth)
        if self.consumer is not None:
            track_writing(
                lambda: self.write_health.seconds_stalled(self.queue.depth()),
                lambda: float(min(free_bytes(folder) for folder in self._data_folders())),
            )
            self.consumer.start()
        self._refresher = threading.Thread(
            target=self._refresh_loop, name="cache-refresher", daemon=True
        )
        self._refresher.start()
        self.backlog = Backlog(self.queue.depth, self.settings.queue_max_depth)
        threading.Thread(
            target=self.backlog.run, args=(self._stop,), name="backlog", daemon=True
        ).start()
        if self.consumer is not None:
            # The writing process also removes raw data past each workspace's retention.
            start_purger(
                self.store, self.engine, stop=self._stop, cluster=self.settings.clickhouse_cluster
            )

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

    def drain(self, timeout: float = 30.0) -> None:
        """Return once every event acknowledged so far is written (for tests and for a shutdown
        that waits for the backlog); raise TimeoutError past `timeout`."""
        if not self.queue.wait_empty(timeout):
            raise TimeoutError(f"the ingest queue did not drain within {timeout:g} s")

    def readiness(self) -> dict[str, str]:
        """Each dependency: "ok" or why not (blocking: call off the event loop)."""
        checks: dict[str, str] = {}
        probes = {
            "database": lambda: self.engine.connect().close(),
            "clickhouse": self.store.ping,
            "queue": self.queue.ping,
        }
        if isinstance(self.store, NoAnalyticsStore):
            del probes["clickhouse"]
        consumer = self.consumer
        if consumer is not None:

            def workers_alive() -> None:
                if not consumer.alive:
                    raise RuntimeError("the ingest workers stopped")

            probes["workers"] = workers_alive
        for name, probe in probes.items():
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        if consumer is not None:
            limits = HealthLimits(
                failing_after_s=self.settings.write_failing_after_s,
                stalled_after_s=self.settings.queue_stalled_after_s,
                min_free_bytes=self.settings.data_min_free_mb * 2**20,
            )
            checks |= self.write_health.problems(
                limits, queue_depth=self.queue.depth(), folders=self._data_folders()
            )
        backlog = self.backlog
        if backlog is not None and backlog.full:  # what ingest refuses on, in every process
            checks["backlog"] = f"full: {backlog.depth:.0f} queued (limit {backlog.limit:.0f})"
        return checks

    def _data_folders(self) -> list[Path]:
        """Where this process writes to local disk: the data folder (SQLite, the local queue)
        and the embedded engine's folder."""
        folders = [self.settings.data_dir]
        if self.settings.clickhouse_is_embedded:
            folders.append(Path(urlparse(self.settings.resolved_clickhouse_url).path))
        return folders

    def stop(self) -> None:
        self._stop.set()
        if self.consumer is not None:
            self.consumer.stop()
        self.queue.close()
        self.live.close()
        self.store.close()
        self.engine.dispose()


class NoAnalyticsStore:
    """The store of an ingest-only process, which never opens ClickHouse: ingest needs only the
    relational database and Redis, so any number of such processes can run beside the one
    process that owns the embedded engine and consumes Redis."""

    database = ""

    def _refuse(self, *args: object, **kwargs: object) -> Any:
        raise AnalyticsUnavailable("this process serves ingest only (--ingest-only)")

    command = query = insert = _refuse

    def ping(self) -> None:
        pass

    def close(self) -> None:
        pass


def check_process_shape(
    settings: Settings, *, workers: bool, ingest_only: bool = False, beside_engine: bool = False
) -> None:
    """Refuse a shape that could not write what it accepts. `beside_engine`: the front of a
    split `serve`, whose own engine process consumes the local queue (app/front/)."""
    if ingest_only:
        if not settings.uses_redis and not beside_engine:
            raise EmbeddedEngineRefused(
                "--ingest-only needs Redis (SAAS_TRACKER_REDIS_URL): events are queued there "
                "for the process that runs the workers."
            )
        return
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


def open_queue(settings: Settings) -> DurableQueue:
    """The durable ingest queue: Redis (Dramatiq) if configured, else the local one on disk
    (which other processes on this machine, like the CLI, may fill too)."""
    if settings.uses_redis:
        from app.workers.redis_queue import RedisQueue, make_broker

        return RedisQueue(make_broker(settings), settings.queue_name)
    return LocalQueue(settings.local_queue_path)


def open_runtime(
    settings: Settings,
    *,
    workers: bool = True,
    ingest_only: bool = False,
    beside_engine: bool = False,
) -> Runtime:
    """Open databases, apply migrations (unless `settings.migrate_on_start` is off), load caches
    and build the queue (not started).

    An ingest-only process never opens ClickHouse and runs no workers. The front of a split
    `serve` (`beside_engine`) does not migrate either: its engine did before it started."""
    check_process_shape(
        settings, workers=workers, ingest_only=ingest_only, beside_engine=beside_engine
    )
    workers = workers and not ingest_only
    engine = make_engine(settings.resolved_database_url)
    store: AnalyticsStore = (
        NoAnalyticsStore()
        if ingest_only
        else open_store(settings.resolved_clickhouse_url, cluster=settings.clickhouse_cluster)
    )
    if settings.migrate_on_start and not beside_engine:
        migrate_all(
            settings.resolved_database_url,
            engine,
            None if ingest_only else store,
            settings.clickhouse_cluster,
        )
    if workers and settings.clickhouse_cluster is None:
        # Before any writer reads a table a crash or a full disk left half-done.
        broken_parts.finish_interrupted(store)
        broken_parts.reconcile_broken_on_start(store)
    pricing = PricingCache()
    with session_scope(engine) as session:
        pricing.load(session)
    apps = AppCache(engine, ttl_s=settings.app_cache_ttl_s)
    dead_letters = DeadLetterStore(engine)
    health = WriteHealth()
    live = open_live_events(settings)

    queue = open_queue(settings)
    consumer: Consumer | None = None
    if settings.uses_redis:
        from app.workers.redis_queue import RedisConsumer, RedisQueue

        assert isinstance(queue, RedisQueue)
        redis_queue = queue
        if workers:
            # Several worker processes may consume one queue: they take turns per workspace.
            locks = RedisWriteLocks(redis_queue.broker.client, store.database)
            writer = EventWriter(
                store,
                dead_letters,
                locks,
                cluster=settings.clickhouse_cluster,
                health=health,
                on_stored=live.publish,
            )
            consumer = RedisConsumer(redis_queue, writer, settings)
    elif workers:
        assert isinstance(queue, LocalQueue)
        consumer = LocalConsumer(
            queue,
            EventWriter(
                store,
                dead_letters,
                cluster=settings.clickhouse_cluster,
                health=health,
                on_stored=live.publish,
            ),
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
        live=live,
        consumer=consumer,
        write_health=health,
    )


def ingest_parts(runtime: Runtime) -> IngestParts:
    """The runtime as the ingest endpoint sees it (mypy checks that it provides every part)."""
    return runtime


def graphql_parts(runtime: Runtime) -> GraphQLParts:
    """The runtime as the GraphQL layer sees it (mypy checks that it provides every part)."""
    return runtime
