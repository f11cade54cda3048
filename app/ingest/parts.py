"""What the ingest endpoint needs of the running process, as a protocol: the composition root
(`app.runtime.Runtime`) provides it, and ingest never imports the root.
"""

from __future__ import annotations

from typing import Protocol

from app.ingest.app_cache import AppCache
from app.ingest.enqueuer import GroupCommitEnqueuer
from app.pricing.cache import PricingCache
from app.settings import Settings


class WriteBacklog(Protocol):
    """The writer's backlog (`app.workers.health.Backlog`): `full` while ingest must refuse
    events (the CPU is the writer's), and the queue's depth."""

    @property
    def full(self) -> bool: ...
    @property
    def depth(self) -> float: ...


class IngestParts(Protocol):
    """The parts of the runtime that `app.ingest.endpoint` uses (`request.app.state.runtime`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def pricing(self) -> PricingCache: ...
    @property
    def apps(self) -> AppCache: ...
    @property
    def enqueuer(self) -> GroupCommitEnqueuer: ...
    @property
    def backlog(self) -> WriteBacklog | None: ...
