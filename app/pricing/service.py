"""Catalog, aliases, workspace prices and FX rates: used alike by the CLI and the GraphQL API.

Authorisation is the caller's (superuser for the catalog, aliases and FX rates; workspace admin
for its own prices); these functions validate, write, audit and bump the pricing version so
every process reloads its snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlmodel import Session, col, select

from app import audit, cache_versions
from app.accounts.models import Workspace
from app.db import as_utc, utcnow
from app.errors import BadUserInput, NotFound
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias, WorkspacePrice
from app.pricing.resolver import EUR, LOCAL_PREFIX

# Sanity bounds: prices are EUR per 1M tokens, stored as exact text of bounded length.
_MAX_PRICE = Decimal(1_000_000)
_MAX_DECIMALS = 12
# `BadUserInput.field` names the argument as the GraphQL API spells it (CONTRACT §7): every
# operation that takes a model key calls it `canonicalModelKey`.
CANONICAL_KEY_ARGUMENT = "canonicalModelKey"


@dataclass(frozen=True, slots=True)
class PriceView:
    canonical_key: str
    valid_from: datetime
    input_per_million_eur: Decimal
    output_per_million_eur: Decimal
    cached_input_per_million_eur: Decimal | None

    def as_audit(self) -> dict[str, Any]:
        return {
            "canonical_key": self.canonical_key,
            "valid_from": self.valid_from.isoformat(),
            "input_per_million_eur": str(self.input_per_million_eur),
            "output_per_million_eur": str(self.output_per_million_eur),
            "cached_input_per_million_eur": _opt_str(self.cached_input_per_million_eur),
        }


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """A catalog model, the price in force now (None if none yet) and the strings aliased to it."""

    canonical_key: str
    provider: str
    model: str
    price: PriceView | None
    aliases: tuple[tuple[str, str], ...]


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _view(row: CatalogPrice | WorkspacePrice) -> PriceView:
    return PriceView(
        canonical_key=row.canonical_key,
        valid_from=as_utc(row.valid_from),
        input_per_million_eur=row.input_per_million_eur,
        output_per_million_eur=row.output_per_million_eur,
        cached_input_per_million_eur=row.cached_input_per_million_eur,
    )


def _in_force(rows: Iterable[CatalogPrice | WorkspacePrice], at: datetime) -> dict[str, PriceView]:
    """The latest row per key whose valid-from is not after `at`."""
    current: dict[str, PriceView] = {}
    for row in rows:
        view = _view(row)
        if view.valid_from > at:
            continue
        known = current.get(view.canonical_key)
        if known is None or view.valid_from > known.valid_from:
            current[view.canonical_key] = view
    return current


def _price(name: str, value: Decimal | None, *, optional: bool = False) -> Decimal | None:
    if value is None:
        if optional:
            return None
        raise BadUserInput(f"'{name}' is required.", field=name)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise BadUserInput(f"'{name}' must be a decimal number.", field=name)
    if value < 0:
        raise BadUserInput(f"'{name}' cannot be negative.", field=name)
    if value >= _MAX_PRICE:
        raise BadUserInput(f"'{name}' must be below {_MAX_PRICE} EUR per 1M tokens.", field=name)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > _MAX_DECIMALS:
        raise BadUserInput(f"'{name}' has more than {_MAX_DECIMALS} decimals.", field=name)
    return value


def _required_price(name: str, value: Decimal) -> Decimal:
    checked = _price(name, value)
    assert checked is not None  # _price refuses None unless optional
    return checked


def _text(name: str, value: str, max_length: int) -> str:
    if not value or not value.strip():
        raise BadUserInput(f"'{name}' cannot be empty.", field=name)
    if len(value) > max_length:
        raise BadUserInput(f"'{name}' is longer than {max_length} characters.", field=name)
    return value


def _priceable_key(session: Session, canonical_key: str) -> str:
    """A key prices can apply to: a catalog key, or a `local:` model string."""
    _text(CANONICAL_KEY_ARGUMENT, canonical_key, 200)
    if canonical_key.startswith(LOCAL_PREFIX):
        return canonical_key
    if session.get(CatalogModel, canonical_key) is not None:
        return canonical_key
    raise BadUserInput(
        f"Unknown model key '{canonical_key}': use a catalog key or a 'local:' model.",
        field=CANONICAL_KEY_ARGUMENT,
    )


def _catalog_key(session: Session, canonical_key: str) -> CatalogModel:
    model = session.get(CatalogModel, canonical_key)
    if model is None:
        raise BadUserInput(f"Unknown catalog key '{canonical_key}'.", field=CANONICAL_KEY_ARGUMENT)
    return model


def list_catalog(session: Session) -> list[CatalogEntry]:
    now = utcnow()
    prices = _in_force(session.exec(select(CatalogPrice)), now)
    aliases: dict[str, list[tuple[str, str]]] = {}
    for alias in session.exec(
        select(ModelAlias).order_by(col(ModelAlias.provider), col(ModelAlias.model))
    ):
        aliases.setdefault(alias.canonical_key, []).append((alias.provider, alias.model))
    models = session.exec(select(CatalogModel).order_by(col(CatalogModel.canonical_key)))
    return [
        CatalogEntry(
            canonical_key=m.canonical_key,
            provider=m.provider,
            model=m.model,
            price=prices.get(m.canonical_key),
            aliases=tuple(aliases.get(m.canonical_key, ())),
        )
        for m in models
    ]


def catalog_entry(session: Session, canonical_key: str) -> CatalogEntry | None:
    """One catalog model as `list_catalog` shows it; None for an unknown key."""
    if session.get(CatalogModel, canonical_key) is None:
        return None
    return next(e for e in list_catalog(session) if e.canonical_key == canonical_key)


def catalog_price(
    session: Session, *, canonical_key: str, valid_from: datetime
) -> PriceView | None:
    """The global price row of a model from exactly `valid_from`; None if there is none."""
    rows = session.exec(select(CatalogPrice).where(CatalogPrice.canonical_key == canonical_key))
    at = as_utc(valid_from)
    return next((_view(row) for row in rows if as_utc(row.valid_from) == at), None)


def create_catalog_model(
    session: Session, *, actor: str, provider: str, model: str, canonical_key: str | None = None
) -> CatalogModel:
    """Add a model to the global catalog (priced with `set_catalog_price`)."""
    _text("provider", provider, 100)
    _text("model", model, 200)
    key = canonical_key or f"{provider}/{model}"
    _text(CANONICAL_KEY_ARGUMENT, key, 200)
    if key.startswith(LOCAL_PREFIX):
        raise BadUserInput(
            "'local:' models are priced per workspace, not in the catalog.",
            field=CANONICAL_KEY_ARGUMENT,
        )
    if session.get(CatalogModel, key) is not None:
        raise BadUserInput(f"The catalog already has '{key}'.", field=CANONICAL_KEY_ARGUMENT)
    if _mapping_of(session, provider, model) is not None:
        raise BadUserInput(f"'{provider}' / '{model}' is already mapped.", field="model")
    row = CatalogModel(canonical_key=key, provider=provider, model=model)
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="catalog.create_model",
        after={"canonical_key": key, "provider": provider, "model": model},
    )
    cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return row


def set_catalog_price(
    session: Session,
    *,
    actor: str,
    canonical_key: str,
    valid_from: datetime,
    input_per_million_eur: Decimal,
    output_per_million_eur: Decimal,
    cached_input_per_million_eur: Decimal | None = None,
) -> PriceView:
    """Set the global price of a catalog model from `valid_from` on (superuser).

    A row with the same valid-from is corrected in place; otherwise the history gains a row.
    """
    _catalog_key(session, canonical_key)
    input_price = _required_price("inputPerMillionEur", input_per_million_eur)
    output_price = _required_price("outputPerMillionEur", output_per_million_eur)
    cached_price = _price("cachedInputPerMillionEur", cached_input_per_million_eur, optional=True)
    valid_from = as_utc(valid_from)

    history = list(
        session.exec(select(CatalogPrice).where(CatalogPrice.canonical_key == canonical_key))
    )
    before = _in_force(history, valid_from).get(canonical_key)
    row = next((r for r in history if as_utc(r.valid_from) == valid_from), None)
    if row is None:
        row = CatalogPrice(
            canonical_key=canonical_key,
            valid_from=valid_from,
            input_per_million_eur=input_price,
            output_per_million_eur=output_price,
        )
    row.input_per_million_eur = input_price
    row.output_per_million_eur = output_price
    row.cached_input_per_million_eur = cached_price
    session.add(row)
    after = _view(row)
    audit.record(
        session,
        actor=actor,
        action="catalog.set_price",
        before=before.as_audit() if before else None,
        after=after.as_audit(),
    )
    cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return after


def _mapping_of(session: Session, provider: str, model: str) -> str | None:
    """The key a (provider, model) string maps to already, exactly or through an alias."""
    exact = session.exec(
        select(CatalogModel).where(CatalogModel.provider == provider, CatalogModel.model == model)
    ).first()
    if exact is not None:
        return exact.canonical_key
    alias = session.exec(
        select(ModelAlias).where(ModelAlias.provider == provider, ModelAlias.model == model)
    ).first()
    return alias.canonical_key if alias else None


def create_model_alias(
    session: Session, *, actor: str, provider: str, model: str, canonical_key: str
) -> ModelAlias:
    """Map another (provider, model) string to a catalog key (superuser). Events already stored
    keep their resolution: history is not backfilled."""
    _text("provider", provider, 100)
    _text("model", model, 200)
    _priceable_key(session, canonical_key)
    existing = _mapping_of(session, provider, model)
    if existing is not None:
        raise BadUserInput(f"'{provider}' / '{model}' already maps to '{existing}'.", field="model")
    alias = ModelAlias(provider=provider, model=model, canonical_key=canonical_key)
    session.add(alias)
    audit.record(
        session,
        actor=actor,
        action="catalog.create_alias",
        after={"provider": provider, "model": model, "canonical_key": canonical_key},
    )
    cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return alias


def _workspace(session: Session, workspace_id: UUID) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("Unknown workspace.")
    return workspace


def list_customer_prices(session: Session, *, workspace_id: UUID) -> list[PriceView]:
    """The workspace's own price in force now, per model key."""
    rows = session.exec(select(WorkspacePrice).where(WorkspacePrice.workspace_id == workspace_id))
    current = _in_force(rows, utcnow())
    return [current[key] for key in sorted(current)]


