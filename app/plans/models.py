from __future__ import annotations

from decimal import Decimal

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import ExactDecimal


class Plan(SQLModel, table=True):
    """A commercial plan (CONTRACT §5): seeded by a migration, editable by operators."""

    __tablename__ = "plans"

    key: str = Field(primary_key=True, max_length=32)
    name: str
    rank: int = Field(description="Order of plans: a feature available at rank r is in all above.")
    price_eur_month: Decimal | None = Field(default=None, sa_type=ExactDecimal)
    apps_max: int
    events_monthly_limit: int
    retention_days: int
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
