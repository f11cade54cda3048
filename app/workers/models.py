from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class DeadLetter(SQLModel, table=True):
    """An event ClickHouse refused on its own: parked here so the others are not blocked.

    The row is kept exactly as it was queued (already stripped of private content) so that an
    operator can fix the cause and replay it.
    """

    __tablename__ = "dead_letters"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    app_id: str = Field(max_length=36, index=True)
    event_id: str = Field(max_length=200)
    error: str = Field(max_length=1000)
    row: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
