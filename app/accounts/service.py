"""Workspaces, apps and tokens, and who a request's credential is: used alike by the CLI and
the GraphQL API. People (users, sessions, links) are `app.accounts.people`; API keys'
lifecycle `app.accounts.api_keys`."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import cache_versions
from app.accounts.models import (
    ApiToken,
    App,
    Membership,
    Role,
    Superuser,
    User,
    UserSession,
    Workspace,
)
from app.db import as_utc, utcnow
from app.errors import BadUserInput, Forbidden, LimitReached, NotFound, Unauthenticated
from app.plans.service import get_plan, limits_for

TOKEN_PREFIX = "st_"
# Session tokens (app.accounts.people) have a prefix of their own: one lookup per request.
SESSION_PREFIX = "sts_"
# `last_used_at` of a key or session is written at most this often: not one write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
UNKNOWN_TOKEN = "Unknown or revoked token."
ENDED_SESSION = "The session has expired or ended: sign in again."


class Credential(StrEnum):
    api_key = "api_key"
    session = "session"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a workspace API key (scope READ: role member; ADMIN: role admin), an
    operator's key (superuser), or a signed-in person with their role in the workspace the
    request works on (`workspace_id`; None for a person who belongs to no workspace)."""

    token_id: UUID
    role: Role
    workspace_id: UUID | None
    credential: Credential = Credential.api_key
    user_id: UUID | None = None
    email: str | None = None
    # The digest of the session's CSRF token (cookie `st_csrf`); None for API keys.
    csrf_hash: str | None = field(default=None, repr=False)

    @property
    def is_superuser(self) -> bool:
        return self.role is Role.superuser

    @property
    def is_session(self) -> bool:
        return self.credential is Credential.session

    @property
    def read_only(self) -> bool:
        """An API key of scope READ: every query, no mutation."""
        return self.credential is Credential.api_key and self.role is Role.member

    @property
    def actor(self) -> str:
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"token:{self.token_id}"

    @property
    def throttle_key(self) -> UUID:
        """Whose share of analytics slots a request takes: a person's sessions share one."""
        return self.user_id or self.token_id


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain digest is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    *,
    role: Role,
    workspace_id: UUID | None,
    superuser_id: UUID | None,
    name: str,
    created_by_user_id: UUID | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=hash_token(token),
        role=role,
        workspace_id=workspace_id,
        superuser_id=superuser_id,
        name=name,
        created_by_user_id=created_by_user_id,
        expires_at=expires_at,
    )
    session.add(row)
    return row, token


def create_workspace(session: Session, *, name: str, plan_key: str) -> tuple[Workspace, str]:
    """Create a workspace and an admin token for it (returned once, stored hashed)."""
    if not name.strip():
        raise BadUserInput("A workspace needs a name.")
    get_plan(session, plan_key)
    workspace = Workspace(name=name.strip(), plan_key=plan_key)
    session.add(workspace)
    session.flush()
    _, token = issue_token(
        session, role=Role.admin, workspace_id=workspace.id, superuser_id=None, name="initial admin"
    )
    return workspace, token


def create_token(session: Session, *, workspace_id: UUID, role: Role, name: str = "") -> str:
    if role is Role.superuser:
        raise BadUserInput("Workspace tokens are 'member' or 'admin'.")
    _, token = issue_token(
        session, role=role, workspace_id=workspace_id, superuser_id=None, name=name
    )
    return token


def create_superuser(session: Session, *, email: str) -> str:
    if "@" not in email:
        raise BadUserInput("An operator is identified by an e-mail address.")
    user = session.exec(select(Superuser).where(Superuser.email == email)).first()
    if user is None:
        user = Superuser(email=email)
        session.add(user)
        session.flush()
    _, token = issue_token(
        session, role=Role.superuser, workspace_id=None, superuser_id=user.id, name=email
    )
    return token


def _touch(row: ApiToken | UserSession, now: datetime) -> None:
    if row.last_used_at is None or as_utc(row.last_used_at) + LAST_USED_RESOLUTION <= now:
        row.last_used_at = now


def _key_principal(
    session: Session, token: str, workspace_id: UUID | None, now: datetime
) -> Principal:
    row = session.exec(
        select(ApiToken)
        .outerjoin(Workspace, col(ApiToken.workspace_id) == col(Workspace.id))
        .where(
            ApiToken.token_hash == hash_token(token),
            col(ApiToken.workspace_id).is_(None) | col(Workspace.id).is_not(None),
        )
    ).first()
    if (
        row is None
        or row.revoked_at is not None
        or (row.expires_at is not None and as_utc(row.expires_at) <= now)
    ):
        raise Unauthenticated(UNKNOWN_TOKEN)
    if workspace_id is not None and row.workspace_id not in (None, workspace_id):
        raise Forbidden("This key belongs to another workspace than x-workspace-id names.")
    _touch(row, now)
    return Principal(token_id=row.id, role=row.role, workspace_id=row.workspace_id)


