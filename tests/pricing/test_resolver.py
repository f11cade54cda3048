"""CONTRACT §3 on an in-memory snapshot: every status and source, to the last decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from app.event_types import AI_CALL_COMPLETED, AI_CALL_FAILED, AI_OUTPUT_EVENTS
from app.pricing.resolution import CostResolution, CostStatus, PricingSource
from app.pricing.resolver import PricingSnapshot
from tests.pricing.builders import (
    ai_event,
    alias,
    at,
    catalog_price,
    fx,
    model,
    workspace_price,
)

WS = UUID("00000000-0000-0000-0000-00000000000a")
OTHER_WS = UUID("00000000-0000-0000-0000-00000000000b")
MINI = "openai/gpt-5.4-mini"
GPT4O = "openai/gpt-4o"
SONNET = "anthropic/claude-sonnet-4-6"
SMALL = "mistral/mistral-small-2506"
UNPRICED = "openai/gpt-unpriced"


@pytest.fixture(scope="module")
def snapshot() -> PricingSnapshot:
    return PricingSnapshot.build(
        models=[
            model("openai", "gpt-5.4-mini"),
            model("openai", "gpt-4o"),
            model("anthropic", "claude-sonnet-4-6"),
            model("mistral", "mistral-small-2506"),
            model("openai", "gpt-unpriced"),
        ],
        aliases=[alias("anthropic", "claude-sonnet-4-6-20260101", SONNET)],
        catalog_prices=[
            catalog_price(MINI, at(2024), "0.645", "3.87", "0.0645"),
            catalog_price(SONNET, at(2024), "2.58", "12.9", "0.258"),
            catalog_price(SMALL, at(2024), "0.086", "0.258"),
            # Rows deliberately out of order: the snapshot sorts them.
            catalog_price(GPT4O, at(2026), "1.00", "4.00"),
            catalog_price(GPT4O, at(2025), "2.15", "8.6"),
        ],
        workspace_prices=[
            workspace_price(WS, MINI, at(2025, 6), "0.5", "2"),
            workspace_price(WS, "local:llama3", at(2025, 6), "0.01", "0.02"),
        ],
        fx_rates=[fx("USD", at(2026), "0.86"), fx("USD", at(2025), "0.90")],
    )


def resolve(snapshot: PricingSnapshot, workspace_id: UUID = WS, **kwargs: Any) -> CostResolution:
    resolution = snapshot.resolve(workspace_id, ai_event(**kwargs))
    assert resolution is not None
    return resolution


def test_catalog_price_is_calculated_from_input_and_output_tokens(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        OTHER_WS,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
    )
    # 1200 * 0.645 / 1e6 + 350 * 3.87 / 1e6
    assert got == CostResolution(
        CostStatus.calculated, PricingSource.global_catalog, MINI, Decimal("0.002128500000")
    )


def test_cost_is_rounded_to_twelve_decimals_half_even(snapshot: PricingSnapshot) -> None:
    down = resolve(snapshot, estimated_cost_eur=Decimal("0.0000000000025"))
    up = resolve(snapshot, estimated_cost_eur=Decimal("0.0000000000035"))
    assert str(down.cost_eur) == "2E-12"
    assert str(up.cost_eur) == "4E-12"


def test_cached_tokens_are_billed_at_the_cached_price(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        OTHER_WS,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        cached_input_tokens=1000,
        output_tokens=350,
    )
    # 200 * 0.645 + 1000 * 0.0645 + 350 * 3.87 = 1548 per 1e6
    assert got.cost_eur == Decimal("0.001548000000")
    assert got.status is CostStatus.calculated


def test_cached_tokens_cost_the_input_price_when_the_model_has_no_cached_price(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        provider="mistral",
        model="mistral-small-2506",
        input_tokens=1000,
        cached_input_tokens=400,
        output_tokens=500,
    )
    # 1000 * 0.086 + 500 * 0.258 = 215 per 1e6
    assert got.cost_eur == Decimal("0.000215000000")


def test_more_cached_than_input_tokens_never_makes_a_negative_uncached_part(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        OTHER_WS,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=100,
        cached_input_tokens=500,
        output_tokens=0,
    )
    # All 100 input tokens at the cached price 0.0645.
    assert got.cost_eur == Decimal("0.000006450000")


def test_price_in_force_before_a_new_valid_from_is_the_older_row(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-4o",
        input_tokens=1000,
        output_tokens=1000,
        when=at(2025, 12, 31, 23, second=59),
    )
    assert got.cost_eur == Decimal("0.010750000000")


def test_price_in_force_from_its_valid_from_instant_on(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-4o",
        input_tokens=1000,
        output_tokens=1000,
        when=at(2026),
    )
    assert got.cost_eur == Decimal("0.005000000000")


def test_event_before_the_first_price_is_missing_price(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-4o",
        input_tokens=1000,
        output_tokens=1000,
        when=at(2024, 6),
    )
    assert got == CostResolution(CostStatus.missing_price, PricingSource.none, GPT4O, None)


def test_known_model_without_any_price_is_missing_price(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot, provider="openai", model="gpt-unpriced", input_tokens=1, output_tokens=1
    )
    assert got == CostResolution(CostStatus.missing_price, PricingSource.none, UNPRICED, None)


def test_alias_maps_another_model_string_to_its_catalog_key(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="anthropic",
        model="claude-sonnet-4-6-20260101",
        input_tokens=1000,
        output_tokens=100,
    )
    # 1000 * 2.58 + 100 * 12.9 = 3870 per 1e6
    assert got == CostResolution(
        CostStatus.calculated, PricingSource.global_catalog, SONNET, Decimal("0.003870000000")
    )


def test_model_strings_match_exactly(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot, provider="openai", model="GPT-5.4-mini", input_tokens=1, output_tokens=1
    )
    assert got.status is CostStatus.unknown_model


def test_unknown_model_has_no_key_and_no_cost(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, provider="acme", model="brainy-1", input_tokens=10, output_tokens=10)
    assert got == CostResolution(CostStatus.unknown_model, PricingSource.none, None, None)


def test_unknown_model_wins_over_missing_tokens_on_completed_calls(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(snapshot, provider="acme", model="brainy-1")
    assert got.status is CostStatus.unknown_model


def test_customer_price_overrides_the_catalog(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        cached_input_tokens=1000,
    )
    # The workspace price has no cached price: 1200 * 0.5 + 350 * 2 = 1300 per 1e6
    assert got == CostResolution(
        CostStatus.calculated, PricingSource.customer_override, MINI, Decimal("0.001300000000")
    )


def test_catalog_applies_before_the_customer_price_starts(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        when=at(2025, 5),
    )
    assert got.source is PricingSource.global_catalog
    assert got.cost_eur == Decimal("0.002128500000")


def test_local_model_is_known_but_missing_price_without_a_customer_price(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        OTHER_WS,
        provider="ollama",
        model="local:llama3",
        input_tokens=10,
        output_tokens=10,
    )
    assert got == CostResolution(CostStatus.missing_price, PricingSource.none, "local:llama3", None)


def test_local_model_is_priced_by_the_workspace_price_whatever_the_provider(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        provider="vllm",
        model="local:llama3",
        input_tokens=1_000_000,
        output_tokens=500_000,
    )
    # 1e6 * 0.01 + 5e5 * 0.02 = 20000 per 1e6
    assert got == CostResolution(
        CostStatus.calculated,
        PricingSource.customer_override,
        "local:llama3",
        Decimal("0.020000000000"),
    )


def test_missing_output_tokens_is_missing_tokens(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, OTHER_WS, provider="openai", model="gpt-5.4-mini", input_tokens=1200)
    assert got == CostResolution(CostStatus.missing_tokens, PricingSource.none, MINI, None)


def test_zero_tokens_are_a_known_zero_cost(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot, OTHER_WS, provider="openai", model="gpt-5.4-mini", input_tokens=0, output_tokens=0
    )
    assert got.status is CostStatus.calculated
    assert got.cost_eur == Decimal(0)


def test_failed_call_without_tokens_is_not_costed(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, OTHER_WS, event=AI_CALL_FAILED, provider="openai", model="gpt-5.4-mini")
    assert got == CostResolution(CostStatus.missing_tokens, PricingSource.none, MINI, None)


def test_failed_call_without_tokens_or_model_is_missing_tokens_not_unknown_model(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(snapshot, event=AI_CALL_FAILED, error_code="rate_limited")
    assert got == CostResolution(CostStatus.missing_tokens, PricingSource.none, None, None)


def test_failed_call_with_tokens_is_costed_like_a_completed_call(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        OTHER_WS,
        event=AI_CALL_FAILED,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
    )
    assert got == CostResolution(
        CostStatus.calculated, PricingSource.global_catalog, MINI, Decimal("0.002128500000")
    )


def test_estimated_cost_eur_is_used_as_sent(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        estimated_cost_eur=Decimal("0.014"),
    )
    assert got == CostResolution(
        CostStatus.explicit_event_cost,
        PricingSource.event_explicit,
        MINI,
        Decimal("0.014000000000"),
    )


def test_explicit_zero_is_a_known_zero(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        estimated_cost_eur=Decimal(0),
    )
    assert got.status is CostStatus.explicit_event_cost
    assert got.source is PricingSource.event_explicit
    assert got.cost_eur is not None
    assert format(got.cost_eur, "f") == "0.000000000000"


def test_explicit_cost_needs_no_known_model(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, provider="acme", model="brainy-1", estimated_cost_eur=Decimal("0.5"))
    assert got == CostResolution(
        CostStatus.explicit_event_cost, PricingSource.event_explicit, None, Decimal("0.5")
    )


def test_estimated_cost_usd_is_converted_at_the_rate_in_force(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, estimated_cost_usd=Decimal("0.02"), when=at(2026, 3))
    assert got == CostResolution(
        CostStatus.explicit_event_cost,
        PricingSource.event_explicit,
        None,
        Decimal("0.017200000000"),
    )


def test_estimated_cost_usd_uses_the_older_rate_for_older_events(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(snapshot, estimated_cost_usd=Decimal("0.02"), when=at(2025, 6))
    assert got.cost_eur == Decimal("0.018000000000")


def test_estimated_cost_eur_takes_priority_over_usd(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, estimated_cost_eur=Decimal("0.03"), estimated_cost_usd=Decimal("9"))
    assert got.cost_eur == Decimal("0.03")


def test_cost_amount_in_eur_is_used_directly(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, cost_amount=Decimal("1.5"), cost_currency="EUR")
    assert got == CostResolution(
        CostStatus.explicit_event_cost, PricingSource.event_explicit, None, Decimal("1.5")
    )


def test_cost_amount_in_another_currency_is_converted(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, cost_amount=Decimal("2.5"), cost_currency="usd", when=at(2026, 2))
    assert got.cost_eur == Decimal("2.150000000000")


def test_cost_amount_takes_priority_over_estimated_costs(snapshot: PricingSnapshot) -> None:
    got = resolve(
        snapshot,
        cost_amount=Decimal("2"),
        cost_currency="EUR",
        estimated_cost_eur=Decimal("3"),
        estimated_cost_usd=Decimal("4"),
    )
    assert got.cost_eur == Decimal("2")


def test_cost_amount_without_currency_is_not_an_explicit_cost(snapshot: PricingSnapshot) -> None:
    got = resolve(snapshot, cost_amount=Decimal("2"), estimated_cost_eur=Decimal("3"))
    assert got.cost_eur == Decimal("3")


def test_currency_without_rate_is_missing_fx_rate_without_catalog_fallback(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(
        snapshot,
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        cost_amount=Decimal("1"),
        cost_currency="GBP",
    )
    assert got == CostResolution(CostStatus.missing_fx_rate, PricingSource.none, MINI, None)


def test_usd_cost_before_the_first_usd_rate_is_missing_fx_rate(
    snapshot: PricingSnapshot,
) -> None:
    got = resolve(snapshot, estimated_cost_usd=Decimal("0.02"), when=at(2024, 6))
    assert got == CostResolution(CostStatus.missing_fx_rate, PricingSource.none, None, None)


@pytest.mark.parametrize("event", AI_OUTPUT_EVENTS)
def test_output_events_carry_the_model_key_but_no_cost(
    snapshot: PricingSnapshot, event: str
) -> None:
    got = resolve(
        snapshot,
        event=event,
        provider="openai",
        model="gpt-5.4-mini",
        estimated_cost_eur=Decimal("1"),
    )
    assert got == CostResolution(None, PricingSource.none, MINI, None)


def test_non_ai_events_are_not_resolved(snapshot: PricingSnapshot) -> None:
    event = ai_event("page_viewed", provider="openai", model="gpt-5.4-mini")
    assert snapshot.resolve(WS, event) is None


def test_empty_snapshot_knows_no_model() -> None:
    got = PricingSnapshot().resolve(
        uuid4(), ai_event(AI_CALL_COMPLETED, provider="openai", model="gpt-5.4-mini")
    )
    assert got == CostResolution(CostStatus.unknown_model, PricingSource.none, None, None)