def customer_price(session: Session, *, workspace_id: UUID, canonical_key: str) -> PriceView | None:
    """The workspace's own price of a model in force now; None when it has none."""
    rows = session.exec(
        select(WorkspacePrice).where(
            WorkspacePrice.workspace_id == workspace_id,
            WorkspacePrice.canonical_key == canonical_key,
        )
    )
    return _in_force(rows, utcnow()).get(canonical_key)


def model_alias(session: Session, *, provider: str, model: str) -> ModelAlias | None:
    """The alias of a (provider, model) string; None when it has none."""
    return session.exec(
        select(ModelAlias).where(ModelAlias.provider == provider, ModelAlias.model == model)
    ).first()


def set_customer_price(
    session: Session,
    *,
    actor: str,
    workspace_id: UUID,
    canonical_key: str,
    input_per_million_eur: Decimal,
    output_per_million_eur: Decimal,
    cached_input_per_million_eur: Decimal | None = None,
) -> PriceView:
    """The workspace's own unit price for a model, in force from now on (history is kept so
    that stored costs stay explainable)."""
    _workspace(session, workspace_id)
    _priceable_key(session, canonical_key)
    input_price = _required_price("inputPerMillionEur", input_per_million_eur)
    output_price = _required_price("outputPerMillionEur", output_per_million_eur)
    cached_price = _price("cachedInputPerMillionEur", cached_input_per_million_eur, optional=True)

    now = utcnow()
    history = session.exec(
        select(WorkspacePrice).where(
            WorkspacePrice.workspace_id == workspace_id,
            WorkspacePrice.canonical_key == canonical_key,
        )
    )
    before = _in_force(history, now).get(canonical_key)
    row = WorkspacePrice(
        workspace_id=workspace_id,
        canonical_key=canonical_key,
        valid_from=now,
        input_per_million_eur=input_price,
        output_per_million_eur=output_price,
        cached_input_per_million_eur=cached_price,
    )
    session.add(row)
    after = _view(row)
    audit.record(
        session,
        actor=actor,
        action="pricing.set_customer_price",
        workspace_id=workspace_id,
        before=before.as_audit() if before else None,
        after=after.as_audit(),
    )
    cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return after


