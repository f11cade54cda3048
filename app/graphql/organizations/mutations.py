from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.context import Info
from app.graphql.organizations.types import (
    HealthModelConfig,
    HealthSignalInput,
    OrganizationPlanAssignment,
)
from app.graphql.permissions import IsWorkspaceAdmin
from app.organizations import service

_GATE = (
    "Workspace admins only (FORBIDDEN otherwise); needs the health_model_config feature, "
    "growth plan or above (UPGRADE_REQUIRED with feature and requiredPlan otherwise)."
)


@strawberry.type
class OrganizationsMutation:
    @strawberry.mutation(
        description=(
            "Configure the workspace's organization health model: which signals, with which "
            "weights and thresholds. Replaces the whole model; scores use it at once. "
            + _GATE
            + " BAD_USER_INPUT (with `field`) when a signal appears twice, a weight is "
            "negative or the weights sum to 0, a threshold is out of range, or bad/good are "
            "not ordered the signal's way. Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def configure_health_model(
        self,
        info: Info,
        signals: Annotated[
            list[HealthSignalInput],
            strawberry.argument(description="The model's signals; the others do not count."),
        ],
    ) -> HealthModelConfig:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        settings = [item.domain() for item in signals]
        view = await context.write(
            lambda session: service.configure_health_model(
                session, actor=principal.actor, workspace_id=workspace_id, signals=settings
            )
        )
        return HealthModelConfig.of(view, workspace_id=workspace_id)

    @strawberry.mutation(
        description="Return to the documented default health model. " + _GATE + " Audited.",
        permission_classes=[IsWorkspaceAdmin],
    )
    async def reset_health_model(self, info: Info) -> HealthModelConfig:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        view = await context.write(
            lambda session: service.reset_health_model(
                session, actor=principal.actor, workspace_id=workspace_id
            )
        )
        return HealthModelConfig.of(view, workspace_id=workspace_id)

    @strawberry.mutation(
        description=(
            "Set your customer's plan on an organization (workspace admins only; any plan). "
            "It wins over the customer_plan property of its events in `organizations` and in "
            "the aiCost PLAN breakdown; null or an empty string clears it. The id is exact and "
            "case-sensitive, and need not have events yet. Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def set_organization_plan(
        self,
        info: Info,
        customer_org_id: Annotated[
            str, strawberry.argument(description="The organization, exactly as events carry it.")
        ],
        plan: Annotated[
            str | None,
            strawberry.argument(description="Your plan name, e.g. 'pro'; null clears it."),
        ] = None,
    ) -> OrganizationPlanAssignment:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        change = await context.analytics(
            service.write_organization_plan,
            workspace_id=workspace_id,
            customer_org_id=customer_org_id,
            plan=plan,
        )
        await context.write(
            lambda session: service.audit_organization_plan(
                session, actor=principal.actor, workspace_id=workspace_id, change=change
            )
        )
        return OrganizationPlanAssignment(
            customer_org_id=change.after.customer_org_id,
            plan=change.after.plan or None,
            previous_plan=(change.before.plan or None) if change.before else None,
            updated_at=change.after.updated_at,
            workspace_id=workspace_id,
        )
