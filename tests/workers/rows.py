"""Queued rows for worker tests, shaped exactly as ingest queues them."""

from __future__ import annotations

import uuid
from typing import Any

import orjson

WORKSPACE = "6f1b0a0e-5d8c-4a51-9c4e-3b4f6d9e0a11"
APP = "0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f"


def queued_row(event_id: str | None = None, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "workspace_id": WORKSPACE,
        "app_id": APP,
        "event_id": event_id or str(uuid.uuid4()),
        "event": "ai_call_completed",
        "timestamp": "2026-11-02T10:00:00.000000Z",
        "received_at": "2026-11-02T10:00:00.500000Z",
        "environment": "production",
        "customer_org_id": "acme-corp",
        "user_hash": "u1",
        "properties": orjson.dumps(
            {
                "feature": "support",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "input_tokens": 1200,
                "output_tokens": 350,
            }
        ).decode(),
        "ai_cost_status": "calculated",
        "ai_pricing_source": "global_catalog",
        "ai_canonical_model_key": "openai/gpt-5.4-mini",
        "estimated_cost_eur": "0.000123456789",
    }
    row.update(overrides)
    return row
