from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from uuid import UUID

import strawberry

from app.graphql.context import Info
from app.graphql.node import Node, NodeKey
from app.graphql.scalars import BigInt
from app.organizations import health, queries
from app.organizations.service import HealthModelView

_FORMULA = (
    "Each signal of the model with a value v scores 100 * clamp((v - bad) / (good - bad), 0, 1): "
    "0 at or beyond `bad`, 100 at or beyond `good`, linear in between (for lower-is-better "
    "signals `good` < `bad`, the same formula). healthScore = floor(sum(weight * score) / "
    "sum(weight) + 0.5) over the signals of the model that have a value: their weighted mean, "
    "rounded half up to a whole number from 0 to 100; null when no signal with a weight above "
    "0 has a value."
)


@strawberry.enum(
    description=(
        "A signal of an organization's health, measured over the requested range. "
        "Default model: ACTIVITY_TREND weight 30 (bad 0.5, good 1.0), ACTIVE_USERS 25 (bad 1, "
        "good 10), AI_ACCEPTANCE_RATE 20 (bad 0.2, good 0.6), ERROR_RATE 15 (good 0.02, bad "
        "0.2), COST_PER_USER 10 (good 1 EUR, bad 10 EUR)."
    )
)
class HealthSignal(Enum):
    ACTIVITY_TREND = strawberry.enum_value(
        "activity_trend",
        description=(
            "Higher is better. " + health.SIGNALS[health.HealthSignal.activity_trend].description
        ),
    )
    ACTIVE_USERS = strawberry.enum_value(
        "active_users",
        description=(
            "Higher is better. " + health.SIGNALS[health.HealthSignal.active_users].description
        ),
    )
    AI_ACCEPTANCE_RATE = strawberry.enum_value(
        "ai_acceptance_rate",
        description=(
            "Higher is better, a rate in [0, 1]. "
            + health.SIGNALS[health.HealthSignal.ai_acceptance_rate].description
        ),
    )
    ERROR_RATE = strawberry.enum_value(
        "error_rate",
        description=(
            "Lower is better, a rate in [0, 1]. "
            + health.SIGNALS[health.HealthSignal.error_rate].description
        ),
    )
    COST_PER_USER = strawberry.enum_value(
        "cost_per_user",
        description=(
            "Lower is better. " + health.SIGNALS[health.HealthSignal.cost_per_user].description
        ),
    )

    @property
    def domain(self) -> health.HealthSignal:
        return health.HealthSignal[self.name.lower()]

    @classmethod
    def of(cls, signal: health.HealthSignal) -> HealthSignal:
        return cls[signal.name.upper()]


@strawberry.enum(description="What the organizations list is ordered by.")
class OrganizationOrderBy(Enum):
    EVENT_COUNT = strawberry.enum_value("event_count", description="Events in the range.")
    ACTIVE_USERS = strawberry.enum_value("active_users", description="Active users.")
    AI_COST = strawberry.enum_value("ai_cost", description="Known AI cost.")
    FIRST_SEEN = strawberry.enum_value("first_seen", description="First event (within retention).")
    LAST_SEEN = strawberry.enum_value("last_seen", description="Latest event.")
    HEALTH_SCORE = strawberry.enum_value(
        "health_score",
        description="Health score; organizations without one come last in either direction.",
    )
    CUSTOMER_ORG_ID = strawberry.enum_value(
        "customer_org_id", description="The id, byte order (case-sensitive)."
    )


@strawberry.enum(description="Sort direction.")
class SortDirection(Enum):
    ASC = strawberry.enum_value("asc", description="Smallest first.")
    DESC = strawberry.enum_value("desc", description="Largest first.")


@strawberry.enum(description="Where an organization's plan comes from.")
class OrganizationPlanSource(Enum):
    ASSIGNED = strawberry.enum_value(
        "assigned", description="Set on the organization with setOrganizationPlan."
    )
    EVENTS = strawberry.enum_value(
        "events", description="The latest customer_plan property of its events in the range."
    )


@strawberry.type(description="One signal of an organization's health score.")
class HealthSignalScore:
    signal: HealthSignal = strawberry.field(description="Which signal.")
    value: float | None = strawberry.field(
        description=(
            "The measured value over the range (see HealthSignal); null when it cannot be "
            "measured, and for AI_ACCEPTANCE_RATE on plans without the value_signals feature."
        )
    )
    score: float | None = strawberry.field(
        description=(
            "Its score from 0 to 100 (100 * clamp((value - bad) / (good - bad), 0, 1)); null "
            "when there is no value or the signal is not in the health model."
        )
    )
    weight: float = strawberry.field(
        description="Its weight in the health model in force; 0 when not in the model."
    )
    counted: bool = strawberry.field(
        description="Whether it counts in healthScore: in the model, weight above 0, a value."
    )


