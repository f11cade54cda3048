"""Every relational table, imported in one place for Alembic and for tests, and what needs all
of them: deleting a workspace's rows from every feature's tables."""

from uuid import UUID

from sqlalchemy import Column, Table, delete
from sqlmodel import Session, SQLModel

from app import cache_versions
from app.accounts.models import (
    AccessLink,
    ApiToken,
    App,
    LoginThrottle,
    Membership,
    Superuser,
    User,
    UserSession,
    Workspace,
)
from app.accounts.service import get_workspace
from app.audit import AuditEntry
from app.cache_versions import CacheVersion
from app.organizations.models import HealthModelConfig as HealthModelConfig
from app.plans.models import Plan
from app.pricing.models import CatalogModel, CatalogPrice, FxRate, ModelAlias, WorkspacePrice
from app.workers.models import DeadLetter

metadata = SQLModel.metadata

__all__ = [
    "AccessLink",
    "ApiToken",
    "App",
    "AuditEntry",
    "CacheVersion",
    "CatalogModel",
    "CatalogPrice",
    "DeadLetter",
    "FxRate",
    "LoginThrottle",
    "Membership",
    "ModelAlias",
    "Plan",
    "Superuser",
    "User",
    "UserSession",
    "Workspace",
    "WorkspacePrice",
    "delete_workspace",
    "metadata",
]


def _workspace_columns(table: Table) -> list[Column[object]]:
    """The columns of `table` that reference a workspace."""
    return [
        key.parent for key in table.foreign_keys if key.column.table.name == Workspace.__tablename__
    ]


def delete_workspace(session: Session, *, workspace_id: UUID) -> None:
    """Delete a workspace and every relational row that belongs to it: its tokens (which stop
    authenticating), its apps (whose ingest answers unknown_app), its prices and settings —
    the rows of every table with a foreign key to workspaces, whichever feature owns it (here,
    above every feature, because it reads them all: `app.accounts` owns workspaces but may not
    import the features above it).

    Every process drops its cached app credentials (the `apps` change counter). Its
    analytics rows in ClickHouse are not deleted here.
    """
    workspace = get_workspace(session, workspace_id, lock=True)
    # Every table of every feature (imported above), the dependent ones first.
    for table in reversed(metadata.sorted_tables):
        for column in _workspace_columns(table):
            session.execute(delete(table).where(column == workspace_id))
    session.delete(workspace)
    cache_versions.bump(session, cache_versions.APPS)
