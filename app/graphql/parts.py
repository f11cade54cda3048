"""What the GraphQL layer needs of the running process, as a protocol: the composition root
(`app.runtime.Runtime`) provides it (`app.runtime.graphql_parts` lets mypy check that), and no
module under app/graphql imports the root.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.engine import Engine

from app.ai_cost.top_keys import LastTopKeys
from app.event_types import QueuedRow
from app.ingest.app_cache import AppCache
from app.live import LiveEvents
from app.pricing.cache import PricingCache
from app.settings import Settings
from app.store.interface import AnalyticsStore
from app.workers.dead_letters import DeadLetterStore


class RowQueue(Protocol):
    """The durable ingest queue (`app.runtime.DurableQueue`): replayed dead letters go back
    into it."""

    def put(self, rows: list[QueuedRow]) -> None: ...


class GraphQLParts(Protocol):
    """The parts of the runtime that the GraphQL layer uses (`Context.runtime`)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def engine(self) -> Engine: ...  # each request's SQLModel session is opened on it
    @property
    def store(self) -> AnalyticsStore: ...
    @property
    def pricing(self) -> PricingCache: ...  # reloaded after a catalog change, read by reports
    @property
    def apps(self) -> AppCache: ...  # an app's cached credentials dropped when it changes
    @property
    def queue(self) -> RowQueue: ...
    @property
    def dead_letters(self) -> DeadLetterStore: ...
    @property
    def live(self) -> LiveEvents: ...  # the subscriptions' stored events
    @property
    def top_keys(self) -> LastTopKeys: ...  # the AI cost reports' last rankings
