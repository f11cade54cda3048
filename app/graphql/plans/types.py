from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.dataloader import DataLoader

from app.accounts.subscriptions import WorkspaceSummary
from app.db import utcnow
from app.graphql.context import Context, Info
from app.graphql.node import Node, NodeKey
from app.plans.models import Plan
from app.plans.queries import events_by_workspace, month_start, next_month_start


@strawberry.type(
    description=(
        "A plan with its features and default limits (a workspace's subscription may override "
        "each limit). Events a month are a soft limit: ingest is never blocked over it."
    )
)
class PlanDetails:
    key: str = strawberry.field(
        description="Stable key: free, ai_cost, starter, growth or enterprise."
    )
    name: str = strawberry.field(description="Display name.")
    rank: int = strawberry.field(
        description="Order of the plans: a feature of a plan is in every plan of higher rank."
    )
    price_eur_month: Decimal | None = strawberry.field(
        description="Monthly price in EUR; null when negotiated (enterprise)."
    )
    apps_max: int = strawberry.field(description="Active apps a workspace may have.")
    events_monthly_limit: int = strawberry.field(
        description="Events a calendar month (UTC) included; beyond it `overage`, not a block."
    )
    retention_days: int = strawberry.field(
        description="Days raw events are kept (older ones are neither shown nor kept)."
    )
    features: list[str] = strawberry.field(
        description=(
            "Feature keys: ai_cost_analytics (every plan but free), organizations (starter "
            "and above), value_signals and health_model_config (growth and above)."
        )
    )

    @classmethod
    def of(cls, row: Plan) -> PlanDetails:
        return cls(
            key=row.key,
            name=row.name,
            rank=row.rank,
            price_eur_month=row.price_eur_month,
            apps_max=row.apps_max,
            events_monthly_limit=row.events_monthly_limit,
            retention_days=row.retention_days,
            features=list(row.features),
        )


@strawberry.type(
    description="A subscription's overrides of its plan's limits; null: the plan's value applies."
)
class SubscriptionOverrides:
    apps_max: int | None = strawberry.field(description="Overrides the plan's appsMax.")
    events_monthly_limit: int | None = strawberry.field(
        description="Overrides the plan's eventsMonthlyLimit."
    )
    retention_days: int | None = strawberry.field(description="Overrides the plan's retentionDays.")


async def _usage_loader(context: Context) -> DataLoader[UUID, int]:
    """This month's events of many workspaces in one ClickHouse query per request."""
    now = utcnow()
    start, end = month_start(now), next_month_start(now)

    async def load(keys: list[UUID]) -> list[int]:
        counts = await context.analytics(
            events_by_workspace, workspace_ids=keys, start=start, end=end
        )
        return [counts.get(key, 0) for key in keys]

    return DataLoader(load_fn=load)


@strawberry.type(
    description=(
        "A workspace as operators see it: plan, subscription overrides, effective limits and "
        "usage. Its `id` is its global id (see Node); `workspaceId` is the workspace's own."
    )
)
class WorkspaceSubscription(Node):
    workspace_id: UUID = strawberry.field(
        description="The workspace's id: what `setWorkspacePlan` and the audit log take."
    )
    name: str = strawberry.field(description="Its display name.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    plan: PlanDetails = strawberry.field(description="Its plan, with the plan's own limits.")
    overrides: SubscriptionOverrides = strawberry.field(description="Its subscription's overrides.")
    apps_max: int = strawberry.field(description="Effective apps limit (override or plan).")
    events_monthly_limit: int = strawberry.field(
        description="Effective events a month (override or plan), a soft limit."
    )
    retention_days: int = strawberry.field(
        description="Effective retention in days (override or plan)."
    )
    apps_count: int = strawberry.field(description="Its active apps.")

    @classmethod
    def of(cls, summary: WorkspaceSummary) -> WorkspaceSubscription:
        workspace, limits = summary.workspace, summary.limits
        return cls(
            workspace_id=workspace.id,
            name=workspace.name,
            created_at=workspace.created_at,
            plan=PlanDetails.of(limits.plan),
            overrides=SubscriptionOverrides(
                apps_max=workspace.override_apps_max,
                events_monthly_limit=workspace.override_events_monthly_limit,
                retention_days=workspace.override_retention_days,
            ),
            apps_max=limits.apps_max,
            events_monthly_limit=limits.events_monthly_limit,
            retention_days=limits.retention_days,
            apps_count=summary.apps_count,
        )

    def node_key(self) -> NodeKey:
        return (str(self.workspace_id),)

    async def _events_this_month(self, info: Info) -> int:
        context = info.context
        # One loader per request (kept in the context), so a list of workspaces costs one
        # ClickHouse query however many rows ask.
        loader = await context.once("workspace_usage_loader", lambda: _usage_loader(context))
        return await loader.load(self.workspace_id)

    @strawberry.field(description="Events with a timestamp in the current calendar month (UTC).")
    async def events_this_month(self, info: Info) -> int:
        return await self._events_this_month(info)

    @strawberry.field(
        description="True when eventsThisMonth exceeds eventsMonthlyLimit (events still accepted)."
    )
    async def overage(self, info: Info) -> bool:
        return await self._events_this_month(info) > self.events_monthly_limit
