from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.analytics.queries import StoredEvent


def _or_none(value: str) -> str | None:
    return value or None


@strawberry.type(
    description=(
        "One stored event, as ingest accepted it: properties flattened (properties.ai.* "
        "lifted) and stripped of prompts and transcripts, AI cost resolved once at ingest."
    )
)
class Event:
    event_id: str = strawberry.field(
        description="The client's idempotency key, or the id ingest gave the event."
    )
    event: str = strawberry.field(description="The event name, e.g. 'ai_call_completed'.")
    timestamp: datetime = strawberry.field(description="When it happened (UTC).")
    received_at: datetime = strawberry.field(description="When ingest accepted it (UTC).")
    app_uuid: UUID = strawberry.field(description="The app that sent it.")
    environment: str = strawberry.field(description="e.g. 'production'.")
    customer_org_id: str | None = strawberry.field(
        description="Your customer's organization id (case-sensitive); null when not sent."
    )
    user_hash: str | None = strawberry.field(
        description="Pseudonymous user id; null when not sent."
    )
    properties: JSON = strawberry.field(
        description="The event's properties after flattening and privacy stripping."
    )
    ai_cost_status: str | None = strawberry.field(
        description=(
            "AI events: explicit_event_cost, calculated, unknown_model, missing_price, "
            "missing_tokens or missing_fx_rate; null for other events and value signals."
        )
    )
    ai_pricing_source: str | None = strawberry.field(
        description=(
            "AI events: event_explicit, customer_override, global_catalog or none; null for "
            "other events."
        )
    )
    ai_canonical_model_key: str | None = strawberry.field(
        description="The catalog key the model resolved to; null when none."
    )
    estimated_cost_eur: Decimal | None = strawberry.field(
        description=(
            "The event's cost in EUR; null when unknown (never 0 for unknown) or not an AI call."
        )
    )

    @classmethod
    def of(cls, stored: StoredEvent) -> Event:
        return cls(
            event_id=stored.event_id,
            event=stored.event,
            timestamp=stored.timestamp,
            received_at=stored.received_at,
            app_uuid=stored.app_id,
            environment=stored.environment,
            customer_org_id=_or_none(stored.customer_org_id),
            user_hash=_or_none(stored.user_hash),
            properties=JSON(stored.properties),
            ai_cost_status=_or_none(stored.ai_cost_status),
            ai_pricing_source=_or_none(stored.ai_pricing_source),
            ai_canonical_model_key=_or_none(stored.ai_canonical_model_key),
            estimated_cost_eur=stored.estimated_cost_eur,
        )
