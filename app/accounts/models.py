from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlmodel import Field, SQLModel

from app.db import UtcDateTime, new_id, utcnow


class Role(StrEnum):
    member = "member"
    admin = "admin"
    superuser = "superuser"


class Workspace(SQLModel, table=True):
    """A customer of SaaS Tracker; its subscription may override each plan limit."""

    __tablename__ = "workspaces"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    plan_key: str = Field(foreign_key="plans.key", max_length=32)
    override_apps_max: int | None = None
    override_events_monthly_limit: int | None = None
    override_retention_days: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class App(SQLModel, table=True):
    """An integrator's application: its UUID and HMAC secret sign ingest requests.

    The secret is kept retrievable because HMAC verification needs the key itself; after a
    rotation the previous one stays valid until `previous_secret_expires_at`.
    """

    __tablename__ = "apps"

    uuid: UUID = Field(default_factory=new_id, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", index=True)
    name: str = Field(max_length=200)
    api_secret: str = Field(max_length=128)
    previous_secret: str | None = Field(default=None, max_length=128)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Superuser(SQLModel, table=True):
    """An operator of this SaaS Tracker installation."""

    __tablename__ = "superusers"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(unique=True, max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ApiToken(SQLModel, table=True):
    """A bearer token for the GraphQL API, stored only as its SHA-256 digest."""

    __tablename__ = "api_tokens"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    role: Role
    workspace_id: UUID | None = Field(default=None, foreign_key="workspaces.id", index=True)
    superuser_id: UUID | None = Field(default=None, foreign_key="superusers.id")
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
