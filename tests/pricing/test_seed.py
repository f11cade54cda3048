"""The reviewed catalog seed: complete, consistent, idempotent, and never overwriting edits."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from app import cache_versions
from app.pricing.cache import load_snapshot
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias
from app.pricing.resolution import CostStatus, PricingSource
from app.pricing.seed import load_catalog_file, seed_catalog
from tests.pricing.builders import ai_event, at

PROVIDERS = {"openai", "anthropic", "google", "mistral", "azure_openai"}
BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(
        session.exec(select(func.count()).select_from(table)).one()
        for table in (CatalogModel, CatalogPrice, ModelAlias, FxRate)
    )


def test_catalog_file_entries_are_consistent() -> None:
    data = load_catalog_file()
    assert data["_source"]
    keys = [m["canonical_key"] for m in data["models"]]
    assert len(keys) == len(set(keys))
    for entry in data["models"]:
        assert entry["provider"] in PROVIDERS
        assert entry["canonical_key"] == f"{entry['provider']}/{entry['model']}"
        for price in entry["prices"]:
            assert Decimal(price["input_per_million_eur"]) >= 0
            assert Decimal(price["output_per_million_eur"]) >= 0
    assert {"openai/gpt-5.4-mini", "anthropic/claude-sonnet-4-6"} <= set(keys)
    assert [r["currency"] for r in data["fx_rates"]] == ["USD"]


@BOTH_DATABASES
def test_seed_is_idempotent(session: Session) -> None:
    before = _counts(session)
    version = cache_versions.read_all(session).get(cache_versions.PRICING)
    assert seed_catalog(session) == 0
    assert _counts(session) == before
    assert cache_versions.read_all(session).get(cache_versions.PRICING) == version


@BOTH_DATABASES
def test_seed_keeps_an_operator_edited_price(session: Session) -> None:
    row = session.exec(
        select(CatalogPrice).where(CatalogPrice.canonical_key == "openai/gpt-5.4-mini")
    ).one()
    row.input_per_million_eur = Decimal("0.7")
    session.add(row)
    session.flush()
    seed_catalog(session)
    session.refresh(row)
    assert row.input_per_million_eur == Decimal("0.7")


@BOTH_DATABASES
def test_seed_restores_a_missing_price_row(session: Session) -> None:
    row = session.exec(
        select(CatalogPrice).where(CatalogPrice.canonical_key == "openai/gpt-5.4-mini")
    ).one()
    session.delete(row)
    session.flush()
    assert seed_catalog(session) == 1


def test_seeded_catalog_prices_the_documented_example(session: Session) -> None:
    snapshot = load_snapshot(session)
    event = ai_event(
        provider="openai",
        model="gpt-5.4-mini",
        input_tokens=1200,
        output_tokens=350,
        when=at(2026, 11),
    )
    got = snapshot.resolve(uuid4(), event)
    assert got is not None
    assert got.status is CostStatus.calculated
    assert got.source is PricingSource.global_catalog
    assert got.canonical_key == "openai/gpt-5.4-mini"


def test_seeded_usd_rate_converts_usd_costs(session: Session) -> None:
    rate = session.exec(select(FxRate).where(FxRate.currency == "USD")).one()
    event = ai_event(estimated_cost_usd=Decimal("1"), when=at(2026, 11))
    got = load_snapshot(session).resolve(uuid4(), event)
    assert got is not None
    assert got.cost_eur == rate.rate_to_eur
