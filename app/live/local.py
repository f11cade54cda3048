"""Embedded mode: the writer runs in this process, so stored rows go straight to its subscribers."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.event_types import QueuedRow
from app.live.hub import EventMatch, LiveHub, LiveSubscription


class LocalLiveEvents:
    def __init__(self) -> None:
        self.hub = LiveHub()

    def publish(self, rows: Sequence[QueuedRow]) -> None:
        self.hub.deliver(rows)

    def subscribe(
        self, workspace_id: UUID, match: EventMatch, *, max_queued: int
    ) -> LiveSubscription:
        return self.hub.add(workspace_id, match, max_queued=max_queued)

    async def listening(self, subscription: LiveSubscription) -> None:
        return None

    def close(self) -> None:
        pass
