"""Live events: what the writer stores, handed to the GraphQL subscriptions of every serving
process (CONTRACT §7: "a Subscription field that yields Events as they become visible").

The writer announces each batch it stored (`EventWriter(on_stored=live.publish)`, see
app/runtime.py): only rows it inserted, never those a retried batch found already stored, and
never what ingest accepted but the writer has not stored yet. Two backends, one interface:

- `LocalLiveEvents` (embedded mode, app/live/local.py): the writer runs in this process, its
  rows go straight to this process's subscribers (`LiveHub`);
- `RedisLiveEvents` (Redis mode, app/live/redis.py): writers may run in other processes
  (`saas-tracker worker`), so rows are published on a Redis channel per workspace, and each
  serving process listens on the channels of the workspaces it has subscribers for.

Live delivery is best effort, as the event stream is the record: an event stored while a
client reconnects, or announced when no subscriber listened, is not sent again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol
from uuid import UUID

from app.event_types import QueuedRow
from app.live.hub import EventMatch, LiveSubscription, SubscriberTooSlow
from app.settings import Settings

__all__ = [
    "EventMatch",
    "LiveEvents",
    "LiveSubscription",
    "SubscriberTooSlow",
    "open_live_events",
]


class LiveEvents(Protocol):
    def publish(self, rows: Sequence[QueuedRow]) -> None:
        """Announce rows the writer stored (its thread; returns at once, never raises)."""

    def subscribe(
        self, workspace_id: UUID, match: EventMatch, *, max_queued: int
    ) -> LiveSubscription:
        """A subscriber of the workspace's events (call it on the loop that reads them)."""

    async def listening(self, subscription: LiveSubscription) -> None:
        """Return once rows stored from now on reach `subscription`."""

    def close(self) -> None: ...


def open_live_events(settings: Settings) -> LiveEvents:
    """Redis pub/sub when the queue is Redis (writers may run elsewhere), else in-process."""
    if settings.redis_url is not None:
        from app.live.redis import RedisLiveEvents

        return RedisLiveEvents(
            settings.redis_url.get_secret_value(), channel_prefix=f"live:{settings.queue_name}"
        )
    from app.live.local import LocalLiveEvents

    return LocalLiveEvents()
