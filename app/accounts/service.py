"""Workspaces, apps and tokens: used alike by the CLI and the GraphQL API."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import Column, Table, delete, func
from sqlmodel import Session, col, select

from app import cache_versions
from app.accounts.models import ApiToken, App, Role, Superuser, Workspace
from app.db import utcnow
from app.errors import BadUserInput, LimitReached, NotFound, Unauthenticated
from app.models import metadata
from app.plans.service import get_plan, limits_for

TOKEN_PREFIX = "st_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a workspace member or admin, or an operator (superuser)."""

    token_id: UUID
    role: Role
    workspace_id: UUID | None

    @property
    def is_superuser(self) -> bool:
        return self.role is Role.superuser

    @property
    def actor(self) -> str:
        return f"token:{self.token_id}"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a plain digest is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(
    session: Session, *, role: Role, workspace_id: UUID | None, superuser_id: UUID | None, name: str
) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            token_hash=hash_token(token),
            role=role,
            workspace_id=workspace_id,
            superuser_id=superuser_id,
            name=name,
        )
    )
    return token


def create_workspace(session: Session, *, name: str, plan_key: str) -> tuple[Workspace, str]:
    """Create a workspace and an admin token for it (returned once, stored hashed)."""
    if not name.strip():
        raise BadUserInput("A workspace needs a name.")
    get_plan(session, plan_key)
    workspace = Workspace(name=name.strip(), plan_key=plan_key)
    session.add(workspace)
    session.flush()
    token = _issue_token(
        session, role=Role.admin, workspace_id=workspace.id, superuser_id=None, name="initial admin"
    )
    return workspace, token


def create_token(session: Session, *, workspace_id: UUID, role: Role, name: str = "") -> str:
    if role is Role.superuser:
        raise BadUserInput("Workspace tokens are 'member' or 'admin'.")
    return _issue_token(session, role=role, workspace_id=workspace_id, superuser_id=None, name=name)


def create_superuser(session: Session, *, email: str) -> str:
    if "@" not in email:
        raise BadUserInput("An operator is identified by an e-mail address.")
    user = session.exec(select(Superuser).where(Superuser.email == email)).first()
    if user is None:
        user = Superuser(email=email)
        session.add(user)
        session.flush()
    return _issue_token(
        session, role=Role.superuser, workspace_id=None, superuser_id=user.id, name=email
    )


def authenticate(session: Session, token: str | None) -> Principal:
    """The caller of `token`. A workspace token whose workspace no longer exists (a row
    deleted by hand, with foreign keys unchecked) is unknown like a revoked one."""
    if not token:
        raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
    row = session.exec(
        select(ApiToken)
        .outerjoin(Workspace, col(ApiToken.workspace_id) == col(Workspace.id))
        .where(
            ApiToken.token_hash == hash_token(token),
            col(ApiToken.workspace_id).is_(None) | col(Workspace.id).is_not(None),
        )
    ).first()
    if row is None:
        raise Unauthenticated("Unknown or revoked token.")
    return Principal(token_id=row.id, role=row.role, workspace_id=row.workspace_id)


def get_workspace(session: Session, workspace_id: UUID, *, lock: bool = False) -> Workspace:
    workspace = session.get(Workspace, workspace_id, with_for_update=lock)
    if workspace is None:
        raise NotFound("Unknown workspace.")
    return workspace


def _workspace_columns(table: Table) -> list[Column[object]]:
    """The columns of `table` that reference a workspace."""
    return [
        key.parent for key in table.foreign_keys if key.column.table.name == Workspace.__tablename__
    ]


def delete_workspace(session: Session, *, workspace_id: UUID) -> None:
    """Delete a workspace and every relational row that belongs to it: its tokens (which stop
    authenticating), its apps (whose ingest answers unknown_app), its prices and settings —
    the rows of every table with a foreign key to workspaces, whichever feature owns it.

    Every process drops its cached app credentials (the `apps` change counter). Its
    analytics rows in ClickHouse are not deleted here.
    """
    workspace = get_workspace(session, workspace_id, lock=True)
    # Every table of every feature (app.models), the dependent ones first.
    for table in reversed(metadata.sorted_tables):
        for column in _workspace_columns(table):
            session.execute(delete(table).where(column == workspace_id))
    session.delete(workspace)
    cache_versions.bump(session, cache_versions.APPS)


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
