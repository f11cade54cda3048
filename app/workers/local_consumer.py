"""The in-process consumer of the embedded queue (serve without Redis)."""

from __future__ import annotations

import logging
import threading
import time

from app.errors import AnalyticsUnavailable
from app.workers.backoff import backoff_delay
from app.workers.local_queue import LocalQueue
from app.workers.writer import EventWriter

log = logging.getLogger(__name__)


class LocalConsumer:
    """Moves queued groups into ClickHouse, at most one insert per `max_wait_s` unless a full
    batch of `max_rows` is waiting (few, large inserts: ClickHouse pays per insert)."""

    def __init__(
        self, queue: LocalQueue, writer: EventWriter, *, max_rows: int, max_wait_s: float
    ) -> None:
        self.queue = queue
        self.writer = writer
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-consumer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.queue.notify.set()
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        last_flush = 0.0
        attempt = 0
        while not self._stop.is_set():
            # Nothing may end this loop but stop(): a dead consumer would leave accepted
            # events waiting on disk while the API keeps answering 202.
            try:
                self.queue.notify.wait(self.max_wait_s)
                self.queue.notify.clear()
                wait = last_flush + self.max_wait_s - time.monotonic()
                if wait > 0 and self.queue.pending_rows() < self.max_rows:
                    self._stop.wait(wait)
                drained = self.drain_once()
                attempt = 0
            except AnalyticsUnavailable as exc:
                attempt += 1
                delay = backoff_delay(attempt)
                log.warning("ClickHouse unavailable, retrying in %.1fs: %s", delay, exc.message)
                self._stop.wait(delay)
                continue
            except Exception:
                attempt += 1
                log.exception("unexpected error while writing a batch; it stays queued")
                self._stop.wait(backoff_delay(attempt))
                continue
            last_flush = time.monotonic()
            if drained >= self.max_rows:
                self.queue.notify.set()  # more may be waiting: go again at once

    def drain_once(self) -> int:
        """Write one batch and acknowledge it; returns how many rows it held."""
        ids, rows = self.queue.take(self.max_rows)
        if not ids:
            return 0
        self.writer.write(rows)
        self.queue.ack(ids)
        return len(rows)
