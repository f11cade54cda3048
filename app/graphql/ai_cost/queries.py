from __future__ import annotations

import hashlib
from datetime import datetime
from enum import Enum
from typing import Annotated
from uuid import UUID

import orjson
import strawberry
from sqlmodel import Session

from app.accounts.service import get_app, get_workspace
from app.ai_cost import reports as ai_cost
from app.db import as_utc
from app.errors import BadUserInput
from app.graphql.ai_cost.types import (
    EDIT_RATIO_FIELDS,
    LATENCY_FIELDS,
    AiCostBreakdown,
    AiCostReport,
    selects_any,
    selects_directly,
)
from app.graphql.context import Info
from app.graphql.node import encode_node_id
from app.graphql.permissions import IsWorkspaceMember
from app.graphql.ranges import retained_range
from app.plans.service import require_feature

__all__ = ["VALUE_SIGNAL_FIELDS", "AiCostQuery", "selects_any"]

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
        "wastedSpendEur",
        "editRatioDistribution",
    }
)
# Filter values longer than any value ingest stores cannot match: refused, not sent to ClickHouse.
MAX_FILTER_LENGTH = 200


def report_id(workspace_id: UUID, *arguments: object) -> strawberry.ID:
    """The id of the report of `workspace_id` for these `aiCost` arguments, as sent."""
    parts = [str(workspace_id), *(_argument_text(argument) for argument in arguments)]
    digest = hashlib.sha256(orjson.dumps(parts)).hexdigest()[:32]
    return strawberry.ID(encode_node_id("AiCostReport", digest))


def _argument_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, Enum):
        return value.name
    return str(value)


def _filter_text(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_FILTER_LENGTH:
        raise BadUserInput(f"'{name}' is longer than {MAX_FILTER_LENGTH} characters.", field=name)
    return value


@strawberry.type
class AiCostQuery:
    @strawberry.field(
        description=(
            "AI cost analytics of the workspace over [from, to) (default: the last 30 days), "
            "optionally filtered. UPGRADE_REQUIRED (feature 'ai_cost_analytics') on the free "
            "plan; selecting value signals needs 'value_signals' (growth plan or above), see "
            "AiCostReport. Null with an error when refused, so that the other fields of the "
            "request still answer."
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
        app_uuid: Annotated[
            UUID | None,
            strawberry.argument(description="Only this app; NOT_FOUND if not the workspace's."),
        ] = None,
        customer_org_id: Annotated[
            str | None,
            strawberry.argument(description="Only this customer organization (case-sensitive)."),
        ] = None,
        feature: Annotated[
            str | None, strawberry.argument(description="Only this AI feature.")
        ] = None,
        model: Annotated[
            str | None,
            strawberry.argument(
                description="Only this model, as the MODEL rows key it (e.g. 'openai/gpt-5.4')."
            ),
        ] = None,
        provider: Annotated[
            str | None, strawberry.argument(description="Only this provider, e.g. 'openai'.")
        ] = None,
    ) -> AiCostReport | None:
        context = info.context
        workspace_id = await context.workspace_id()
        wants_value_signals = selects_any(info.selected_fields, VALUE_SIGNAL_FIELDS)

        def check(session: Session) -> None:
            workspace = get_workspace(session, workspace_id)
            require_feature(session, workspace, AI_COST_ANALYTICS)
            if wants_value_signals:
                require_feature(session, workspace, VALUE_SIGNALS)
            if app_uuid is not None:
                # Another workspace's app is NOT_FOUND, exactly like an app that does not exist.
                get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)

        start, end = await retained_range(info.context, workspace_id, from_, to)
        scope = ai_cost.AiScope(
            workspace_id=workspace_id,
            start=start,
            end=end,
            environment=_filter_text("environment", environment),
            app_id=app_uuid,
            customer_org_id=_filter_text("customerOrgId", customer_org_id),
            feature=_filter_text("feature", feature),
            model=_filter_text("model", model),
            provider=_filter_text("provider", provider),
        )
        # Once per request for all its sections asking the same: the sections' checks would
        # otherwise wait for each other on the request's one database session.
        await context.once(
            ("ai_cost_check", workspace_id, wants_value_signals, app_uuid),
            lambda: context.read(check),
        )
        # The report's own figures are computed when the first of them is resolved, beside
        # its rows and series (AiCostReport.totals).
        return AiCostReport(
            id=report_id(
                workspace_id,
                from_,
                to,
                environment,
                by,
                app_uuid,
                customer_org_id,
                feature,
                model,
                provider,
            ),
            from_=start,
            to=end,
            environment=environment,
            by=by,
            scope=scope,
            with_latency=selects_directly(info, LATENCY_FIELDS),
            with_edit_ratios=selects_directly(info, EDIT_RATIO_FIELDS),
        )
