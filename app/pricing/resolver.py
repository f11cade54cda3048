"""Cost resolution (CONTRACT §3) over an immutable in-memory snapshot of the pricing tables.

Resolution runs once per event at ingest, on the hot path: it never touches the database, and
a snapshot is never mutated (a new one replaces it, see `app.pricing.cache`), so any number of
threads may resolve with the same snapshot without locks.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from types import MappingProxyType
from typing import Any, Generic, TypeVar
from uuid import UUID

from app.db import as_utc
from app.event_types import AI_CALL_FAILED, AI_EVENTS, AI_OUTPUT_EVENTS, IncomingEvent
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias, WorkspacePrice
from app.pricing.resolution import COST_QUANTUM, CostResolution, CostStatus, PricingSource

LOCAL_PREFIX = "local:"
EUR = "EUR"
USD = "USD"
_MILLION_EXP = -6

# Wide enough that token counts times prices (and the quantize to 12 places of a
# Decimal(38, 12)) are exact: the default 28 digits could round before we mean to.
_EXACT = Context(prec=80, rounding=ROUND_HALF_EVEN)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """EUR per 1M tokens; `cached_input` None means cached tokens cost the input price."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None


@dataclass(frozen=True, slots=True)
class History(Generic[T]):
    """Values by valid-from, sorted: the value in force at an instant is a bisection away."""

    starts: tuple[datetime, ...]
    values: tuple[T, ...]

    @classmethod
    def of(cls, items: Iterable[tuple[datetime, T]]) -> History[T]:
        ordered = sorted(((as_utc(start), value) for start, value in items), key=lambda i: i[0])
        return cls(tuple(s for s, _ in ordered), tuple(v for _, v in ordered))

    def at(self, instant: datetime) -> T | None:
        index = bisect_right(self.starts, instant) - 1
        return self.values[index] if index >= 0 else None


def _histories(rows: Iterable[tuple[Hashable, datetime, T]]) -> Mapping[Any, History[T]]:
    grouped: dict[Hashable, list[tuple[datetime, T]]] = defaultdict(list)
    for key, start, value in rows:
        grouped[key].append((start, value))
    return MappingProxyType({key: History.of(items) for key, items in grouped.items()})


