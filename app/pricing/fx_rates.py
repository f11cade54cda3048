"""FX rate history for operators: every rate row of a currency, which one is in force."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session, col, select

from app.db import as_utc, utcnow
from app.pricing.models import FxRate


@dataclass(frozen=True, slots=True)
class FxRateView:
    currency: str
    valid_from: datetime
    rate_to_eur: Decimal
    in_force: bool


def list_fx_rates(session: Session, *, currency: str | None = None) -> list[FxRateView]:
    """Every FX rate row, by currency, newest first; `in_force` marks each currency's rate now."""
    query = select(FxRate).order_by(col(FxRate.currency), col(FxRate.valid_from).desc())
    if currency is not None:
        query = query.where(FxRate.currency == currency.strip().upper())
    now = utcnow()
    views: list[FxRateView] = []
    current: set[str] = set()
    for row in session.exec(query):
        valid_from = as_utc(row.valid_from)
        # Rows come newest first per currency: the first one already in force is the current.
        in_force = valid_from <= now and row.currency not in current
        if in_force:
            current.add(row.currency)
        views.append(FxRateView(row.currency, valid_from, row.rate_to_eur, in_force))
    return views


def fx_rate(session: Session, *, currency: str, valid_from: datetime) -> FxRateView | None:
    """The FX rate row of `currency` from exactly `valid_from`; None if there is none."""
    at = as_utc(valid_from)
    return next(
        (view for view in list_fx_rates(session, currency=currency) if view.valid_from == at),
        None,
    )
