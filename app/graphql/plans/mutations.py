from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session

from app.accounts import subscriptions
from app.graphql.context import Info
from app.graphql.permissions import IsSuperuser
from app.graphql.plans.types import WorkspaceSubscription


def _override(value: int | None) -> subscriptions.OverrideValue:
    # An argument left out keeps its override; an explicit null clears it.
    return subscriptions.KEEP if value is strawberry.UNSET else value


@strawberry.type
class PlansMutation:
    @strawberry.mutation(
        description=(
            "Operators only: move a workspace to another plan; its features and limits change "
            "at once (overrides stay). NOT_FOUND for an unknown workspace, BAD_USER_INPUT for "
            "an unknown plan. Audited (before and after)."
        ),
        permission_classes=[IsSuperuser],
    )
    async def set_workspace_plan(
        self,
        info: Info,
        workspace_id: Annotated[UUID, strawberry.argument(description="The workspace.")],
        plan: Annotated[str, strawberry.argument(description="The plan key, e.g. 'growth'.")],
    ) -> WorkspaceSubscription:
        context = info.context
        principal = await context.superuser()

        def change(session: Session) -> subscriptions.WorkspaceSummary:
            workspace = subscriptions.set_workspace_plan(
                session, actor=principal.actor, workspace_id=workspace_id, plan_key=plan
            )
            return subscriptions.summarize(session, [workspace])[0]

        return WorkspaceSubscription.of(await context.write(change))

    @strawberry.mutation(
        description=(
            "Operators only: override a workspace's plan limits. A number sets the override, "
            "null clears it (the plan's value applies again), an argument left out is "
            "unchanged. appsMax and eventsMonthlyLimit ≥ 0, retentionDays ≥ 1 "
            "(BAD_USER_INPUT otherwise). Audited (before and after)."
        ),
        permission_classes=[IsSuperuser],
    )
    async def set_subscription_overrides(
        self,
        info: Info,
        workspace_id: Annotated[UUID, strawberry.argument(description="The workspace.")],
        apps_max: Annotated[
            int | None, strawberry.argument(description="Active apps allowed; null clears.")
        ] = strawberry.UNSET,
        events_monthly_limit: Annotated[
            int | None,
            strawberry.argument(description="Events a month (soft limit); null clears."),
        ] = strawberry.UNSET,
        retention_days: Annotated[
            int | None, strawberry.argument(description="Days raw data is kept; null clears.")
        ] = strawberry.UNSET,
    ) -> WorkspaceSubscription:
        context = info.context
        principal = await context.superuser()

        def change(session: Session) -> subscriptions.WorkspaceSummary:
            workspace = subscriptions.set_subscription_overrides(
                session,
                actor=principal.actor,
                workspace_id=workspace_id,
                apps_max=_override(apps_max),
                events_monthly_limit=_override(events_monthly_limit),
                retention_days=_override(retention_days),
            )
            return subscriptions.summarize(session, [workspace])[0]

        return WorkspaceSubscription.of(await context.write(change))
