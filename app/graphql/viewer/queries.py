from __future__ import annotations

from uuid import UUID

import strawberry
from sqlmodel import Session

from app.accounts.service import count_active_apps, get_workspace
from app.graphql.context import Info
from app.graphql.permissions import IsAuthenticated
from app.graphql.viewer.types import Plan, Role, User, Viewer, Workspace
from app.plans.service import limits_for


def _workspace_viewer(
    session: Session, *, role: Role, user: User | None, user_id: UUID | None, workspace_id: UUID
) -> Viewer:
    workspace = get_workspace(session, workspace_id)
    limits = limits_for(session, workspace)
    return Viewer(
        role=role,
        user=user,
        user_id=user_id,
        workspace=Workspace.of(workspace),
        plan=Plan.of(limits.plan),
        features=limits.features,
        events_monthly_limit=limits.events_monthly_limit,
        apps_max=limits.apps_max,
        apps_count=count_active_apps(session, workspace_id),
        retention_days=limits.retention_days,
        workspace_id=workspace_id,
    )


@strawberry.type
class ViewerQuery:
    @strawberry.field(
        description=(
            "The caller: who (a person, an API key or an operator), the workspace this request "
            "works on and their role there, its plan, features, limits and usage."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def viewer(self, info: Info) -> Viewer:
        principal = await info.context.principal()
        role = Role(principal.role.value)
        workspace_id = principal.workspace_id
        user_id = principal.user_id
        user = User(email=principal.email) if principal.email is not None else None
        if workspace_id is None:
            return Viewer(
                role=role,
                user=user,
                user_id=user_id,
                workspace=None,
                plan=None,
                features=[],
                events_monthly_limit=None,
                apps_max=None,
                apps_count=None,
                retention_days=None,
                workspace_id=None,
            )
        return await info.context.read(
            lambda session: _workspace_viewer(
                session, role=role, user=user, user_id=user_id, workspace_id=workspace_id
            )
        )
