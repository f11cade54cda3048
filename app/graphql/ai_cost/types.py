from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry

from app.analytics import queries
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.scalars import BigInt

MAX_ROWS = 1000


@strawberry.enum(description="The dimension the rows of an AI cost report are grouped by.")
class AiCostBreakdown(Enum):
    CUSTOMER = strawberry.enum_value("customer", description="By customer_org_id.")
    FEATURE = strawberry.enum_value("feature", description="By the AI feature name.")
    MODEL = strawberry.enum_value(
        "model",
        description=(
            "By model: the canonical catalog key when ingest resolved one (aliases of a "
            "model group together), else 'provider/model' as sent."
        ),
    )
    PROVIDER = strawberry.enum_value("provider", description="By provider, e.g. 'openai'.")
    PLAN = strawberry.enum_value(
        "plan", description="By your customer's plan (the event property customer_plan)."
    )
    ENVIRONMENT = strawberry.enum_value("environment", description="By environment.")
    APP = strawberry.enum_value("app", description="By app UUID.")


@strawberry.enum(description="The width of a time-series bucket (UTC; weeks start on Monday).")
class Granularity(Enum):
    HOUR = strawberry.enum_value("hour", description="One bucket an hour.")
    DAY = strawberry.enum_value("day", description="One bucket a day.")
    WEEK = strawberry.enum_value("week", description="One bucket a week, from Monday 00:00.")
    MONTH = strawberry.enum_value("month", description="One bucket a calendar month.")


@strawberry.type(
    description="AI usage figures: the same definitions for reports, rows and buckets."
)
class AiCostFigures:
    calls: int = strawberry.field(description="Completed calls: ai_call_completed events.")
    calls_with_unknown_cost: int = strawberry.field(
        description="Completed calls whose cost is unknown (NULL): counted here, never as 0."
    )
    cost_complete: bool = strawberry.field(
        description="True when every completed call has a known cost (callsWithUnknownCost = 0)."
    )
    failed_calls: int = strawberry.field(description="ai_call_failed events.")
    error_rate: float | None = strawberry.field(
        description="failedCalls / (calls + failedCalls); null without any call."
    )
    input_tokens: BigInt = strawberry.field(
        description="Input tokens of completed and failed calls."
    )
    output_tokens: BigInt = strawberry.field(
        description="Output tokens of completed and failed calls."
    )
    accepted_outputs: int = strawberry.field(
        description="ai_output_accepted events. Value signal: growth plan or above."
    )
    rejected_outputs: int = strawberry.field(
        description="ai_output_rejected events. Value signal: growth plan or above."
    )
    edited_outputs: int = strawberry.field(
        description="ai_output_edited events. Value signal: growth plan or above."
    )
    acceptance_rate: float | None = strawberry.field(
        description=(
            "acceptedOutputs / (acceptedOutputs + rejectedOutputs + editedOutputs); null "
            "without output events. Value signal: growth plan or above."
        )
    )
    cost_per_accepted_output_eur: Decimal | None = strawberry.field(
        description=(
            "Known cost of the calls / acceptedOutputs, in EUR (12 decimals at most); null "
            "without accepted outputs or without any known cost. Value signal: growth plan or "
            "above."
        )
    )


def figure_fields(figures: queries.AiCostFigures) -> dict[str, Any]:
    return {
        "calls": figures.calls,
        "calls_with_unknown_cost": figures.calls_with_unknown_cost,
        "cost_complete": figures.calls_with_unknown_cost == 0,
        "failed_calls": figures.failed_calls,
        "error_rate": figures.error_rate,
        "input_tokens": figures.input_tokens,
        "output_tokens": figures.output_tokens,
        "accepted_outputs": figures.accepted_outputs,
        "rejected_outputs": figures.rejected_outputs,
        "edited_outputs": figures.edited_outputs,
        "acceptance_rate": figures.acceptance_rate,
        "cost_per_accepted_output_eur": figures.cost_per_accepted_output_eur,
    }


_COST_DESCRIPTION = (
    "Sum of the known costs of its completed and failed calls, in EUR. Null when there are "
    "calls and not one has a known cost; otherwise a partial sum whenever "
    "callsWithUnknownCost > 0 (see costComplete)."
)


@strawberry.type(
    description=(
        "One row of a breakdown. Output events (accepted/rejected/edited) belong to the row of "
        "the completed call whose ai_call_id they name (looked up to 7 days before the range); "
        "only without such a call are they grouped by their own fields."
    )
)
class AiCostRow(AiCostFigures):
    key: str | None = strawberry.field(
        description=(
            "The dimension's value (customer id, feature, model key, …); null for events that "
            "carry none."
        )
    )
    cost_eur: Decimal | None = strawberry.field(description=_COST_DESCRIPTION)

    @classmethod
    def of(cls, row: queries.AiCostRow) -> AiCostRow:
        return cls(key=row.key or None, cost_eur=row.figures.cost_eur, **figure_fields(row.figures))


