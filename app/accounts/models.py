from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlmodel import Field, SQLModel

from app.accounts.sealing import SealedSecret
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

    The secret is kept retrievable because HMAC verification needs the key itself, sealed
    with SAAS_TRACKER_SECRET_KEY (`app.accounts.sealing`): the database holds only ciphertext.
    After a rotation the previous one stays valid until `previous_secret_expires_at`.
    """

    __tablename__ = "apps"

    uuid: UUID = Field(default_factory=new_id, primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", index=True)
    name: str = Field(max_length=200)
    api_secret: str = Field(sa_type=SealedSecret)
    previous_secret: str | None = Field(default=None, sa_type=SealedSecret)
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
    """A bearer token for the GraphQL API (an API key), stored only as its SHA-256 digest.

    A workspace key's `role` is its scope: `member` reads (scope READ), `admin` administers the
    workspace (scope ADMIN). An operator's key has the role `superuser` and no workspace.
    """

    __tablename__ = "api_tokens"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    role: Role
    workspace_id: UUID | None = Field(default=None, foreign_key="workspaces.id", index=True)
    superuser_id: UUID | None = Field(default=None, foreign_key="superusers.id")
    name: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    created_by_user_id: UUID | None = Field(default=None, foreign_key="users.id")
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class User(SQLModel, table=True):
    """A person who signs in with an e-mail address and a password (an Argon2id hash; none
    until they set one through their link)."""

    __tablename__ = "users"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    email: str = Field(unique=True, max_length=320, description="Lower-case.")
    password_hash: str | None = Field(default=None, max_length=255)
    password_changed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class Membership(SQLModel, table=True):
    """A user's role in a workspace: `admin` or `member`."""

    __tablename__ = "memberships"

    user_id: UUID = Field(foreign_key="users.id", primary_key=True)
    workspace_id: UUID = Field(foreign_key="workspaces.id", primary_key=True, index=True)
    role: Role
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class UserSession(SQLModel, table=True):
    """A signed-in browser or client: the digests of its session and CSRF tokens."""

    __tablename__ = "user_sessions"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    csrf_hash: str = Field(max_length=64)
    user_id: UUID = Field(foreign_key="users.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LinkPurpose(StrEnum):
    invitation = "invitation"
    set_password = "set_password"


class AccessLink(SQLModel, table=True):
    """A single-use, expiring link: an invitation into a workspace, or a link that sets a
    user's password (a new user's first one, or a reset). Only its token's digest is kept."""

    __tablename__ = "access_links"

    id: UUID = Field(default_factory=new_id, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    purpose: str = Field(max_length=20)
    email: str = Field(max_length=320)
    user_id: UUID | None = Field(default=None, foreign_key="users.id", index=True)
    workspace_id: UUID | None = Field(default=None, foreign_key="workspaces.id", index=True)
    role: Role | None = None
    created_by: str = Field(max_length=320)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    expires_at: datetime = Field(sa_type=UtcDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins of one e-mail address or one client address (keyed by a digest, so
    the table names no address) within a window, and until when sign-ins are refused."""

    __tablename__ = "login_throttles"

    key: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    window_started_at: datetime = Field(sa_type=UtcDateTime)
    locked_until: datetime | None = Field(default=None, sa_type=UtcDateTime)