def _unit(row: CatalogPrice | WorkspacePrice) -> UnitPrice:
    return UnitPrice(
        row.input_per_million_eur, row.output_per_million_eur, row.cached_input_per_million_eur
    )


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class PricingSnapshot:
    """Catalog, aliases, workspace prices and FX rates as they were when loaded."""

    models: Mapping[tuple[str, str], str] = field(default_factory=_empty)
    aliases: Mapping[tuple[str, str], str] = field(default_factory=_empty)
    catalog_prices: Mapping[str, History[UnitPrice]] = field(default_factory=_empty)
    workspace_prices: Mapping[tuple[UUID, str], History[UnitPrice]] = field(default_factory=_empty)
    fx_rates: Mapping[str, History[Decimal]] = field(default_factory=_empty)

    @classmethod
    def build(
        cls,
        *,
        models: Iterable[CatalogModel] = (),
        aliases: Iterable[ModelAlias] = (),
        catalog_prices: Iterable[CatalogPrice] = (),
        workspace_prices: Iterable[WorkspacePrice] = (),
        fx_rates: Iterable[FxRate] = (),
    ) -> PricingSnapshot:
        return cls(
            models=MappingProxyType({(m.provider, m.model): m.canonical_key for m in models}),
            aliases=MappingProxyType({(a.provider, a.model): a.canonical_key for a in aliases}),
            catalog_prices=_histories(
                (p.canonical_key, p.valid_from, _unit(p)) for p in catalog_prices
            ),
            workspace_prices=_histories(
                ((p.workspace_id, p.canonical_key), p.valid_from, _unit(p))
                for p in workspace_prices
            ),
            fx_rates=_histories(
                (r.currency.upper(), r.valid_from, r.rate_to_eur) for r in fx_rates
            ),
        )

    def canonical_key(self, provider: str, model: str) -> str | None:
        """Exact catalog match, then alias, then `local:` models (their own key); else None."""
        pair = (provider, model)
        key = self.models.get(pair) or self.aliases.get(pair)
        if key is None and model.startswith(LOCAL_PREFIX):
            return model
        return key

    def fx_rate(self, currency: str, at: datetime) -> Decimal | None:
        if currency == EUR:
            return Decimal(1)
        history = self.fx_rates.get(currency)
        return history.at(at) if history else None

    def unit_price(
        self, workspace_id: UUID, canonical_key: str, at: datetime
    ) -> tuple[UnitPrice, PricingSource] | None:
        own = self.workspace_prices.get((workspace_id, canonical_key))
        price = own.at(at) if own else None
        if price is not None:
            return price, PricingSource.customer_override
        catalog = self.catalog_prices.get(canonical_key)
        price = catalog.at(at) if catalog else None
        if price is not None:
            return price, PricingSource.global_catalog
        return None

    def resolve(self, workspace_id: UUID, event: IncomingEvent) -> CostResolution | None:
        """The cost of one event; None for events that are not AI events."""
        if event.event not in AI_EVENTS:
            return None
        props = event.properties
        at = as_utc(event.timestamp)
        key = self.canonical_key(_text(props.get("provider")), _text(props.get("model")))
        if event.event in AI_OUTPUT_EVENTS:
            # Value signals cost nothing themselves; the key still groups them by model.
            return CostResolution(None, PricingSource.none, key, None)

        explicit = self._explicit(props, at, key)
        if explicit is not None:
            return explicit

        input_tokens, output_tokens = _count(props, "input_tokens"), _count(props, "output_tokens")
        has_tokens = input_tokens is not None and output_tokens is not None
        # Failed calls often carry no usage and a vague or empty model: they are not costed,
        # and must not flood the operators' unmapped-models list.
        if event.event == AI_CALL_FAILED and not has_tokens:
            return _unknown(CostStatus.missing_tokens, key)
        if key is None:
            return _unknown(CostStatus.unknown_model, None)
        priced = self.unit_price(workspace_id, key, at)
        if priced is None:
            return _unknown(CostStatus.missing_price, key)
        if input_tokens is None or output_tokens is None:
            return _unknown(CostStatus.missing_tokens, key)
        price, source = priced
        cached = _count(props, "cached_input_tokens") or 0
        return CostResolution(
            CostStatus.calculated,
            source,
            key,
            _token_cost(price, input_tokens, output_tokens, cached),
        )

    def _explicit(
        self, props: Mapping[str, Any], at: datetime, key: str | None
    ) -> CostResolution | None:
        """The event's own cost, or why it cannot be used; None when the event sends none."""
        amount, currency = _money(props.get("cost_amount")), _text(props.get("cost_currency"))
        if amount is None or not currency:
            amount, currency = _money(props.get("estimated_cost_eur")), EUR
        if amount is None:
            amount, currency = _money(props.get("estimated_cost_usd")), USD
        if amount is None:
            return None
        rate = self.fx_rate(currency.strip().upper(), at)
        if rate is None:
            # The event states its cost: falling back to the catalog would silently replace
            # it with a different figure.
            return _unknown(CostStatus.missing_fx_rate, key)
        with localcontext(_EXACT):
            cost = (amount * rate).quantize(COST_QUANTUM)
        return CostResolution(
            CostStatus.explicit_event_cost, PricingSource.event_explicit, key, cost
        )


def _unknown(status: CostStatus, key: str | None) -> CostResolution:
    return CostResolution(status, PricingSource.none, key, None)


def _token_cost(price: UnitPrice, input_tokens: int, output_tokens: int, cached: int) -> Decimal:
    # Cached tokens are part of the input; a client reporting more cached than input tokens
    # (Anthropic counts them apart) must not yield a negative uncached part.
    cached = min(cached, input_tokens)
    cached_price = price.input if price.cached_input is None else price.cached_input
    with localcontext(_EXACT):
        total = (
            (input_tokens - cached) * price.input
            + cached * cached_price
            + output_tokens * price.output
        )
        return total.scaleb(_MILLION_EXP).quantize(COST_QUANTUM)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(props: Mapping[str, Any], name: str) -> int | None:
    value = props.get(name)
    # bool is an int too, and never a token count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _money(value: Any) -> Decimal | None:
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return None
