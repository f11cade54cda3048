"""Small builders shared by the pricing tests."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.event_types import AI_CALL_COMPLETED, IncomingEvent
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias, WorkspacePrice


def at(year: int, month: int = 1, day: int = 1, hour: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, 0, second, tzinfo=UTC)


def ai_event(
    event: str = AI_CALL_COMPLETED, *, when: datetime | None = None, **properties: Any
) -> IncomingEvent:
    return IncomingEvent(
        event=event,
        event_id="evt-1",
        timestamp=when or at(2026, 3, 1),
        environment="production",
        customer_org_id="acme-corp",
        user_hash="u1",
        properties={"feature": "support_reply_generator", **properties},
    )


def model(provider: str, name: str, key: str | None = None) -> CatalogModel:
    return CatalogModel(provider=provider, model=name, canonical_key=key or f"{provider}/{name}")


def catalog_price(
    key: str, valid_from: datetime, inp: str, out: str, cached: str | None = None
) -> CatalogPrice:
    return CatalogPrice(
        canonical_key=key,
        valid_from=valid_from,
        input_per_million_eur=Decimal(inp),
        output_per_million_eur=Decimal(out),
        cached_input_per_million_eur=None if cached is None else Decimal(cached),
    )


def workspace_price(
    workspace_id: Any, key: str, valid_from: datetime, inp: str, out: str, cached: str | None = None
) -> WorkspacePrice:
    return WorkspacePrice(
        workspace_id=workspace_id,
        canonical_key=key,
        valid_from=valid_from,
        input_per_million_eur=Decimal(inp),
        output_per_million_eur=Decimal(out),
        cached_input_per_million_eur=None if cached is None else Decimal(cached),
    )


def alias(provider: str, name: str, key: str) -> ModelAlias:
    return ModelAlias(provider=provider, model=name, canonical_key=key)


def fx(currency: str, valid_from: datetime, rate: str) -> FxRate:
    return FxRate(currency=currency, valid_from=valid_from, rate_to_eur=Decimal(rate))