def set_fx_rate(
    session: Session, *, actor: str, currency: str, valid_from: datetime, rate_to_eur: Decimal
) -> FxRate:
    """The EUR value of one unit of `currency` from `valid_from` on (superuser)."""
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise BadUserInput("'currency' must be a 3-letter ISO 4217 code.", field="currency")
    if code == EUR:
        raise BadUserInput("EUR is the reference currency: its rate is always 1.", field="currency")
    if not isinstance(rate_to_eur, Decimal) or not rate_to_eur.is_finite() or rate_to_eur <= 0:
        raise BadUserInput("'rateToEur' must be a positive decimal number.", field="rateToEur")
    valid_from = as_utc(valid_from)
    history = session.exec(select(FxRate).where(FxRate.currency == code))
    row = next((r for r in history if as_utc(r.valid_from) == valid_from), None)
    before = None
    if row is None:
        row = FxRate(currency=code, valid_from=valid_from, rate_to_eur=rate_to_eur)
    else:
        before = _fx_audit(row)
        row.rate_to_eur = rate_to_eur
    session.add(row)
    audit.record(
        session, actor=actor, action="pricing.set_fx_rate", before=before, after=_fx_audit(row)
    )
    cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return row


def _fx_audit(row: FxRate) -> dict[str, Any]:
    return {
        "currency": row.currency,
        "valid_from": as_utc(row.valid_from).isoformat(),
        "rate_to_eur": str(row.rate_to_eur),
    }
