from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from app.ai_cost import reports as ai_cost
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.scalars import BigInt
from app.store import time_split
from app.store.interface import AnalyticsStore

MAX_ROWS = 1000
MAX_SERIES_TOP = 50
# The fields computed from the latency states: the costliest aggregate, so it is only computed
# when one of them is selected.
LATENCY_FIELDS = frozenset({"latency"})
# Likewise the ten sums of the edit-ratio distribution (each aggregate costs planning time).
EDIT_RATIO_FIELDS = frozenset({"editRatioDistribution"})


@strawberry.enum(description="The dimension the rows of an AI cost report are grouped by.")
class AiCostBreakdown(Enum):
    CUSTOMER = strawberry.enum_value(
        "customer", description="By customer_org_id (case-sensitive: 'Acme' and 'acme' differ)."
    )
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
        "plan",
        description=(
            "By your customer's plan: the event property customer_plan when the call has one, "
            "else the plan currently set on the organization (setOrganizationPlan), else null."
        ),
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
    description=(
        "Latency of completed calls that reported latency_ms, in milliseconds. APPROXIMATE, "
        "within 1 %: each latency is rounded to a logarithmic bucket of 1 % relative width "
        "before the percentiles are taken, so that they can be pre-aggregated and merged "
        "(exact percentiles cannot be). The p-percentile is the smallest latency L such that "
        "a share p of the calls took at most L (e.g. p50 of 100, 200, 300 and 400 ms is "
        "≈ 200 ms). Failed calls are not included."
    )
)
class AiLatency:
    calls: int = strawberry.field(description="How many calls the percentiles are computed from.")
    p50_ms: float | None = strawberry.field(description="Median; null without calls.")
    p90_ms: float | None = strawberry.field(description="90th percentile; null without calls.")
    p95_ms: float | None = strawberry.field(description="95th percentile; null without calls.")
    p99_ms: float | None = strawberry.field(description="99th percentile; null without calls.")

    @classmethod
    def of(cls, found: ai_cost.LatencyPercentiles) -> AiLatency:
        return cls(
            calls=found.calls,
            p50_ms=found.p50_ms,
            p90_ms=found.p90_ms,
            p95_ms=found.p95_ms,
            p99_ms=found.p99_ms,
        )


@strawberry.type(
    description=(
        "Edited outputs whose edit_ratio lies in [lower, upper) (the last bucket includes 1)."
    )
)
class EditRatioBucket:
    lower: Decimal = strawberry.field(description="Lower bound (inclusive).")
    upper: Decimal = strawberry.field(description="Upper bound (exclusive, except 1).")
    count: int = strawberry.field(description="How many edited outputs.")


_VALUE_SIGNAL = "Value signal: growth plan or above."


