"""Every relational table, imported in one place for Alembic and for tests."""

from sqlmodel import SQLModel

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
    "metadata",
]
