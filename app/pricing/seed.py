"""Seeds the global model catalog, its aliases and FX rates from the reviewed `catalog.json`.

Only what is missing is inserted: a price an operator changed (same key and valid-from) or a
model string already mapped elsewhere is left as the operator made it.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from app import cache_versions
from app.db import as_utc
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias

CATALOG_FILE = Path(__file__).with_name("catalog.json")


def load_catalog_file(path: Path = CATALOG_FILE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _when(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def _money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def seed_catalog(session: Session, path: Path = CATALOG_FILE) -> int:
    """Insert the missing catalog models, prices, aliases and FX rates; return how many rows."""
    data = load_catalog_file(path)
    models = {m.canonical_key: m for m in session.exec(select(CatalogModel))}
    # Every (provider, model) string that already maps somewhere, whichever way.
    mapped = {(m.provider, m.model) for m in models.values()}
    mapped |= {(a.provider, a.model) for a in session.exec(select(ModelAlias))}
    prices = {(p.canonical_key, p.valid_from) for p in session.exec(select(CatalogPrice))}
    rates = {(r.currency, r.valid_from) for r in session.exec(select(FxRate))}

    added = 0
    new_prices: list[CatalogPrice] = []
    new_aliases: list[ModelAlias] = []
    for entry in data["models"]:
        key, pair = entry["canonical_key"], (entry["provider"], entry["model"])
        if key not in models:
            if pair in mapped:
                continue  # the operator mapped this string to another key: theirs wins
            model = CatalogModel(canonical_key=key, provider=pair[0], model=pair[1])
            session.add(model)
            models[key] = model
            mapped.add(pair)
            added += 1
        for price in entry["prices"]:
            valid_from = _when(price["valid_from"])
            if (key, valid_from) in prices:
                continue
            prices.add((key, valid_from))
            new_prices.append(
                CatalogPrice(
                    canonical_key=key,
                    valid_from=valid_from,
                    input_per_million_eur=Decimal(price["input_per_million_eur"]),
                    output_per_million_eur=Decimal(price["output_per_million_eur"]),
                    cached_input_per_million_eur=_money(price["cached_input_per_million_eur"]),
                )
            )
        for alias in entry.get("aliases", []):
            alias_pair = (entry["provider"], alias)
            if alias_pair in mapped:
                continue
            mapped.add(alias_pair)
            new_aliases.append(ModelAlias(provider=alias_pair[0], model=alias, canonical_key=key))

    # Prices reference their model: the models must reach the database first.
    session.flush()
    session.add_all(new_prices)
    session.add_all(new_aliases)
    added += len(new_prices) + len(new_aliases)

    for rate in data.get("fx_rates", []):
        currency, valid_from = rate["currency"].upper(), _when(rate["valid_from"])
        if (currency, valid_from) in rates:
            continue
        rates.add((currency, valid_from))
        session.add(
            FxRate(
                currency=currency, valid_from=valid_from, rate_to_eur=Decimal(rate["rate_to_eur"])
            )
        )
        added += 1

    if added:
        # Running processes must notice the new prices.
        cache_versions.bump(session, cache_versions.PRICING)
    session.flush()
    return added
