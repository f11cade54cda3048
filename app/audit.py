"""Audit trail of operator and admin changes: who, when, what before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, index=True)
    actor: str = Field(max_length=320, description="Token id or 'cli'.")
    action: str = Field(max_length=100)
    workspace_id: UUID | None = Field(default=None, index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    workspace_id: UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor=actor, action=action, workspace_id=workspace_id, before=before, after=after
        )
    )
