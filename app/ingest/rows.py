"""Turns a validated, priced event into the row queued for ClickHouse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from app.event_types import IncomingEvent, QueuedRow, format_timestamp
from app.ingest.app_cache import AppCredentials
from app.pricing.resolution import CostResolution


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Properties keep numbers as JSON numbers; exact money lives in the typed cost column.
        return float(value)
    raise TypeError(type(value).__name__)


def build_row(
    app: AppCredentials,
    event: IncomingEvent,
    resolution: CostResolution | None,
    received_at: str,
) -> QueuedRow:
    """`received_at` comes formatted (`format_timestamp`): it is the same for a whole request."""
    properties = dict(event.properties)
    cost: str | None = None
    if resolution is not None:
        cost = None if resolution.cost_eur is None else format(resolution.cost_eur, "f")
        properties["ai_cost_status"] = resolution.status.value if resolution.status else None
        properties["ai_pricing_source"] = resolution.source.value
        properties["ai_canonical_model_key"] = resolution.canonical_key
        properties["estimated_cost_eur"] = cost
    return {
        "workspace_id": app.workspace_id_text,
        "app_id": app.uuid_text,
        "event_id": event.event_id,
        "event": event.event,
        "timestamp": format_timestamp(event.timestamp),
        "received_at": received_at,
        "environment": event.environment,
        "customer_org_id": event.customer_org_id,
        "user_hash": event.user_hash,
        "properties": orjson.dumps(properties, default=_json_default).decode(),
        "ai_cost_status": resolution.status.value if resolution and resolution.status else "",
        "ai_pricing_source": resolution.source.value if resolution else "",
        "ai_canonical_model_key": (resolution.canonical_key or "") if resolution else "",
        "estimated_cost_eur": cost,
    }
