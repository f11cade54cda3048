"""The audit log for operators: keyset pages of entries newest first, with who each actor is
(as far as the tokens and users tables still tell)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlmodel import Session, col, or_, select

from app.accounts.models import ApiToken, Role, Superuser, User
from app.audit import AuditEntry

_TOKEN_ACTOR = "token:"
_USER_ACTOR = "user:"


def audit_entry(session: Session, entry_id: UUID) -> tuple[AuditEntry, Actor | None] | None:
    """One audit entry with who its actor is; None if there is none."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        return None
    return entry, _actors(session, {entry.actor}).get(entry.actor)


@dataclass(frozen=True, slots=True)
class AuditPosition:
    at: datetime
    id: UUID


@dataclass(frozen=True, slots=True)
class Actor:
    """Who an audit entry's actor string names, as far as the tokens table still tells."""

    role: Role | None
    email: str | None
    workspace_id: UUID | None


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    actors: dict[str, Actor]
    has_more: bool


def _actor_id(actor: str, prefix: str) -> UUID | None:
    if not actor.startswith(prefix):
        return None
    try:
        return UUID(actor.removeprefix(prefix))
    except ValueError:
        return None


def _token_id(actor: str) -> UUID | None:
    return _actor_id(actor, _TOKEN_ACTOR)


def _user_actors(session: Session, actors: set[str]) -> dict[str, Actor]:
    """One query for every person among a page's actors (their e-mail; their role depends on
    the workspace, so none)."""
    by_user = {user_id: actor for actor in actors if (user_id := _actor_id(actor, _USER_ACTOR))}
    if not by_user:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(list(by_user))))
    return {
        by_user[user.id]: Actor(role=None, email=user.email, workspace_id=None) for user in users
    }


def _actors(session: Session, actors: set[str]) -> dict[str, Actor]:
    """One query for every token actor of a page (an operator's token names its e-mail), one
    for every person."""
    found = _user_actors(session, actors)
    by_token = {token_id: actor for actor in actors if (token_id := _token_id(actor))}
    if not by_token:
        return found
    rows = session.exec(
        select(ApiToken, Superuser)
        .join(Superuser, col(ApiToken.superuser_id) == col(Superuser.id), isouter=True)
        .where(col(ApiToken.id).in_(list(by_token)))
    )
    return found | {
        by_token[token.id]: Actor(
            role=token.role,
            email=superuser.email if superuser is not None else None,
            workspace_id=token.workspace_id,
        )
        for token, superuser in rows
    }


def list_audit_entries(
    session: Session,
    *,
    limit: int,
    after: AuditPosition | None = None,
    action: str | None = None,
    workspace_id: UUID | None = None,
) -> AuditPage:
    """Audit entries newest first (ties by id), a keyset page of `limit`: one query for the
    entries, one for their actors."""
    query = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if workspace_id is not None:
        query = query.where(AuditEntry.workspace_id == workspace_id)
    if after is not None:
        query = query.where(
            or_(
                col(AuditEntry.at) < after.at,
                (col(AuditEntry.at) == after.at) & (col(AuditEntry.id) < after.id),
            )
        )
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).limit(limit + 1)
    rows = list(session.exec(query))
    entries = rows[:limit]
    return AuditPage(
        entries=entries,
        actors=_actors(session, {entry.actor for entry in entries}),
        has_more=len(rows) > limit,
    )
