from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import ExactDecimal, UtcDateTime, new_id, utcnow


class CatalogModel(SQLModel, table=True):
    """A model of the global catalog: the exact (provider, model) string maps to its key."""

    __tablename__ = "catalog_models"
    __table_args__ = (UniqueConstraint("provider", "model"),)

    canonical_key: str = Field(primary_key=True, max_length=200)
    provider: str = Field(max_length=100)
    model: str = Field(max_length=200)


class CatalogPrice(SQLModel, table=True):
    """Global unit prices of a model from `valid_from` on (EUR per 1M tokens)."""

    __tablename__ = "catalog_prices"
    __table_args__ = (UniqueConstraint("canonical_key", "valid_from"),)

    id: UUID = Field(default_factory=new_id, primary_key=True)
    canonical_key: str = Field(foreign_key="catalog_models.canonical_key", max_length=200)
    valid_from: datetime = Field(sa_type=UtcDateTime)
    input_per_million_eur: Decimal = Field(sa_type=ExactDecimal)
    output_per_million_eur: Decimal = Field(sa_type=ExactDecimal)
    cached_input_per_million_eur: Decimal | None = Field(default=None, sa_type=ExactDecimal)


class ModelAlias(SQLModel, table=True):
    """Maps another (provider, model) string to a catalog key; applies to new events only."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("provider", "model"),)

    id: UUID = Field(default_factory=new_id, primary_key=True)
    provider: str = Field(max_length=100)
    model: str = Field(max_length=200)
    canonical_key: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class WorkspacePrice(SQLModel, table=True):
    """A workspace's own unit price for a model key, in force from `valid_from` (history kept)."""

    __tablename__ = "workspace_prices"
    __table_args__ = (UniqueConstraint("workspace_id", "canonical_key", "valid_from"),)

    id: UUID = Field(default_factory=new_id, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", index=True)
    canonical_key: str = Field(max_length=200)
    valid_from: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    input_per_million_eur: Decimal = Field(sa_type=ExactDecimal)
    output_per_million_eur: Decimal = Field(sa_type=ExactDecimal)
    cached_input_per_million_eur: Decimal | None = Field(default=None, sa_type=ExactDecimal)


class FxRate(SQLModel, table=True):
    """EUR value of one unit of `currency`, in force from `valid_from`."""

    __tablename__ = "fx_rates"
    __table_args__ = (UniqueConstraint("currency", "valid_from"),)

    id: UUID = Field(default_factory=new_id, primary_key=True)
    currency: str = Field(max_length=3)
    valid_from: datetime = Field(sa_type=UtcDateTime)
    rate_to_eur: Decimal = Field(sa_type=ExactDecimal)
