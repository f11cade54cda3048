"""Gathers the rows of concurrently processed queue messages into few, large inserts.

Each Dramatiq actor thread hands its message's rows to the batcher and blocks until they are
in ClickHouse: the message is acknowledged only when `submit` returns, so a crash loses nothing.
A flush happens when `max_rows` are waiting, when the oldest has waited `max_wait_s`, or at once
when every actor thread is waiting (nothing more can arrive).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from app.event_types import QueuedRow

WriteFn = Callable[[Sequence[QueuedRow]], object]


class Batcher:
    def __init__(self, write: WriteFn, *, max_rows: int, max_wait_s: float, producers: int) -> None:
        self._write = write
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self.producers = producers
        self._lock = threading.Condition()
        self._pending: list[tuple[Sequence[QueuedRow], Future[None]]] = []
        self._pending_rows = 0
        self._oldest = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def submit(self, rows: Sequence[QueuedRow]) -> None:
        """Block until `rows` are written; re-raises the write's error (the caller retries)."""
        future: Future[None] = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the batcher is stopped")
            if not self._pending:
                self._oldest = time.monotonic()
            self._pending.append((rows, future))
            self._pending_rows += len(rows)
            self._lock.notify()
        future.result()

    def _ready(self) -> bool:
        return bool(self._pending) and (
            self._pending_rows >= self.max_rows
            or len(self._pending) >= self.producers
            or time.monotonic() - self._oldest >= self.max_wait_s
        )

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._stopped and not self._ready():
                    timeout = (
                        self._oldest + self.max_wait_s - time.monotonic() if self._pending else None
                    )
                    self._lock.wait(timeout)
                if self._stopped and not self._pending:
                    return
                batch, self._pending, self._pending_rows = self._pending, [], 0
            rows = [row for rows, _ in batch for row in rows]
            try:
                self._write(rows)
            except BaseException as exc:
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self._lock.notify()
        self._thread.join(30)
