"""The process cache follows pricing changes made elsewhere, through the version counter."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy.engine import Engine

from app.db import session_scope
from app.pricing import service
from app.pricing.cache import PricingCache
from app.pricing.resolution import CostStatus
from tests.pricing.builders import ai_event, at

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

ALIASED = ai_event(provider="acme", model="mini-2026", input_tokens=1000, output_tokens=1000)


def _loaded(engine: Engine) -> PricingCache:
    cache = PricingCache()
    with session_scope(engine) as session:
        cache.load(session)
    return cache


@BOTH_DATABASES
def test_refresh_reloads_after_a_change_in_another_session(engine: Engine) -> None:
    cache = _loaded(engine)
    before = cache.resolve(uuid4(), ALIASED)
    assert before is not None and before.status is CostStatus.unknown_model
    with session_scope(engine) as session:
        service.create_model_alias(
            session,
            actor="cli",
            provider="acme",
            model="mini-2026",
            canonical_key="openai/gpt-5.4-mini",
        )
    with session_scope(engine) as session:
        assert cache.refresh_if_changed(session) is True
    got = cache.resolve(uuid4(), ALIASED)
    assert got is not None
    assert (got.status, got.canonical_key) == (CostStatus.calculated, "openai/gpt-5.4-mini")


@BOTH_DATABASES
def test_refresh_without_a_change_keeps_the_snapshot(engine: Engine) -> None:
    cache = _loaded(engine)
    snapshot = cache.snapshot
    with session_scope(engine) as session:
        assert cache.refresh_if_changed(session) is False
    assert cache.snapshot is snapshot


@BOTH_DATABASES
def test_reloaded_catalog_price_applies_to_later_events(engine: Engine) -> None:
    cache = _loaded(engine)
    with session_scope(engine) as session:
        service.set_catalog_price(
            session,
            actor="cli",
            canonical_key="openai/gpt-5.4-mini",
            valid_from=at(2026, 6),
            input_per_million_eur=Decimal("1"),
            output_per_million_eur=Decimal("2"),
        )
    with session_scope(engine) as session:
        cache.refresh_if_changed(session)
    event = ai_event(
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1000,
        output_tokens=1000,
        when=at(2026, 7),
    )
    got = cache.resolve(uuid4(), event)
    assert got is not None and got.cost_eur == Decimal("0.003000000000")


def test_unloaded_cache_resolves_nothing_to_a_price() -> None:
    got = PricingCache().resolve(uuid4(), ALIASED)
    assert got is not None and got.status is CostStatus.unknown_model
    assert PricingCache().version is None