@strawberry.type(
    description=(
        "A customer organization of the workspace, built from the events that carry its "
        "customer_org_id (case-sensitive: 'Acme' and 'acme' are two organizations; events "
        "without one belong to none). Figures cover the requested range and environment; "
        "`node(id:)` answers them over the default range (the last 30 days, every "
        "environment). Its `id` stands for the organization of the workspace, whatever the "
        "range: a client cache holds the figures of the range it read last."
    )
)
class Organization(Node):
    customer_org_id: str = strawberry.field(description="The id as sent, byte for byte.")
    event_count: BigInt = strawberry.field(description="Its events in the range.")
    active_users: int = strawberry.field(
        description="Distinct non-empty user_hash values among those events."
    )
    ai_cost_eur: Decimal | None = strawberry.field(
        description=(
            "Sum of the known costs of its AI calls (completed and failed) in EUR. Unknown "
            "costs are never counted as 0: see callsWithUnknownCost; null when it made calls "
            'and not one has a known cost, "0" when it made no AI call.'
        )
    )
    ai_cost_complete: bool = strawberry.field(
        description="True when every completed AI call has a known cost."
    )
    calls_with_unknown_cost: int = strawberry.field(
        description="Completed AI calls (ai_call_completed) whose cost is unknown."
    )
    ai_calls: int = strawberry.field(description="Completed AI calls: ai_call_completed.")
    failed_ai_calls: int = strawberry.field(description="Failed AI calls: ai_call_failed.")
    first_seen: datetime = strawberry.field(
        description=(
            "Its first event (UTC) before the end of the range and within the workspace's "
            "retention — possibly before the range ('customer since')."
        )
    )
    last_seen: datetime = strawberry.field(description="Its latest event in the range (UTC).")
    plan: str | None = strawberry.field(
        description=(
            "Your customer's plan: the one set with setOrganizationPlan, else the latest "
            "customer_plan property of its events in the range; null when neither exists."
        )
    )
    plan_source: OrganizationPlanSource | None = strawberry.field(
        description="Where `plan` comes from; null when there is no plan."
    )
    health_score: int | None = strawberry.field(
        description="Health from 0 (worst) to 100 (best). " + _FORMULA
    )
    health_signals: list[HealthSignalScore] = strawberry.field(
        description="Every signal with its value, score and weight: the score's breakdown."
    )
    cursor: str = strawberry.field(
        description=(
            "Pass as `after` (with the same orderBy and direction) for the organizations "
            "that follow this one."
        )
    )
    workspace_id: strawberry.Private[UUID]

    @classmethod
    def of(
        cls, row: queries.OrganizationRow, view: HealthModelView, *, workspace_id: UUID
    ) -> Organization:
        model = view.scoring_model
        signals = []
        for reading in row.signals:
            setting = model.setting(reading.signal)
            hidden = reading.signal is health.HealthSignal.ai_acceptance_rate and not (
                view.value_signals
            )
            signals.append(
                HealthSignalScore(
                    signal=HealthSignal.of(reading.signal),
                    value=None if hidden else reading.value,
                    score=reading.score,
                    weight=setting.weight if setting else 0.0,
                    counted=bool(setting and setting.weight > 0 and reading.score is not None),
                )
            )
        source = None
        if row.assigned_plan:
            source = OrganizationPlanSource.ASSIGNED
        elif row.event_plan:
            source = OrganizationPlanSource.EVENTS
        return cls(
            customer_org_id=row.customer_org_id,
            event_count=BigInt(row.event_count),
            active_users=row.active_users,
            ai_cost_eur=row.ai_cost_eur,
            ai_cost_complete=row.calls_with_unknown_cost == 0,
            calls_with_unknown_cost=row.calls_with_unknown_cost,
            ai_calls=row.calls,
            failed_ai_calls=row.failed_calls,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            plan=row.plan,
            plan_source=source,
            health_score=row.health_score,
            health_signals=signals,
            cursor=row.cursor,
            workspace_id=workspace_id,
        )

    def node_key(self) -> NodeKey:
        return (str(self.workspace_id), self.customer_org_id)


