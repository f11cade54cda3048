"""The relational side of organizations: each workspace's configured health model."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, utcnow


class HealthModelConfig(SQLModel, table=True):
    """A workspace's own health model; without a row the documented default applies."""

    __tablename__ = "health_model_configs"

    workspace_id: UUID = Field(foreign_key="workspaces.id", primary_key=True)
    # [{"signal", "weight", "good", "bad"}, …]: validated by `health.validate_model` on write.
    signals: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_by: str = Field(max_length=320)
