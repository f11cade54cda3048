"""Locks that let one writer at a time store a given workspace's events, across processes.

The writer stores each (app, event_id) once by looking up which keys are already in ClickHouse
and inserting the others, then attributes output events to their call and reconciles outputs
stored before it, matching calls by `ai_call_id` across the workspace's apps
(app/workers/writer.py, app/ai_cost/attribution.py). Each step assumes that no other
writer is between its look-up and its insert for the same workspace. Within a process one
batcher thread writes, one batch after the other; but two worker processes consuming one Redis
queue could each be handed the same event (a client that retried a request whose answer it
lost), or a call and an output naming it, and both act on what they looked up. So in Redis
mode each batch is written holding one Redis lock per workspace it holds events of, taken in
sorted order (two batches never wait for each other in a circle); the writes of different
workspaces still run in parallel.

A lock expires `ttl_s` after it was last renewed: while a batch is written, a thread of its
worker renews its locks every third of that, so a worker killed while holding them holds up
the others (and its own restart) for `ttl_s` at most, however long writes take. A worker that
cannot get a lock within `wait_s`, or cannot reach Redis, raises `AnalyticsUnavailable`: its
messages stay queued and are retried.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Protocol

import redis
from redis.exceptions import LockError, LockNotOwnedError
from redis.lock import Lock

from app.errors import AnalyticsUnavailable
from app.metrics import WRITE_LOCK_WAITS

log = logging.getLogger(__name__)

LOCK_TTL_S = 10.0
LOCK_WAIT_S = 60.0


class WriteLocks(Protocol):
    def hold(self, workspaces: Iterable[str]) -> AbstractContextManager[None]:
        """Hold the locks of `workspaces` for the duration of the block."""
        ...


class RedisWriteLocks:
    """One Redis lock per (ClickHouse database, workspace), shared by every worker process."""

    def __init__(
        self,
        client: redis.Redis,
        database: str,
        *,
        ttl_s: float = LOCK_TTL_S,
        wait_s: float = LOCK_WAIT_S,
    ) -> None:
        self.client = client
        self.prefix = f"saas-tracker:write-lock:{database}:"
        self.ttl_s = ttl_s
        self.wait_s = wait_s

    def key(self, workspace: str) -> str:
        return self.prefix + workspace

    @contextmanager
    def hold(self, workspaces: Iterable[str]) -> Iterator[None]:
        """Hold the locks of `workspaces` for the duration of the block."""
        locks: list[Lock] = []
        done = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(locks, done), name="write-lock-renewer", daemon=True
        )
        with ExitStack() as held:
            for workspace in sorted(set(workspaces)):
                locks.append(held.enter_context(self._one(workspace)))
            renewer.start()
            try:
                yield
            finally:
                done.set()
                renewer.join()

    def _renew(self, locks: list[Lock], done: threading.Event) -> None:
        while not done.wait(self.ttl_s / 3):
            for lock in locks:
                try:
                    lock.reacquire()
                except (LockError, redis.RedisError) as exc:
                    # Released in the meantime, or Redis is gone: the release reports it.
                    log.warning("could not renew a write lock: %s", exc)

    @contextmanager
    def _one(self, workspace: str) -> Iterator[Lock]:
        # thread_local=False: the renewer thread renews the locks the batcher thread took.
        lock = self.client.lock(
            self.key(workspace),
            timeout=self.ttl_s,
            blocking_timeout=self.wait_s,
            thread_local=False,
        )
        try:
            with WRITE_LOCK_WAITS.track_inprogress():
                acquired = lock.acquire()
        except redis.RedisError as exc:
            raise AnalyticsUnavailable(
                f"cannot take the write lock of workspace {workspace}: {exc}"
            ) from exc
        if not acquired:
            raise AnalyticsUnavailable(
                f"another worker has held the write lock of workspace {workspace} for over "
                f"{self.wait_s:g} s"
            )
        try:
            yield lock
        finally:
            try:
                lock.release()
            except LockNotOwnedError:
                # The lock expired (its renewals failed): the write is done, but another worker
                # may have written the same workspace's events meanwhile. Nothing to undo.
                log.warning("a write outlived its lock", extra={"workspace_id": workspace})
            except (LockError, redis.RedisError) as exc:
                # The rows are written: the lock expires on its own.
                log.warning(
                    "could not release a write lock: %s", exc, extra={"workspace_id": workspace}
                )
