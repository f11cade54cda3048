"""The in-process fan-out of stored events to live subscribers (GraphQL subscriptions).

Rows arrive from the writer's thread (embedded mode) or from the Redis listener's (Redis mode,
`app.live.redis`), and each subscriber reads them on its own event loop. Delivering never
blocks the thread that delivers: a subscriber has a bounded queue, and one that lets it fill
up (its client reads slower than events are stored) is marked overflowed and receives nothing
more — its reader raises `SubscriberTooSlow`, and the GraphQL layer closes its connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from app.event_types import QueuedRow


class SubscriberTooSlow(Exception):
    """A subscriber's queue overflowed: events were stored faster than it read them."""

    def __init__(self, max_queued: int) -> None:
        super().__init__(f"more than {max_queued} events waited unsent")
        self.max_queued = max_queued


@dataclass(frozen=True)
class EventMatch:
    """Which stored events of its workspace a subscriber wants; None matches everything."""

    app_id: UUID | None = None
    environment: str | None = None
    event: str | None = None
    customer_org_id: str | None = None

    def __call__(self, row: QueuedRow) -> bool:
        # Queued rows hold plain JSON: ids as strings.
        return (
            (self.app_id is None or row["app_id"] == str(self.app_id))
            and (self.environment is None or row["environment"] == self.environment)
            and (self.event is None or row["event"] == self.event)
            and (self.customer_org_id is None or row["customer_org_id"] == self.customer_org_id)
        )


class LiveSubscription:
    """One subscriber: a bounded queue of the stored rows it matches, filled from any thread,
    read on the event loop that created it. Use it as a context manager (or `close` it)."""

    def __init__(self, hub: LiveHub, workspace_id: str, match: EventMatch, max_queued: int):
        self.workspace_id = workspace_id
        self.match = match
        self.max_queued = max_queued
        self._hub = hub
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._lock = threading.Lock()
        self._rows: deque[QueuedRow] = deque()
        self._signalled = False
        self._overflowed = False
        self._closed = False

    def offer(self, rows: Sequence[QueuedRow]) -> None:
        """Queue the rows it matches (any thread; never blocks but for a list append)."""
        matching = [row for row in rows if self.match(row)]
        if not matching:
            return
        with self._lock:
            if self._closed or self._overflowed:
                return
            if len(self._rows) + len(matching) > self.max_queued:
                self._overflowed = True
                self._rows.clear()
            else:
                self._rows.extend(matching)
            if self._signalled:
                return
            self._signalled = True
        try:
            self._loop.call_soon_threadsafe(self._wakeup.set)
        except RuntimeError:  # its loop is closed: nobody reads any more
            self.close()

    async def next_rows(self) -> list[QueuedRow]:
        """The rows queued since the last call, oldest first, once there is at least one;
        `SubscriberTooSlow` once the queue overflowed."""
        while True:
            with self._lock:
                if self._overflowed:
                    raise SubscriberTooSlow(self.max_queued)
                if self._rows:
                    rows = list(self._rows)
                    self._rows.clear()
                    return rows
                self._signalled = False
                self._wakeup.clear()
            await self._wakeup.wait()

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._rows.clear()
        self._hub.remove(self)

    def __enter__(self) -> LiveSubscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LiveHub:
    """The subscribers of this process, by workspace."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, set[LiveSubscription]] = {}

    def add(self, workspace_id: UUID, match: EventMatch, *, max_queued: int) -> LiveSubscription:
        """A new subscriber (call it on the event loop it reads on)."""
        subscription = LiveSubscription(self, str(workspace_id), match, max_queued)
        with self._lock:
            self._subscribers.setdefault(subscription.workspace_id, set()).add(subscription)
        return subscription

    def remove(self, subscription: LiveSubscription) -> None:
        with self._lock:
            found = self._subscribers.get(subscription.workspace_id)
            if found is None:
                return
            found.discard(subscription)
            if not found:
                del self._subscribers[subscription.workspace_id]

    def deliver(self, rows: Sequence[QueuedRow]) -> None:
        """Hand stored rows to their workspace's subscribers (any thread; never blocks)."""
        with self._lock:
            if not self._subscribers:
                return
            by_workspace: dict[str, list[QueuedRow]] = {}
            for row in rows:
                if row["workspace_id"] in self._subscribers:
                    by_workspace.setdefault(row["workspace_id"], []).append(row)
            targets = [
                (subscription, found)
                for workspace, found in by_workspace.items()
                for subscription in self._subscribers[workspace]
            ]
        for subscription, found in targets:
            subscription.offer(found)

    def workspaces(self) -> set[str]:
        """The workspaces that have a subscriber now."""
        with self._lock:
            return set(self._subscribers)

    def count(self, workspace_id: UUID) -> int:
        with self._lock:
            return len(self._subscribers.get(str(workspace_id), ()))
