"""The process's current pricing snapshot, reloaded when another process changes prices."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from uuid import UUID

from sqlmodel import Session, select

from app import cache_versions
from app.event_types import IncomingEvent
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias, WorkspacePrice
from app.pricing.resolution import CostResolution
from app.pricing.resolver import PricingSnapshot


def load_snapshot(session: Session) -> PricingSnapshot:
    return PricingSnapshot.build(
        models=session.exec(select(CatalogModel)).all(),
        aliases=session.exec(select(ModelAlias)).all(),
        catalog_prices=session.exec(select(CatalogPrice)).all(),
        workspace_prices=session.exec(select(WorkspacePrice)).all(),
        fx_rates=session.exec(select(FxRate)).all(),
    )


@dataclass(frozen=True, slots=True)
class _Loaded:
    snapshot: PricingSnapshot
    version: int | None  # None: never loaded from a database


class PricingCache:
    """Readers take whatever snapshot is current: swapping one reference is atomic, so the hot
    path needs no lock. Only loads are serialised, so an older load can't replace a newer one."""

    def __init__(self, snapshot: PricingSnapshot | None = None) -> None:
        self._loaded = _Loaded(snapshot or PricingSnapshot(), None)
        self._load_lock = threading.Lock()

    @property
    def snapshot(self) -> PricingSnapshot:
        return self._loaded.snapshot

    @property
    def version(self) -> int | None:
        return self._loaded.version

    def load(self, session: Session) -> PricingSnapshot:
        with self._load_lock:
            # The version is read before the tables: a change committed in between makes us
            # reload once more later, never miss it.
            version = cache_versions.read_all(session).get(cache_versions.PRICING, 0)
            snapshot = load_snapshot(session)
            self._loaded = _Loaded(snapshot, version)
            return snapshot

    def refresh_if_changed(self, session: Session) -> bool:
        """Reload when the pricing version moved since the last load; True if it reloaded."""
        current = cache_versions.read_all(session).get(cache_versions.PRICING, 0)
        if current == self._loaded.version:
            return False
        self.load(session)
        return True

    def resolve(self, workspace_id: UUID, event: IncomingEvent) -> CostResolution | None:
        return self._loaded.snapshot.resolve(workspace_id, event)
