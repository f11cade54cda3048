from __future__ import annotations

from typing import Annotated

import strawberry

from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.permissions import IsAuthenticated, IsSuperuser
from app.graphql.plans.types import PlanDetails, WorkspaceSubscription
from app.plans import subscriptions

MAX_WORKSPACES = 500


@strawberry.type
class PlansQuery:
    @strawberry.field(
        description=(
            "Every plan with its price, default limits and features, cheapest first (any "
            "token: the Billing / Plan page and upgrade prompts)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def plans(self, info: Info) -> list[PlanDetails]:
        rows = await info.context.read(subscriptions.list_plans)
        return [PlanDetails.of(row) for row in rows]

    @strawberry.field(
        description=(
            "Operators only: workspaces with their plan, overrides, effective limits and "
            "usage, oldest first."
        ),
        permission_classes=[IsSuperuser],
    )
    async def workspaces(
        self,
        info: Info,
        search: Annotated[
            str | None,
            strawberry.argument(description="Part of the name (any case), or an exact id."),
        ] = None,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many, 1 to {MAX_WORKSPACES}.")
        ] = 100,
        offset: Annotated[int, strawberry.argument(description="Skip this many first.")] = 0,
    ) -> list[WorkspaceSubscription]:
        context = info.context
        await context.superuser()
        if not 1 <= limit <= MAX_WORKSPACES:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_WORKSPACES}.", field="limit")
        if offset < 0:
            raise BadUserInput("'offset' must be 0 or more.", field="offset")
        summaries = await context.read(
            lambda session: subscriptions.summarize(
                session,
                subscriptions.list_workspaces(session, search=search, limit=limit, offset=offset),
            )
        )
        return [WorkspaceSubscription.of(summary) for summary in summaries]
