"""Pricing administration on SQLite and PostgreSQL: validation, history, audit, version bumps."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from sqlmodel import Session, col, select

from app import cache_versions
from app.accounts.service import create_workspace
from app.audit import AuditEntry
from app.errors import BadUserInput, NotFound
from app.pricing import service
from app.pricing.models import CatalogPrice, FxRate, WorkspacePrice
from tests.pricing.builders import at

pytestmark = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)

MINI = "openai/gpt-5.4-mini"
ACTOR = "token:test"


@pytest.fixture
def workspace_id(session: Session) -> UUID:
    workspace, _ = create_workspace(session, name="Acme", plan_key="growth")
    return workspace.id


def _version(session: Session) -> int:
    return cache_versions.read_all(session).get(cache_versions.PRICING, 0)


def _audit(session: Session, action: str) -> list[AuditEntry]:
    return list(
        session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(col(AuditEntry.at))
        )
    )


def _set_customer(
    session: Session,
    workspace_id: UUID,
    *,
    canonical_key: str = MINI,
    input_per_million_eur: Decimal = Decimal("0.5"),
    output_per_million_eur: Decimal = Decimal("2"),
    cached_input_per_million_eur: Decimal | None = None,
) -> service.PriceView:
    return service.set_customer_price(
        session,
        actor=ACTOR,
        workspace_id=workspace_id,
        canonical_key=canonical_key,
        input_per_million_eur=input_per_million_eur,
        output_per_million_eur=output_per_million_eur,
        cached_input_per_million_eur=cached_input_per_million_eur,
    )


def test_customer_price_is_listed_as_the_current_price(
    session: Session, workspace_id: UUID
) -> None:
    _set_customer(session, workspace_id, cached_input_per_million_eur=Decimal("0.05"))
    [price] = service.list_customer_prices(session, workspace_id=workspace_id)
    assert (price.canonical_key, price.input_per_million_eur, price.output_per_million_eur) == (
        MINI,
        Decimal("0.5"),
        Decimal("2"),
    )
    assert price.cached_input_per_million_eur == Decimal("0.05")


def test_changing_a_customer_price_keeps_its_history(session: Session, workspace_id: UUID) -> None:
    _set_customer(session, workspace_id)
    _set_customer(session, workspace_id, input_per_million_eur=Decimal("0.4"))
    rows = session.exec(select(WorkspacePrice).where(WorkspacePrice.workspace_id == workspace_id))
    assert sorted(r.input_per_million_eur for r in rows) == [Decimal("0.4"), Decimal("0.5")]
    [current] = service.list_customer_prices(session, workspace_id=workspace_id)
    assert current.input_per_million_eur == Decimal("0.4")


def test_customer_price_change_is_audited_with_before_and_after(
    session: Session, workspace_id: UUID
) -> None:
    _set_customer(session, workspace_id)
    _set_customer(session, workspace_id, input_per_million_eur=Decimal("0.4"))
    first, second = _audit(session, "pricing.set_customer_price")
    assert first.before is None
    assert second.workspace_id == workspace_id
    assert second.actor == ACTOR
    assert second.before is not None and second.before["input_per_million_eur"] == "0.5"
    assert second.after is not None and second.after["input_per_million_eur"] == "0.4"


def test_customer_price_for_a_local_model_is_accepted(session: Session, workspace_id: UUID) -> None:
    price = _set_customer(session, workspace_id, canonical_key="local:llama3")
    assert price.canonical_key == "local:llama3"


def test_negative_customer_price_is_refused(session: Session, workspace_id: UUID) -> None:
    with pytest.raises(BadUserInput) as error:
        _set_customer(session, workspace_id, output_per_million_eur=Decimal("-1"))
    assert error.value.details == {"field": "outputPerMillionEur"}


def test_negative_cached_customer_price_is_refused(session: Session, workspace_id: UUID) -> None:
    with pytest.raises(BadUserInput):
        _set_customer(session, workspace_id, cached_input_per_million_eur=Decimal("-0.01"))


def test_non_finite_customer_price_is_refused(session: Session, workspace_id: UUID) -> None:
    with pytest.raises(BadUserInput):
        _set_customer(session, workspace_id, input_per_million_eur=Decimal("NaN"))


def test_customer_price_for_an_unknown_key_is_refused(session: Session, workspace_id: UUID) -> None:
    with pytest.raises(BadUserInput):
        _set_customer(session, workspace_id, canonical_key="openai/gpt-nonexistent")


def test_customer_price_for_an_unknown_workspace_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        _set_customer(session, uuid4())


def test_every_pricing_change_bumps_the_pricing_version(
    session: Session, workspace_id: UUID
) -> None:
    start = _version(session)
    _set_customer(session, workspace_id)
    service.create_model_alias(
        session, actor=ACTOR, provider="openai", model="gpt-5.4-mini-2026", canonical_key=MINI
    )
    service.set_catalog_price(
        session,
        actor=ACTOR,
        canonical_key=MINI,
        valid_from=at(2026, 6),
        input_per_million_eur=Decimal("0.6"),
        output_per_million_eur=Decimal("3.6"),
    )
    service.set_fx_rate(
        session, actor=ACTOR, currency="GBP", valid_from=at(2026), rate_to_eur=Decimal("1.15")
    )
    assert _version(session) == start + 4


def test_alias_to_a_catalog_key_is_listed_with_its_model(session: Session) -> None:
    service.create_model_alias(
        session, actor=ACTOR, provider="openai", model="gpt-5.4-mini-2026", canonical_key=MINI
    )
    entry = next(e for e in service.list_catalog(session) if e.canonical_key == MINI)
    assert ("openai", "gpt-5.4-mini-2026") in entry.aliases
    [audit] = _audit(session, "catalog.create_alias")
    assert audit.after == {
        "provider": "openai",
        "model": "gpt-5.4-mini-2026",
        "canonical_key": MINI,
    }


def test_alias_to_a_local_key_is_accepted(session: Session) -> None:
    alias = service.create_model_alias(
        session, actor=ACTOR, provider="ollama", model="llama3", canonical_key="local:llama3"
    )
    assert alias.canonical_key == "local:llama3"


def test_alias_to_an_unknown_key_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.create_model_alias(
            session, actor=ACTOR, provider="acme", model="brainy-1", canonical_key="acme/brainy"
        )


def test_duplicate_alias_is_refused(session: Session) -> None:
    service.create_model_alias(
        session, actor=ACTOR, provider="acme", model="brainy-1", canonical_key=MINI
    )
    with pytest.raises(BadUserInput):
        service.create_model_alias(
            session, actor=ACTOR, provider="acme", model="brainy-1", canonical_key=MINI
        )


def test_alias_of_a_catalog_model_string_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.create_model_alias(
            session,
            actor=ACTOR,
            provider="openai",
            model="gpt-5.4-mini",
            canonical_key="anthropic/claude-sonnet-4-6",
        )


def test_empty_alias_model_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.create_model_alias(
            session, actor=ACTOR, provider="acme", model=" ", canonical_key=MINI
        )


def test_catalog_price_from_a_new_date_adds_a_history_row(session: Session) -> None:
    service.set_catalog_price(
        session,
        actor=ACTOR,
        canonical_key=MINI,
        valid_from=at(2026, 6),
        input_per_million_eur=Decimal("0.6"),
        output_per_million_eur=Decimal("3.6"),
        cached_input_per_million_eur=Decimal("0.06"),
    )
    rows = session.exec(select(CatalogPrice).where(CatalogPrice.canonical_key == MINI)).all()
    assert len(rows) == 2
    entry = next(e for e in service.list_catalog(session) if e.canonical_key == MINI)
    assert entry.price is not None
    assert entry.price.valid_from == at(2026, 6)
    assert entry.price.input_per_million_eur == Decimal("0.6")
    [audit] = _audit(session, "catalog.set_price")
    assert audit.before is not None and audit.before["valid_from"] == "2024-01-01T00:00:00+00:00"
    assert audit.after is not None and audit.after["cached_input_per_million_eur"] == "0.06"


def test_catalog_price_at_an_existing_date_corrects_that_row(session: Session) -> None:
    service.set_catalog_price(
        session,
        actor=ACTOR,
        canonical_key=MINI,
        valid_from=at(2024),
        input_per_million_eur=Decimal("0.7"),
        output_per_million_eur=Decimal("4"),
    )
    [row] = session.exec(select(CatalogPrice).where(CatalogPrice.canonical_key == MINI)).all()
    assert (row.input_per_million_eur, row.cached_input_per_million_eur) == (Decimal("0.7"), None)
    [audit] = _audit(session, "catalog.set_price")
    assert audit.before is not None and audit.after is not None
    assert (audit.before["input_per_million_eur"], audit.after["input_per_million_eur"]) == (
        "0.645",
        "0.7",
    )


def test_catalog_price_of_an_unknown_key_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.set_catalog_price(
            session,
            actor=ACTOR,
            canonical_key="openai/gpt-nonexistent",
            valid_from=at(2026),
            input_per_million_eur=Decimal("1"),
            output_per_million_eur=Decimal("1"),
        )


def test_catalog_price_with_too_many_decimals_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.set_catalog_price(
            session,
            actor=ACTOR,
            canonical_key=MINI,
            valid_from=at(2026),
            input_per_million_eur=Decimal("0.0000000000001"),
            output_per_million_eur=Decimal("1"),
        )


def test_new_catalog_model_can_be_priced(session: Session) -> None:
    service.create_catalog_model(session, actor=ACTOR, provider="acme", model="brainy-1")
    service.set_catalog_price(
        session,
        actor=ACTOR,
        canonical_key="acme/brainy-1",
        valid_from=at(2026),
        input_per_million_eur=Decimal("1"),
        output_per_million_eur=Decimal("2"),
    )
    entry = next(e for e in service.list_catalog(session) if e.canonical_key == "acme/brainy-1")
    assert entry.price is not None and entry.price.output_per_million_eur == Decimal("2")


def test_catalog_model_for_an_already_mapped_string_is_refused(session: Session) -> None:
    with pytest.raises(BadUserInput):
        service.create_catalog_model(
            session, actor=ACTOR, provider="openai", model="gpt-5.4-mini", canonical_key="x/y"
        )


def test_fx_rate_is_stored_with_an_upper_case_currency(session: Session) -> None:
    service.set_fx_rate(
        session, actor=ACTOR, currency="gbp", valid_from=at(2026), rate_to_eur=Decimal("1.15")
    )
    row = session.exec(select(FxRate).where(FxRate.currency == "GBP")).one()
    assert row.rate_to_eur == Decimal("1.15")


def test_fx_rate_at_an_existing_date_is_corrected_and_audited(session: Session) -> None:
    service.set_fx_rate(
        session, actor=ACTOR, currency="USD", valid_from=at(2024), rate_to_eur=Decimal("0.9")
    )
    [row] = session.exec(select(FxRate).where(FxRate.currency == "USD")).all()
    assert row.rate_to_eur == Decimal("0.9")
    [audit] = _audit(session, "pricing.set_fx_rate")
    assert audit.before is not None and audit.before["rate_to_eur"] == "0.86"


@pytest.mark.parametrize(
    ("currency", "rate"),
    [("US", "1"), ("EUR", "1"), ("US1", "1"), ("USD", "0"), ("USD", "-1"), ("USD", "Infinity")],
)
def test_invalid_fx_rate_is_refused(session: Session, currency: str, rate: str) -> None:
    with pytest.raises(BadUserInput):
        service.set_fx_rate(
            session, actor=ACTOR, currency=currency, valid_from=at(2026), rate_to_eur=Decimal(rate)
        )