@strawberry.type(description="One signal of a health model with its weight and thresholds.")
class HealthSignalSetting:
    signal: HealthSignal = strawberry.field(description="Which signal.")
    weight: float = strawberry.field(
        description="Its weight (≥ 0); weights are relative, they need not sum to 100."
    )
    good: float = strawberry.field(description="The value that scores 100 (and beyond it).")
    bad: float = strawberry.field(description="The value that scores 0 (and beyond it).")
    higher_is_better: bool = strawberry.field(
        description="True: bad < good; false (error rate, cost per user): good < bad."
    )
    active: bool = strawberry.field(
        description=(
            "False when the plan keeps it out of scores: AI_ACCEPTANCE_RATE needs the "
            "value_signals feature (growth plan or above)."
        )
    )

    @classmethod
    def of(cls, setting: health.SignalSetting, *, active: bool = True) -> HealthSignalSetting:
        return cls(
            signal=HealthSignal.of(setting.signal),
            weight=setting.weight,
            good=setting.good,
            bad=setting.bad,
            higher_is_better=health.SIGNALS[setting.signal].higher_is_better,
            active=active,
        )


@strawberry.type(
    description=(
        "The organization health model in force for the workspace: which signals make up "
        "healthScore, with which weights and thresholds. " + _FORMULA + " Every workspace "
        "may read it; configuring it needs the health_model_config feature (growth plan or "
        "above). Without that feature the documented default model applies (a model stored "
        "before a downgrade applies again after an upgrade). One per workspace: its `id` "
        "stays the same through configureHealthModel and resetHealthModel."
    )
)
class HealthModelConfig(Node):
    signals: list[HealthSignalSetting] = strawberry.field(
        description="The model's signals; a signal not listed does not count."
    )
    is_default: bool = strawberry.field(description="True when the default model applies.")
    editable: bool = strawberry.field(
        description=(
            "Whether the plan includes health_model_config (configureHealthModel allowed for "
            "admins); false: UPGRADE_REQUIRED, show an upgrade prompt."
        )
    )
    updated_at: datetime | None = strawberry.field(
        description="When the workspace's model was last configured; null for the default."
    )
    default_signals: list[HealthSignalSetting] = strawberry.field(
        description="The documented default model, e.g. to reset a form."
    )
    formula: str = strawberry.field(description="How healthScore is computed, in words.")
    workspace_id: strawberry.Private[UUID]

    @classmethod
    def of(cls, view: HealthModelView, *, workspace_id: UUID) -> HealthModelConfig:
        def active(setting: health.SignalSetting) -> bool:
            return view.scoring_model.setting(setting.signal) is not None

        return cls(
            signals=[HealthSignalSetting.of(s, active=active(s)) for s in view.model.signals],
            is_default=view.is_default,
            editable=view.editable,
            updated_at=view.updated_at,
            default_signals=[HealthSignalSetting.of(s) for s in health.DEFAULT_MODEL.signals],
            formula=_FORMULA,
            workspace_id=workspace_id,
        )

    def node_key(self) -> NodeKey:
        return (str(self.workspace_id),)


@strawberry.input(description="One signal of the health model to configure.")
class HealthSignalInput:
    signal: HealthSignal = strawberry.field(description="Which signal (each at most once).")
    weight: float = strawberry.field(
        description="Its weight, ≥ 0; the weights of the model must sum to more than 0."
    )
    good: float = strawberry.field(
        description=(
            "The value that scores 100. Rates (AI_ACCEPTANCE_RATE, ERROR_RATE) lie in [0, 1], "
            "other values are ≥ 0."
        )
    )
    bad: float = strawberry.field(
        description=(
            "The value that scores 0: below `good` when higher is better, above it when lower "
            "is better (ERROR_RATE, COST_PER_USER)."
        )
    )

    def domain(self) -> health.SignalSetting:
        return health.SignalSetting(
            signal=self.signal.domain, weight=self.weight, good=self.good, bad=self.bad
        )


@strawberry.type(
    description=(
        "An organization's assigned plan after setOrganizationPlan; `organization` is the "
        "organization itself, so that a client cache shows its new plan wherever it is listed."
    )
)
class OrganizationPlanAssignment:
    customer_org_id: str = strawberry.field(description="The organization (case-sensitive).")
    plan: str | None = strawberry.field(
        description="The assigned plan; null when cleared (its events' customer_plan shows)."
    )
    previous_plan: str | None = strawberry.field(
        description="The plan assigned before; null when none was."
    )
    updated_at: datetime = strawberry.field(description="When it was assigned (UTC).")
    workspace_id: strawberry.Private[UUID]

    @strawberry.field(
        description=(
            "The organization with its new plan, over the default range (the last 30 days); "
            "null when it has no events in it. UPGRADE_REQUIRED (feature 'organizations') "
            "on plans without organizations."
        )
    )
    async def organization(self, info: Info) -> Organization | None:
        from app.graphql.organizations.queries import find_organization

        return await find_organization(info.context, self.workspace_id, self.customer_org_id)
