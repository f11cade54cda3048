"""Operators' side of plans: the plan list, a workspace's plan and its subscription overrides.

Every change is audited (who, before, after). Changing a plan or an override takes effect at
once everywhere limits are read (`limits_for`); nothing already there is undone by it — a
workspace over its new `apps_max` keeps its apps and only cannot create more, and a shorter
retention hides older data at once and lets the next purge delete it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import func
from sqlmodel import Session, col, or_, select

from app import audit
from app.accounts.models import App, Workspace
from app.accounts.service import get_workspace
from app.errors import BadUserInput
from app.plans.models import Plan
from app.plans.service import Limits, get_plan, limits_for

# GraphQL's Int is 32-bit; a larger override could not be shown back.
MAX_LIMIT_VALUE = 2**31 - 1
# A century: anything longer is a typo.
MAX_RETENTION_DAYS = 36_500


class Keep(Enum):
    """The "leave this override as it is" marker (None means "clear it")."""

    KEEP = "keep"


KEEP = Keep.KEEP
OverrideValue = int | None | Keep

_OVERRIDES: dict[str, tuple[int, int, str]] = {
    # field: (smallest, largest allowed value, the argument's name in the API)
    "apps_max": (0, MAX_LIMIT_VALUE, "appsMax"),
    "events_monthly_limit": (0, MAX_LIMIT_VALUE, "eventsMonthlyLimit"),
    "retention_days": (1, MAX_RETENTION_DAYS, "retentionDays"),
}


def list_plans(session: Session) -> list[Plan]:
    """Every plan, cheapest rank first."""
    return list(session.exec(select(Plan).order_by(col(Plan.rank))))


@dataclass(frozen=True)
class WorkspacePosition:
    """Where a workspace sits in the list's order (oldest first, ties by id)."""

    created_at: datetime
    id: UUID


def list_workspaces(
    session: Session,
    *,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
    after: WorkspacePosition | None = None,
) -> list[Workspace]:
    """Workspaces, oldest first; `search` matches the name case-insensitively or the exact id;
    `after`: only those that follow that position (keyset paging)."""
    statement = select(Workspace)
    if after is not None:
        statement = statement.where(
            or_(
                col(Workspace.created_at) > after.created_at,
                (col(Workspace.created_at) == after.created_at) & (col(Workspace.id) > after.id),
            )
        )
    if search:
        needle = search.strip()
        try:
            statement = statement.where(Workspace.id == UUID(needle))
        except ValueError:
            statement = statement.where(
                func.lower(Workspace.name).contains(needle.lower(), autoescape=True)
            )
    statement = statement.order_by(col(Workspace.created_at), col(Workspace.id))
    return list(session.exec(statement.offset(offset).limit(limit)))


@dataclass(frozen=True)
class WorkspaceSummary:
    """A workspace as operators see it: its limits (overrides applied) and its active apps."""

    workspace: Workspace
    limits: Limits
    apps_count: int


def summarize(session: Session, workspaces: Sequence[Workspace]) -> list[WorkspaceSummary]:
    """Limits and app counts of many workspaces, the counts in one query."""
    ids = [w.id for w in workspaces]
    counts: dict[UUID, int] = {}
    if ids:
        rows = session.exec(
            select(App.workspace_id, func.count())
            .where(col(App.workspace_id).in_(ids), col(App.active).is_(True))
            .group_by(col(App.workspace_id))
        )
        counts = {workspace_id: int(n) for workspace_id, n in rows}
    return [
        WorkspaceSummary(workspace=w, limits=limits_for(session, w), apps_count=counts.get(w.id, 0))
        for w in workspaces
    ]


def set_workspace_plan(
    session: Session, *, actor: str, workspace_id: UUID, plan_key: str
) -> Workspace:
    """Move the workspace to another plan (`BadUserInput` for an unknown plan key)."""
    workspace = get_workspace(session, workspace_id, lock=True)
    if session.get(Plan, plan_key) is None:
        raise BadUserInput(f"Unknown plan '{plan_key}'.", field="plan")
    before = workspace.plan_key
    workspace.plan_key = get_plan(session, plan_key).key
    session.add(workspace)
    audit.record(
        session,
        actor=actor,
        action="workspace.set_plan",
        workspace_id=workspace_id,
        before={"plan": before},
        after={"plan": workspace.plan_key},
    )
    session.flush()
    return workspace


def _overrides(workspace: Workspace) -> dict[str, Any]:
    return {name: getattr(workspace, f"override_{name}") for name in _OVERRIDES}


def set_subscription_overrides(
    session: Session,
    *,
    actor: str,
    workspace_id: UUID,
    apps_max: OverrideValue = KEEP,
    events_monthly_limit: OverrideValue = KEEP,
    retention_days: OverrideValue = KEEP,
) -> Workspace:
    """Override plan limits for one workspace: a number sets the override, None clears it (the
    plan's value applies again), `KEEP` leaves it unchanged."""
    requested = {
        "apps_max": apps_max,
        "events_monthly_limit": events_monthly_limit,
        "retention_days": retention_days,
    }
    for name, value in requested.items():
        if isinstance(value, Keep) or value is None:
            continue
        low, high, argument = _OVERRIDES[name]
        if not low <= value <= high:
            raise BadUserInput(f"'{argument}' must be between {low} and {high}.", field=argument)
    workspace = get_workspace(session, workspace_id, lock=True)
    before = _overrides(workspace)
    for name, value in requested.items():
        if not isinstance(value, Keep):
            setattr(workspace, f"override_{name}", value)
    session.add(workspace)
    audit.record(
        session,
        actor=actor,
        action="workspace.set_overrides",
        workspace_id=workspace_id,
        before=before,
        after=_overrides(workspace),
    )
    session.flush()
    return workspace
