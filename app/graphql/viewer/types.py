from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

import anyio.to_thread
import strawberry

from app.accounts.models import Workspace as WorkspaceRow
from app.accounts.people import WorkspaceRole, user_workspaces
from app.db import utcnow
from app.graphql.context import Info
from app.plans import queries
from app.plans.models import Plan as PlanRow


@strawberry.enum(description="What a person or a token may do.")
class Role(Enum):
    MEMBER = strawberry.enum_value(
        "member",
        description="Reads its workspace's data; a person changes only their own session.",
    )
    ADMIN = strawberry.enum_value(
        "admin", description="Reads and changes its workspace (apps, prices, members, keys)."
    )
    SUPERUSER = strawberry.enum_value(
        "superuser",
        description="An operator of the installation: catalog and unmapped models; no workspace.",
    )


@strawberry.type(description="A person who signs in with an e-mail address and a password.")
class User:
    email: str = strawberry.field(description="Their e-mail address, in lower case.")


@strawberry.type(description="A workspace the signed-in person belongs to, with their role there.")
class UserWorkspace:
    id: UUID = strawberry.field(
        description="The workspace's id: send it as the x-workspace-id header to work on it."
    )
    name: str = strawberry.field(description="Its display name.")
    role: Role = strawberry.field(description="The person's role there: ADMIN or MEMBER.")

    @classmethod
    def of(cls, row: WorkspaceRole) -> UserWorkspace:
        return cls(id=row.id, name=row.name, role=Role(row.role.value))


@strawberry.type(description="A customer account: its apps, events and settings are its own.")
class Workspace:
    id: UUID = strawberry.field(description="The workspace's id.")
    name: str = strawberry.field(description="Its display name.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")

    @classmethod
    def of(cls, row: WorkspaceRow) -> Workspace:
        return cls(id=row.id, name=row.name, created_at=row.created_at)


@strawberry.type(description="A commercial plan (free, ai_cost, starter, growth, enterprise).")
class Plan:
    key: str = strawberry.field(description="Stable key, e.g. 'growth'.")
    name: str = strawberry.field(description="Display name.")
    rank: int = strawberry.field(
        description="Order of the plans: a feature of a plan is in every plan of higher rank."
    )
    price_eur_month: Decimal | None = strawberry.field(
        description="Monthly price in EUR; null when negotiated (enterprise)."
    )
    features: list[str] = strawberry.field(
        description="Feature keys the plan includes, e.g. 'ai_cost_analytics', 'value_signals'."
    )

    @classmethod
    def of(cls, row: PlanRow) -> Plan:
        return cls(
            key=row.key,
            name=row.name,
            rank=row.rank,
            price_eur_month=row.price_eur_month,
            features=list(row.features),
        )


@strawberry.type(
    description=(
        "Events ClickHouse refused for their content (not for an outage: those stay queued), "
        "parked until an operator fixes the cause and replays them (`replayDeadLetters`)."
    )
)
class DeadLetters:
    count: int = strawberry.field(description="How many events are parked.")
    oldest: datetime | None = strawberry.field(
        description="When the oldest was parked; null when there is none."
    )


@strawberry.type(
    description=(
        "The caller: its role and, for a workspace credential, the workspace with its plan, "
        "limits (subscription overrides applied) and usage. An operator (superuser) token has "
        "a role and no workspace: every workspace field is then null. A signed-in person works "
        "on the workspace the header x-workspace-id names (default: the first they joined), "
        "with their role there."
    )
)
class Viewer:
    role: Role = strawberry.field(
        description=(
            "What the caller may do in `workspace`: ADMIN, MEMBER (a person's role, or an API "
            "key's scope: ADMIN or READ), or SUPERUSER for an operator."
        )
    )
    user: User | None = strawberry.field(
        description="The signed-in person; null for API keys and operators' tokens."
    )
    workspace: Workspace | None = strawberry.field(
        description="The workspace this request works on; null for operators."
    )
    plan: Plan | None = strawberry.field(description="The workspace's plan; null for operators.")
    features: list[str] = strawberry.field(
        description="Feature keys the workspace may use (its plan's); empty for operators."
    )
    events_monthly_limit: int | None = strawberry.field(
        description=(
            "Events a calendar month (UTC) the plan includes. A soft limit: ingest is never "
            "blocked over it, see `overage`."
        )
    )
    apps_max: int | None = strawberry.field(
        description="How many active apps the workspace may have."
    )
    apps_count: int | None = strawberry.field(
        description="How many active apps it has (deactivated apps do not count)."
    )
    retention_days: int | None = strawberry.field(description="How many days raw events are kept.")
    workspace_id: strawberry.Private[UUID | None]
    user_id: strawberry.Private[UUID | None]

    @strawberry.field(
        description=(
            "Every workspace the signed-in person belongs to, with their role there (switch "
            "with the x-workspace-id header); empty for API keys."
        )
    )
    async def workspaces(self, info: Info) -> list[UserWorkspace]:
        user_id = self.user_id
        if user_id is None:
            return []
        rows = await info.context.read(lambda session: user_workspaces(session, user_id))
        return [UserWorkspace.of(row) for row in rows]

    async def _events_this_month(self, info: Info) -> int | None:
        workspace_id = self.workspace_id
        if workspace_id is None:
            return None
        now = utcnow()
        start, end = queries.month_start(now), queries.next_month_start(now)

        async def count() -> int:
            return await info.context.analytics(
                queries.count_events, workspace_id=workspace_id, start=start, end=end
            )

        return await info.context.once(("events_this_month", workspace_id, start), count)

    @strawberry.field(
        description=(
            "Events of the workspace with a timestamp in the current calendar month (UTC)."
        )
    )
    async def events_this_month(self, info: Info) -> int | None:
        return await self._events_this_month(info)

    @strawberry.field(description="Operators only (null for other tokens): the dead letters.")
    async def dead_letters(self, info: Info) -> DeadLetters | None:
        if self.role is not Role.SUPERUSER:
            return None
        runtime = info.context.runtime
        summary = await anyio.to_thread.run_sync(
            runtime.dead_letters.summary, limiter=info.context.limiter
        )
        return DeadLetters(count=summary.count, oldest=summary.oldest)

    @strawberry.field(
        description=(
            "True when `eventsThisMonth` exceeds `eventsMonthlyLimit`: show an upgrade banner. "
            "Events are still accepted."
        )
    )
    async def overage(self, info: Info) -> bool | None:
        count = await self._events_this_month(info)
        if count is None or self.events_monthly_limit is None:
            return None
        return count > self.events_monthly_limit