def _session_principal(
    session: Session, token: str, workspace_id: UUID | None, now: datetime
) -> Principal:
    found = session.exec(
        select(UserSession, User)
        .join(User, col(UserSession.user_id) == col(User.id))
        .where(UserSession.token_hash == hash_token(token))
    ).first()
    if found is None:
        raise Unauthenticated(ENDED_SESSION)
    row, user = found
    if row.revoked_at is not None or as_utc(row.expires_at) <= now:
        raise Unauthenticated(ENDED_SESSION)
    memberships = session.exec(
        select(Membership)
        .join(Workspace, col(Membership.workspace_id) == col(Workspace.id))
        .where(Membership.user_id == user.id)
        .order_by(col(Membership.created_at), col(Membership.workspace_id))
    ).all()
    if workspace_id is not None:
        chosen = next((m for m in memberships if m.workspace_id == workspace_id), None)
        if chosen is None:
            raise Forbidden("You are not a member of the workspace x-workspace-id names.")
    else:
        # Without x-workspace-id: the workspace the person joined first.
        chosen = memberships[0] if memberships else None
    _touch(row, now)
    return Principal(
        token_id=row.id,
        role=chosen.role if chosen is not None else Role.member,
        workspace_id=chosen.workspace_id if chosen is not None else None,
        credential=Credential.session,
        user_id=user.id,
        email=user.email,
        csrf_hash=row.csrf_hash,
    )


def authenticate(
    session: Session, token: str | None, *, workspace_id: UUID | None = None
) -> Principal:
    """The caller of `token`: an API key or a session token, working on `workspace_id` (the
    x-workspace-id header) or, when None, its own workspace (a person's first one).

    Unknown, revoked and expired credentials are `Unauthenticated` alike. A workspace token
    whose workspace no longer exists (a row deleted by hand, with foreign keys unchecked) is
    unknown like a revoked one. A workspace that is not the caller's is `Forbidden`."""
    if not token:
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    now = utcnow()
    if token.startswith(SESSION_PREFIX):
        return _session_principal(session, token, workspace_id, now)
    return _key_principal(session, token, workspace_id, now)


def get_workspace(session: Session, workspace_id: UUID, *, lock: bool = False) -> Workspace:
    workspace = session.get(Workspace, workspace_id, with_for_update=lock)
    if workspace is None:
        raise NotFound("Unknown workspace.")
    return workspace


def count_active_apps(session: Session, workspace_id: UUID) -> int:
    return session.exec(
        select(func.count())
        .select_from(App)
        .where(App.workspace_id == workspace_id, col(App.active).is_(True))
    ).one()


def list_apps(session: Session, workspace_id: UUID) -> list[App]:
    return list(
        session.exec(
            select(App).where(App.workspace_id == workspace_id).order_by(col(App.created_at))
        )
    )


def create_app(session: Session, *, workspace_id: UUID, name: str) -> App:
    """Create an app within the plan's `apps_max` (active apps count; deactivated ones don't).

    The workspace row is locked so that two concurrent creations cannot both pass the check.
    """
    if not name.strip():
        raise BadUserInput("An app needs a name.")
    workspace = get_workspace(session, workspace_id, lock=True)
    limits = limits_for(session, workspace)
    current = count_active_apps(session, workspace_id)
    if current >= limits.apps_max:
        raise LimitReached(limit="apps_max", current=current, maximum=limits.apps_max)
    app = App(workspace_id=workspace_id, name=name.strip(), api_secret=secrets.token_hex(32))
    session.add(app)
    session.flush()
    return app


def get_app(session: Session, *, workspace_id: UUID | None, app_uuid: UUID) -> App:
    """An app of the workspace (any workspace when `workspace_id` is None: operators)."""
    app = session.get(App, app_uuid)
    if app is None or (workspace_id is not None and app.workspace_id != workspace_id):
        raise NotFound("Unknown app.")
    return app


def rotate_app_secret(
    session: Session, *, workspace_id: UUID | None, app_uuid: UUID, grace: timedelta
) -> App:
    """Issue a new secret; the previous one keeps verifying for `grace`."""
    app = get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)
    app.previous_secret = app.api_secret
    app.previous_secret_expires_at = utcnow() + grace
    app.api_secret = secrets.token_hex(32)
    session.add(app)
    cache_versions.bump(session, cache_versions.APPS)
    return app


def deactivate_app(session: Session, *, workspace_id: UUID | None, app_uuid: UUID) -> App:
    app = get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)
    app.active = False
    session.add(app)
    cache_versions.bump(session, cache_versions.APPS)
    return app
