"""How the writes into ClickHouse are going: what `/readyz` and `/metrics` tell an operator.

A batch that cannot be written stays queued and is retried (app/workers/writer.py), so nothing
is lost while the engine's disk is full or its server is down; but the events are not visible
either, and the backlog grows. Readiness says so, for the load balancer and the operator:
writes failing for a while, a queue that holds events but has not been written from for a while,
a data disk nearly full. Past a configured depth, ingest refuses new events (`Backlog`).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.metrics import WRITE_FAILING, WRITE_FAILURES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthLimits:
    failing_after_s: float  # writes failing for this long: not ready
    stalled_after_s: float  # events queued and none written for this long: not ready
    min_free_bytes: int  # less free space on the data disk: not ready


class WriteHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self._last_error = ""
        self._last_write = clock()

    def succeeded(self) -> None:
        with self._lock:
            self._failing_since = None
            self._last_write = self._clock()
        WRITE_FAILING.set(0)

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = self._clock()
            # The error's class only: messages may quote what was being written.
            self._last_error = type(error).__name__
        WRITE_FAILURES.inc()
        WRITE_FAILING.set(1)

    def seconds_stalled(self, queue_depth: float) -> float:
        """How long events have waited with no batch written (0 when the queue is empty)."""
        if not queue_depth > 0:
            return 0.0
        with self._lock:
            return max(0.0, self._clock() - self._last_write)

    def problems(
        self, limits: HealthLimits, *, queue_depth: float, folders: Sequence[Path]
    ) -> dict[str, str]:
        """Each readiness check about writing: "ok" or what is wrong."""
        now = self._clock()
        with self._lock:
            failing_since, last_error = self._failing_since, self._last_error
        checks = {"writes": "ok", "backlog": "ok"}
        if failing_since is not None and now - failing_since >= limits.failing_after_s:
            checks["writes"] = f"failing for {now - failing_since:.0f} s: {last_error}"
        stalled = self.seconds_stalled(queue_depth)
        if stalled >= limits.stalled_after_s:
            checks["backlog"] = f"{queue_depth:.0f} queued, none written for {stalled:.0f} s"
        if folders:
            free = min(free_bytes(folder) for folder in folders)
            checks["disk"] = "ok" if free >= limits.min_free_bytes else f"{free // 2**20} MiB free"
        return checks


class Backlog:
    """Whether the ingest queue holds more than it may: read every `interval_s` by a thread of
    its own, so that the request path only reads a flag. Past `limit`, ingest answers 503 with
    `Retry-After` instead of growing a backlog the writer cannot catch up with."""

    def __init__(
        self, depth: Callable[[], float], limit: float, *, interval_s: float = 0.2
    ) -> None:
        self._depth = depth
        self.limit = limit
        self.interval_s = interval_s
        self.depth = 0.0
        self.full = False

    def refresh(self) -> None:
        depth = self._depth()
        if depth == depth:  # NaN: the queue cannot be read; its own errors say so
            self.depth = depth
            self.full = depth >= self.limit

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self.refresh()
            except Exception:
                log.exception("could not read the ingest queue's depth")


def free_bytes(folder: Path) -> int:
    """Free space of the disk holding `folder` (or its nearest existing parent)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return shutil.disk_usage(folder).free
