"""The outcome of cost resolution (CONTRACT §3), stored on every AI event."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class CostStatus(StrEnum):
    explicit_event_cost = "explicit_event_cost"
    calculated = "calculated"
    unknown_model = "unknown_model"
    missing_price = "missing_price"
    missing_tokens = "missing_tokens"
    missing_fx_rate = "missing_fx_rate"


class PricingSource(StrEnum):
    event_explicit = "event_explicit"
    customer_override = "customer_override"
    global_catalog = "global_catalog"
    none = "none"


# Costs are stored as Decimal(38, 12) in ClickHouse: resolution rounds to the same scale.
COST_QUANTUM = Decimal("0.000000000001")


@dataclass(frozen=True, slots=True)
class CostResolution:
    """`cost_eur` is None when unknown, never 0 (an explicit 0 is a known zero)."""

    status: CostStatus | None
    source: PricingSource
    canonical_key: str | None
    cost_eur: Decimal | None