@strawberry.type(description="One bucket of the AI cost time series.")
class AiCostPoint(AiCostFigures):
    start: datetime = strawberry.field(description="Start of the bucket (UTC).")
    cost_eur: Decimal | None = strawberry.field(description=_COST_DESCRIPTION)

    @classmethod
    def of(cls, point: queries.AiCostPoint) -> AiCostPoint:
        return cls(
            start=point.start, cost_eur=point.figures.cost_eur, **figure_fields(point.figures)
        )


@strawberry.type(
    description="Latency of completed calls that reported latency_ms, in milliseconds."
)
class AiLatency:
    calls: int = strawberry.field(description="How many calls the percentiles are computed from.")
    p50_ms: float | None = strawberry.field(description="Median; null without calls.")
    p90_ms: float | None = strawberry.field(description="90th percentile; null without calls.")
    p95_ms: float | None = strawberry.field(description="95th percentile; null without calls.")
    p99_ms: float | None = strawberry.field(description="99th percentile; null without calls.")


@strawberry.type(
    description=(
        "Edited outputs whose edit_ratio lies in [lower, upper) (the last bucket includes 1)."
    )
)
class EditRatioBucket:
    lower: Decimal = strawberry.field(description="Lower bound (inclusive).")
    upper: Decimal = strawberry.field(description="Upper bound (exclusive, except 1).")
    count: int = strawberry.field(description="How many edited outputs.")


@strawberry.type(
    description=(
        "AI cost analytics over [from, to) (UTC) for one workspace (plan feature "
        "'ai_cost_analytics': every plan but free). Money is a decimal string in EUR.\n\n"
        "Unknown cost is counted apart, never folded into 0: `totalCostEur` sums the known "
        "costs only, `callsWithUnknownCost` counts completed calls whose cost is unknown, and "
        '`totalCostEur` is null when there are calls and not one has a known cost ("0" '
        "means a known zero or no calls at all).\n\n"
        "Value signals (acceptedOutputs, rejectedOutputs, editedOutputs, acceptanceRate, "
        "costPerAcceptedOutputEur, editRatioDistribution — anywhere in the report) need the "
        "'value_signals' feature (growth plan or above): a query selecting any of them on a "
        "plan without it fails as a whole with UPGRADE_REQUIRED (feature 'value_signals', "
        "requiredPlan), so gating is handled in one place; read `viewer.features` to decide "
        "whether to select them."
    )
)
class AiCostReport(AiCostFigures):
    from_: datetime = strawberry.field(
        name="from", description="Start of the range (UTC, inclusive)."
    )
    to: datetime = strawberry.field(description="End of the range (UTC, exclusive).")
    environment: str | None = strawberry.field(
        description="The environment filter; null for all environments."
    )
    by: AiCostBreakdown = strawberry.field(description="The dimension of `rows`.")
    total_cost_eur: Decimal | None = strawberry.field(
        description=(
            "Sum of the known costs of all completed and failed calls, in EUR; null when there "
            "are calls and not one has a known cost."
        )
    )
    scope: strawberry.Private[queries.AiScope]

    @strawberry.field(description="One row per value of `by`, costliest first.")
    async def rows(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many rows, 1 to {MAX_ROWS}.")
        ] = 100,
    ) -> list[AiCostRow]:
        if not 1 <= limit <= MAX_ROWS:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_ROWS}.", field="limit")
        rows = await info.context.analytics(
            queries.ai_cost_breakdown, self.scope, queries.Breakdown[self.by.name], limit=limit
        )
        return [AiCostRow.of(row) for row in rows]

    @strawberry.field(
        description=(
            "The figures per time bucket; every bucket overlapping the range is present, empty "
            "ones with zeros (at most 2000 buckets)."
        )
    )
    async def series(
        self,
        info: Info,
        granularity: Annotated[
            Granularity, strawberry.argument(description="The width of a bucket.")
        ] = Granularity.DAY,
    ) -> list[AiCostPoint]:
        points = await info.context.analytics(
            queries.ai_cost_series, self.scope, queries.Granularity[granularity.name]
        )
        return [AiCostPoint.of(point) for point in points]

    @strawberry.field(description="Latency percentiles of completed calls.")
    async def latency(self, info: Info) -> AiLatency:
        found = await info.context.analytics(queries.ai_latency, self.scope)
        return AiLatency(
            calls=found.calls,
            p50_ms=found.p50_ms,
            p90_ms=found.p90_ms,
            p95_ms=found.p95_ms,
            p99_ms=found.p99_ms,
        )

    @strawberry.field(
        description=("Edited outputs by edit_ratio in tenths. Value signal: growth plan or above.")
    )
    async def edit_ratio_distribution(self, info: Info) -> list[EditRatioBucket]:
        buckets = await info.context.analytics(queries.edit_ratio_distribution, self.scope)
        return [EditRatioBucket(lower=b.lower, upper=b.upper, count=b.count) for b in buckets]
