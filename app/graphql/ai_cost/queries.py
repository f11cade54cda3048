from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

import strawberry
from sqlmodel import Session
from strawberry.types.nodes import Selection

from app.accounts.service import get_workspace
from app.analytics import queries
from app.graphql.ai_cost.types import AiCostBreakdown, AiCostReport, figure_fields
from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceMember
from app.graphql.ranges import resolve_range
from app.plans.service import require_feature

AI_COST_ANALYTICS = "ai_cost_analytics"
VALUE_SIGNALS = "value_signals"
# The fields that show value signals, wherever they appear under `aiCost`.
VALUE_SIGNAL_FIELDS = frozenset(
    {
        "acceptedOutputs",
        "rejectedOutputs",
        "editedOutputs",
        "acceptanceRate",
        "costPerAcceptedOutputEur",
        "editRatioDistribution",
    }
)


def selects_any(selections: Iterable[Selection], names: frozenset[str]) -> bool:
    """Whether the selection set (fragments included) asks for any of `names`."""
    for selection in selections:
        if getattr(selection, "name", None) in names:
            return True
        if selects_any(selection.selections, names):
            return True
    return False


@strawberry.type
class AiCostQuery:
    @strawberry.field(
        description=(
            "AI cost analytics of the workspace over [from, to) (default: the last 30 days). "
            "UPGRADE_REQUIRED (feature 'ai_cost_analytics') on the free plan; selecting value "
            "signals needs 'value_signals' (growth plan or above), see AiCostReport. Null "
            "with an error when refused, so that the other fields of the request still answer."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def ai_cost(
        self,
        info: Info,
        from_: Annotated[
            datetime | None,
            strawberry.argument(
                name="from", description="Start (inclusive); default: `to` - 30 days."
            ),
        ] = None,
        to: Annotated[
            datetime | None, strawberry.argument(description="End (exclusive); default: now.")
        ] = None,
        environment: Annotated[
            str | None, strawberry.argument(description="Only this environment; default: all.")
        ] = None,
        by: Annotated[
            AiCostBreakdown, strawberry.argument(description="The dimension of `rows`.")
        ] = AiCostBreakdown.MODEL,
    ) -> AiCostReport | None:
        context = info.context
        workspace_id = await context.workspace_id()
        wants_value_signals = selects_any(info.selected_fields, VALUE_SIGNAL_FIELDS)

        def check_plan(session: Session) -> None:
            workspace = get_workspace(session, workspace_id)
            require_feature(session, workspace, AI_COST_ANALYTICS)
            if wants_value_signals:
                require_feature(session, workspace, VALUE_SIGNALS)

        await context.read(check_plan)
        start, end = resolve_range(from_, to)
        scope = queries.AiScope(
            workspace_id=workspace_id, start=start, end=end, environment=environment
        )
        totals = await context.analytics(queries.ai_cost_totals, scope)
        return AiCostReport(
            from_=start,
            to=end,
            environment=environment,
            by=by,
            total_cost_eur=totals.cost_eur,
            scope=scope,
            **figure_fields(totals),
        )
