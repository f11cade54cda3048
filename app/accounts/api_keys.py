"""API keys of a workspace, for integrators: created by its admins, shown once, revocable.

A key is an `ApiToken` row (stored as a SHA-256 digest, like the tokens `admin
create-workspace` prints, which are keys of scope ADMIN). Its scope is its role: READ is
`member` (every query, no mutation), ADMIN is `admin` (the workspace's admin).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlmodel import Session, col, select

from app import audit
from app.accounts.models import ApiToken, Role, User
from app.accounts.service import issue_token
from app.db import as_utc, utcnow
from app.errors import BadUserInput, NotFound

_MAX_NAME = 200


class Scope(StrEnum):
    read = "read"
    admin = "admin"

    @property
    def role(self) -> Role:
        return Role.member if self is Scope.read else Role.admin

    @classmethod
    def of(cls, role: Role) -> Scope:
        return cls.read if role is Role.member else cls.admin


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    id: UUID
    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    created_by_email: str | None

    @classmethod
    def of(cls, row: ApiToken, creator: User | None) -> ApiKeyView:
        def utc(value: datetime | None) -> datetime | None:
            return None if value is None else as_utc(value)

        return cls(
            id=row.id,
            name=row.name,
            scope=Scope.of(row.role),
            created_at=as_utc(row.created_at),
            last_used_at=utc(row.last_used_at),
            expires_at=utc(row.expires_at),
            revoked_at=utc(row.revoked_at),
            created_by_email=creator.email if creator is not None else None,
        )


def list_api_keys(session: Session, workspace_id: UUID) -> list[ApiKeyView]:
    """The workspace's keys, oldest first, revoked and expired ones included."""
    rows = session.exec(
        select(ApiToken, User)
        .outerjoin(User, col(ApiToken.created_by_user_id) == col(User.id))
        .where(ApiToken.workspace_id == workspace_id)
        .order_by(col(ApiToken.created_at), col(ApiToken.id))
    ).all()
    return [ApiKeyView.of(row, creator) for row, creator in rows]


def create_api_key(
    session: Session,
    *,
    workspace_id: UUID,
    name: str,
    scope: Scope,
    expires_at: datetime | None,
    actor: str,
    created_by_user_id: UUID | None,
) -> tuple[ApiKeyView, str]:
    """A new key (returned once, stored as a digest) and its view."""
    name = name.strip()
    if not name or len(name) > _MAX_NAME:
        raise BadUserInput(f"A key needs a name of 1 to {_MAX_NAME} characters.", field="name")
    if expires_at is not None and as_utc(expires_at) <= utcnow():
        raise BadUserInput("A key's expiry must be in the future.", field="expiresAt")
    row, key = issue_token(
        session,
        role=scope.role,
        workspace_id=workspace_id,
        superuser_id=None,
        name=name,
        created_by_user_id=created_by_user_id,
        expires_at=None if expires_at is None else as_utc(expires_at),
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_key.create",
        workspace_id=workspace_id,
        after={
            "id": str(row.id),
            "name": name,
            "scope": scope.value,
            "expires_at": None if row.expires_at is None else as_utc(row.expires_at).isoformat(),
        },
    )
    creator = None if created_by_user_id is None else session.get(User, created_by_user_id)
    return ApiKeyView.of(row, creator), key


def revoke_api_key(session: Session, *, workspace_id: UUID, key_id: UUID, actor: str) -> ApiKeyView:
    """Revoke a key of the workspace (it stops authenticating at once); revoking a revoked
    key changes nothing. `NotFound` for another workspace's key."""
    row = session.get(ApiToken, key_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("Unknown API key.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        audit.record(
            session,
            actor=actor,
            action="api_key.revoke",
            workspace_id=workspace_id,
            before={"id": str(row.id), "name": row.name, "scope": Scope.of(row.role).value},
        )
    creator = None if row.created_by_user_id is None else session.get(User, row.created_by_user_id)
    return ApiKeyView.of(row, creator)