@strawberry.type(
    description=(
        "AI usage figures: the same definitions for reports, rows and buckets. Output events "
        "(accepted/rejected/edited) count in the row of the completed call whose ai_call_id "
        "they name — the earliest such call of the workspace within 7 days of the output, "
        "either side — and only without such a call under their own fields. Money is EUR."
    )
)
class AiCostFigures:
    calls: int = strawberry.field(description="Completed calls: ai_call_completed events.")
    calls_with_unknown_cost: int = strawberry.field(
        description="Completed calls whose cost is unknown (NULL): counted here, never as 0."
    )
    cost_complete: bool = strawberry.field(
        description="True when every completed call has a known cost (callsWithUnknownCost = 0)."
    )
    priced_call_share: float | None = strawberry.field(
        description=(
            "Priced coverage of calls: (calls - callsWithUnknownCost) / calls, the share of "
            "completed calls whose cost is known; null without calls."
        )
    )
    priced_token_share: float | None = strawberry.field(
        description=(
            "Priced coverage of tokens: input + output tokens of the completed calls whose "
            "cost is known / input + output tokens of all completed calls; null when they "
            "reported no tokens."
        )
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
    cached_input_tokens: BigInt = strawberry.field(
        description="Cached input tokens (cached_input_tokens) of completed and failed calls."
    )
    accepted_outputs: int = strawberry.field(
        description=f"ai_output_accepted events. {_VALUE_SIGNAL}"
    )
    rejected_outputs: int = strawberry.field(
        description=f"ai_output_rejected events. {_VALUE_SIGNAL}"
    )
    edited_outputs: int = strawberry.field(description=f"ai_output_edited events. {_VALUE_SIGNAL}")
    acceptance_rate: float | None = strawberry.field(
        description=(
            "acceptedOutputs / (acceptedOutputs + rejectedOutputs + editedOutputs); null "
            f"without output events. {_VALUE_SIGNAL}"
        )
    )
    cost_per_accepted_output_eur: Decimal | None = strawberry.field(
        description=(
            "Known cost of the calls / acceptedOutputs, in EUR (12 decimals at most); null "
            f"without accepted outputs or without any known cost. {_VALUE_SIGNAL}"
        )
    )
    wasted_spend_eur: Decimal = strawberry.field(
        description=(
            "Spend that produced nothing usable, in EUR: the known cost of the failed calls, "
            "plus, for each ai_output_rejected event, the known cost of the completed call it "
            "names (a call rejected twice counts twice; a rejection without a matching call, "
            "or whose call's cost is unknown, adds nothing). Known costs only: compare with "
            f"callsWithUnknownCost. {_VALUE_SIGNAL}"
        )
    )
    edit_ratio_distribution: list[EditRatioBucket] = strawberry.field(
        description=f"Edited outputs by edit_ratio in tenths. {_VALUE_SIGNAL}"
    )
    latency: AiLatency = strawberry.field(
        description="Latency percentiles of the completed calls (approximate, see AiLatency)."
    )


def figure_fields(figures: ai_cost.AiCostFigures) -> dict[str, Any]:
    return {
        "calls": figures.calls,
        "calls_with_unknown_cost": figures.calls_with_unknown_cost,
        "cost_complete": figures.calls_with_unknown_cost == 0,
        "priced_call_share": figures.priced_call_share,
        "priced_token_share": figures.priced_token_share,
        "failed_calls": figures.failed_calls,
        "error_rate": figures.error_rate,
        "input_tokens": figures.input_tokens,
        "output_tokens": figures.output_tokens,
        "cached_input_tokens": figures.cached_input_tokens,
        "accepted_outputs": figures.accepted_outputs,
        "rejected_outputs": figures.rejected_outputs,
        "edited_outputs": figures.edited_outputs,
        "acceptance_rate": figures.acceptance_rate,
        "cost_per_accepted_output_eur": figures.cost_per_accepted_output_eur,
        "wasted_spend_eur": figures.wasted_spend_eur,
        "edit_ratio_distribution": [
            EditRatioBucket(lower=b.lower, upper=b.upper, count=b.count)
            for b in figures.edit_ratio_distribution
        ],
        "latency": AiLatency.of(figures.latency),
    }


_COST_DESCRIPTION = (
    "Sum of the known costs of its completed and failed calls, in EUR. Null when there are "
    "calls and not one has a known cost; otherwise a partial sum whenever "
    "callsWithUnknownCost > 0 (see costComplete and pricedCallShare)."
)


@strawberry.type(
    description=(
        "One row of a breakdown (or of a bucket of a split series). Output events belong to "
        "the row of their call (see AiCostFigures)."
    )
)
class AiCostRow(AiCostFigures):
    key: str | None = strawberry.field(
        description=(
            "The dimension's value (customer id, feature, model key, …); null for events that "
            "carry none, and for the `other` row of a split series."
        )
    )
    other: bool = strawberry.field(
        description=(
            "In a split series: true for the row that gathers every key beyond the top N. "
            "Always false in `rows`."
        )
    )
    cost_eur: Decimal | None = strawberry.field(description=_COST_DESCRIPTION)

    @classmethod
    def of(cls, row: ai_cost.AiCostRow) -> AiCostRow:
        return cls(
            key=row.key or None,
            other=row.other,
            cost_eur=row.figures.cost_eur,
            **figure_fields(row.figures),
        )


@strawberry.type(description="One bucket of the AI cost time series.")
class AiCostPoint(AiCostFigures):
    start: datetime = strawberry.field(description="Start of the bucket (UTC).")
    cost_eur: Decimal | None = strawberry.field(description=_COST_DESCRIPTION)
    rows: list[AiCostRow] = strawberry.field(
        description=(
            "With `series(by: …)`: the bucket's figures per key — the `top` keys of the whole "
            "range (costliest first, as in `rows`) that have events in this bucket, then one "
            "row with `other: true` for all remaining keys. Their figures add up to the "
            "bucket's (latency percentiles excepted). Empty without `by`."
        )
    )

    @classmethod
    def of(cls, point: ai_cost.AiCostPoint) -> AiCostPoint:
        return cls(
            start=point.start,
            cost_eur=point.figures.cost_eur,
            rows=[AiCostRow.of(row) for row in point.rows],
            **figure_fields(point.figures),
        )


async def _report_figure(root: AiCostReport, info: Info) -> Any:
    """One of the report's own figures. The statement computing them runs once per report,
    when the first of them is resolved: beside the report's `rows` and `series` (sibling
    fields resolve concurrently), and not at all when the query selects none of them."""
    figures = await root.totals(info)
    return figures[info.python_name]


_TOTAL_COST_DESCRIPTION = (
    "Sum of the known costs of all completed and failed calls, in EUR; null when there "
    "are calls and not one has a known cost."
)


def _figure(name: str) -> Any:
    """The report's field `name` of AiCostFigures, resolved by `_report_figure`."""
    if name == "total_cost_eur":
        return strawberry.field(
            resolver=_report_figure,
            graphql_type=Decimal | None,
            description=_TOTAL_COST_DESCRIPTION,
        )
    figure = _FIGURES[name]
    return strawberry.field(
        resolver=_report_figure, graphql_type=figure.type, description=figure.description
    )


_FIGURES = {
    field.python_name: field
    for field in AiCostFigures.__strawberry_definition__.fields  # type: ignore[attr-defined]
}


def _totals_fields(store: AnalyticsStore, scope: ai_cost.AiScope, **kwargs: Any) -> dict[str, Any]:
    totals = ai_cost.ai_cost_totals(store, scope, **kwargs)
    return {"total_cost_eur": totals.cost_eur, **figure_fields(totals)}


@strawberry.type(
    description=(
        "AI cost analytics over [from, to) (UTC) for one workspace (plan feature "
        "'ai_cost_analytics': every plan but free). Money is a decimal string in EUR.\n\n"
        "Unknown cost is counted apart, never folded into 0: `totalCostEur` sums the known "
        "costs only, `callsWithUnknownCost` counts completed calls whose cost is unknown, and "
        '`totalCostEur` is null when there are calls and not one has a known cost ("0" '
        "means a known zero or no calls at all).\n\n"
        "Filters (environment, app, customer, feature, model, provider) select calls by their "
        "own fields and output events by their call's, like the rows.\n\n"
        "Every figure but the latency percentiles is exact. They are served from aggregates "
        "pre-computed as events are written (whole hours or days of the range) and from the "
        "events themselves (the partial hours or days at its ends), with the same result as a "
        "scan of every event.\n\n"
        "Value signals (acceptedOutputs, rejectedOutputs, editedOutputs, acceptanceRate, "
        "costPerAcceptedOutputEur, wastedSpendEur, editRatioDistribution — anywhere in the "
        "report) need the 'value_signals' feature (growth plan or above): a query selecting "
        "any of them on a plan without it fails as a whole with UPGRADE_REQUIRED (feature "
        "'value_signals', requiredPlan), so gating is handled in one place; read "
        "`viewer.features` to decide whether to select them."
    )
)
class AiCostReport:
    id: strawberry.ID = strawberry.field(
        description=(
            "Stable for one workspace and one set of `aiCost` arguments (as sent: an omitted "
            "`to` stays omitted), opaque. A normalized client cache keeps one report per "
            "arguments and merges what several queries select of it, instead of replacing "
            "one query's selection with another's. A report is computed, not stored: it is "
            "not a Node, and `node(id:)` answers null for it."
        )
    )
    from_: datetime = strawberry.field(
        name="from", description="Start of the range (UTC, inclusive)."
    )
    to: datetime = strawberry.field(description="End of the range (UTC, exclusive).")
    environment: str | None = strawberry.field(
        description="The environment filter; null for all environments."
    )
    by: AiCostBreakdown = strawberry.field(description="The dimension of `rows`.")
    # The report's own figures (AiCostFigures' and totalCostEur), resolved on demand.
    total_cost_eur = _figure("total_cost_eur")
    calls = _figure("calls")
    calls_with_unknown_cost = _figure("calls_with_unknown_cost")
    cost_complete = _figure("cost_complete")
    priced_call_share = _figure("priced_call_share")
    priced_token_share = _figure("priced_token_share")
    failed_calls = _figure("failed_calls")
    error_rate = _figure("error_rate")
    input_tokens = _figure("input_tokens")
    output_tokens = _figure("output_tokens")
    cached_input_tokens = _figure("cached_input_tokens")
    accepted_outputs = _figure("accepted_outputs")
    rejected_outputs = _figure("rejected_outputs")
    edited_outputs = _figure("edited_outputs")
    acceptance_rate = _figure("acceptance_rate")
    cost_per_accepted_output_eur = _figure("cost_per_accepted_output_eur")
    wasted_spend_eur = _figure("wasted_spend_eur")
    edit_ratio_distribution = _figure("edit_ratio_distribution")
    latency = _figure("latency")
    scope: strawberry.Private[ai_cost.AiScope]
    # Whether the query selects the latency percentiles / edit-ratio distribution of the
    # report's own figures (each costs its aggregates).
    with_latency: strawberry.Private[bool]
    with_edit_ratios: strawberry.Private[bool]
    # What `Context.once` remembers this report's totals by.
    token: strawberry.Private[object] = dataclasses.field(default_factory=object)

    async def totals(self, info: Info) -> dict[str, Any]:
        """The report's own figures by field name: one statement (two with latency) for the
        report, run when the first of its figures is resolved."""
        latency, edit_ratios = self.with_latency, self.with_edit_ratios

        async def load() -> dict[str, Any]:
            return await info.context.analytics(
                _totals_fields, self.scope, latency=latency, edit_ratios=edit_ratios
            )

        return await info.context.once(("ai_cost_totals", self.token), load)

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
        return await info.context.analytics(
            _breakdown_rows,
            self.scope,
            ai_cost.Breakdown[self.by.name],
            limit=limit,
            latency=selects(info, LATENCY_FIELDS),
            edit_ratios=selects(info, EDIT_RATIO_FIELDS),
            top_keys=info.context.runtime.top_keys,
        )

    @strawberry.field(
        description=(
            "The figures per time bucket; every bucket overlapping the range is present, empty "
            "ones with zeros (at most 2000 buckets). With `by`, each bucket also has `rows`: "
            "the top keys of the range and an `other` row."
        )
    )
    async def series(
        self,
        info: Info,
        granularity: Annotated[
            Granularity, strawberry.argument(description="The width of a bucket.")
        ] = Granularity.DAY,
        by: Annotated[
            AiCostBreakdown | None,
            strawberry.argument(description="Split each bucket by this dimension."),
        ] = None,
        top: Annotated[
            int,
            strawberry.argument(
                description=f"With `by`: how many keys get rows of their own, 1 to "
                f"{MAX_SERIES_TOP}; the rest are gathered in the `other` row."
            ),
        ] = 10,
    ) -> list[AiCostPoint]:
        if not 1 <= top <= MAX_SERIES_TOP:
            raise BadUserInput(f"'top' must be between 1 and {MAX_SERIES_TOP}.", field="top")
        return await info.context.analytics(
            _series_points,
            self.scope,
            time_split.Granularity[granularity.name],
            by=None if by is None else ai_cost.Breakdown[by.name],
            top=top,
            latency=selects(info, LATENCY_FIELDS),
            edit_ratios=selects(info, EDIT_RATIO_FIELDS),
            top_keys=info.context.runtime.top_keys,
        )


# The report and its conversion to GraphQL objects, in the analytics thread: converting
# thousands of rows is CPU work the event loop must not do.


def _breakdown_rows(store: AnalyticsStore, *args: Any, **kwargs: Any) -> list[AiCostRow]:
    return [AiCostRow.of(row) for row in ai_cost.ai_cost_breakdown(store, *args, **kwargs)]


def _series_points(store: AnalyticsStore, *args: Any, **kwargs: Any) -> list[AiCostPoint]:
    return [AiCostPoint.of(point) for point in ai_cost.ai_cost_series(store, *args, **kwargs)]


def executed(selection: Selection) -> bool:
    """Whether a field or fragment will be executed: not left out by `@skip(if: true)` or
    `@include(if: false)` (variables already resolved), so that a query written once for
    every plan is only gated on what it really asks for."""
    directives = selection.directives
    if directives.get("skip", {}).get("if") is True:
        return False
    return directives.get("include", {}).get("if") is not False


def selects_any(selections: Iterable[Selection], names: frozenset[str]) -> bool:
    """Whether the selection set (fragments included) asks for any of `names`, at any depth,
    among the fields that will be executed."""
    for selection in selections:
        if not executed(selection):
            continue
        if getattr(selection, "name", None) in names:
            return True
        if selects_any(selection.selections, names):
            return True
    return False


def selects(info: Info, names: frozenset[str]) -> bool:
    """Whether the field being resolved selects any of `names`, at any depth."""
    return selects_any(info.selected_fields, names)


def selects_directly(info: Info, names: frozenset[str]) -> bool:
    """Whether the field being resolved selects any of `names` as its own fields (through
    fragments, but not inside its sub-fields)."""

    def own(selections: Iterable[Selection]) -> bool:
        for selection in selections:
            if not executed(selection):
                continue
            if isinstance(selection, SelectedField):
                if selection.name in names:
                    return True
            elif own(selection.selections):  # a fragment: its fields are ours
                return True
        return False

    return any(own(field.selections) for field in info.selected_fields)
