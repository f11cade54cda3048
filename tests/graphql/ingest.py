"""Signed ingest for end-to-end tests, and waiting for the workers to store the events."""

from __future__ import annotations

from typing import Any

import orjson

from app.ingest.signature import sign_headers
from tests.graphql.conftest import Api, Tenant

STREAM = (
    "{ events { eventId event aiCostStatus aiPricingSource aiCanonicalModelKey estimatedCostEur } }"
)


def ingest(api: Api, tenant: Tenant, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = {
        "content-type": "application/json",
        **sign_headers(tenant.api_secret, body, app_uuid=str(tenant.app_uuid)),
    }
    response = api.client.post("/v1/ingest", content=body, headers=headers)
    assert response.status_code == 202, response.text


def stored_events(api: Api, tenant: Tenant, count: int, timeout: float = 20.0) -> list[Any]:
    """The event stream once every acknowledged event is written: it must hold `count`."""
    api.runtime.drain(timeout)
    events: list[Any] = api.data(STREAM, token=tenant.admin_token)["events"]
    assert len(events) == count, events
    return events


def completed_call(provider: str, model: str, **properties: Any) -> dict[str, Any]:
    return {
        "event": "ai_call_completed",
        "customer_org_id": "acme-corp",
        "properties": {
            "feature": "support",
            "provider": provider,
            "model": model,
            "input_tokens": 1200,
            "output_tokens": 350,
            **properties,
        },
    }
