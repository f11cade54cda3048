"""The operators' unmapped-models list, on the embedded ClickHouse engine."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from app.errors import BadUserInput
from app.pricing.resolver import PricingSnapshot
from app.pricing.unmapped import UnmappedModel, unmapped_models
from app.store.events_table import to_queued_row
from app.store.interface import AnalyticsStore
from app.workers.writer import EventWriter
from tests.pricing.builders import alias, at, model

WS = UUID("00000000-0000-0000-0000-0000000000a1")
APPS = [UUID(f"00000000-0000-0000-0000-00000000010{i}") for i in range(5)]
COLUMNS = (
    "workspace_id",
    "app_id",
    "event_id",
    "event",
    "timestamp",
    "received_at",
    "environment",
    "customer_org_id",
    "user_hash",
    "properties",
    "ai_cost_status",
    "ai_pricing_source",
    "ai_canonical_model_key",
    "estimated_cost_eur",
)


def _row(
    n: int,
    provider: str,
    model_name: str,
    when: datetime,
    *,
    app: UUID = APPS[0],
    status: str = "unknown_model",
    event: str = "ai_call_completed",
) -> dict[str, Any]:
    return {
        "workspace_id": WS,
        "app_id": app,
        "event_id": f"e{n}",
        "event": event,
        "timestamp": when,
        "received_at": when,
        "environment": "production",
        "customer_org_id": "acme-corp",
        "user_hash": "u1",
        "properties": json.dumps({"feature": "f", "provider": provider, "model": model_name}),
        "ai_cost_status": status,
        "ai_pricing_source": "none",
        "ai_canonical_model_key": "",
        "estimated_cost_eur": None,
    }


@pytest.fixture
def events(store: AnalyticsStore) -> AnalyticsStore:
    rows = [
        *(_row(i, "acme", "brainy-1", at(2026, 3, 1 + i), app=APPS[i]) for i in range(5)),
        _row(10, "openai", "gpt-5.4-mini-2026", at(2026, 2, 1)),
        _row(11, "openai", "gpt-5.4-mini-2026", at(2026, 2, 2)),
        _row(12, "acme", "it's-quoted", at(2026, 1, 5)),
        # Resolved events and non-AI events never count.
        _row(20, "openai", "gpt-5.4-mini", at(2026, 3, 1), status="calculated"),
        _row(21, "acme", "brainy-1", at(2026, 3, 1), status="", event="page_viewed"),
    ]
    writer = EventWriter(store, _refuse_dead_letter)
    writer.write([to_queued_row(row) for row in rows])
    return store


def _refuse_dead_letter(row: dict[str, Any], error: str) -> None:
    raise AssertionError(f"unexpected dead letter: {error}")


def test_unknown_models_are_grouped_with_counts_and_dates(events: AnalyticsStore) -> None:
    got = unmapped_models(events, PricingSnapshot())
    assert [(m.provider, m.model, m.count) for m in got] == [
        ("acme", "brainy-1", 5),
        ("openai", "gpt-5.4-mini-2026", 2),
        ("acme", "it's-quoted", 1),
    ]
    assert got[1] == UnmappedModel(
        provider="openai",
        model="gpt-5.4-mini-2026",
        count=2,
        first_seen=at(2026, 2, 1),
        last_seen=at(2026, 2, 2),
        example_app_ids=(APPS[0],),
    )


def test_at_most_three_example_apps_are_given(events: AnalyticsStore) -> None:
    [brainy, *_] = unmapped_models(events, PricingSnapshot())
    assert len(brainy.example_app_ids) == 3
    assert set(brainy.example_app_ids) <= set(APPS)


def test_pairs_aliased_since_are_left_out(events: AnalyticsStore) -> None:
    snapshot = PricingSnapshot.build(
        models=[model("openai", "gpt-5.4-mini")],
        aliases=[alias("openai", "gpt-5.4-mini-2026", "openai/gpt-5.4-mini")],
    )
    got = unmapped_models(events, snapshot)
    assert [(m.provider, m.model) for m in got] == [("acme", "brainy-1"), ("acme", "it's-quoted")]


def test_pairs_added_to_the_catalog_since_are_left_out(events: AnalyticsStore) -> None:
    snapshot = PricingSnapshot.build(models=[model("acme", "brainy-1")])
    got = unmapped_models(events, snapshot)
    assert [m.model for m in got] == ["gpt-5.4-mini-2026", "it's-quoted"]


def test_limit_keeps_the_most_frequent(events: AnalyticsStore) -> None:
    got = unmapped_models(events, PricingSnapshot(), limit=1)
    assert [m.model for m in got] == ["brainy-1"]


def test_limit_out_of_range_is_refused(store: AnalyticsStore) -> None:
    with pytest.raises(BadUserInput):
        unmapped_models(store, PricingSnapshot(), limit=0)
