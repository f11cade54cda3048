"""Organizations: who may see them, the health model in force, and organization plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlmodel import Session

from app import audit
from app.accounts.models import Workspace
from app.accounts.service import get_workspace
from app.db import utcnow
from app.errors import BadUserInput
from app.organizations import queries
from app.organizations.health import (
    DEFAULT_MODEL,
    HealthModel,
    HealthSignal,
    SignalSetting,
    validate_model,
)
from app.organizations.models import HealthModelConfig
from app.plans.service import get_plan, require_feature
from app.store.interface import AnalyticsStore

ORGANIZATIONS = "organizations"
HEALTH_MODEL_CONFIG = "health_model_config"
VALUE_SIGNALS = "value_signals"

MAX_ORG_ID_LENGTH = 200
MAX_PLAN_LENGTH = 100


@dataclass(frozen=True)
class HealthModelView:
    """The health model a workspace's scores use, and what its plan lets it do with it."""

    model: HealthModel
    is_default: bool
    editable: bool
    value_signals: bool
    updated_at: datetime | None
    updated_by: str | None

    @property
    def scoring_model(self) -> HealthModel:
        """The model applied to scores: the AI acceptance rate is a value signal, so without
        `value_signals` it is left out (its value is not shown either)."""
        if self.value_signals:
            return self.model
        return self.model.without([HealthSignal.ai_acceptance_rate])


def _view(session: Session, workspace: Workspace) -> HealthModelView:
    features = set(get_plan(session, workspace.plan_key).features)
    editable = HEALTH_MODEL_CONFIG in features
    # A stored model applies only while the plan includes the feature: after a downgrade the
    # default model scores again, and the stored one comes back with an upgrade.
    row = session.get(HealthModelConfig, workspace.id) if editable else None
    return HealthModelView(
        model=DEFAULT_MODEL if row is None else HealthModel.from_json(row.signals),
        is_default=row is None,
        editable=editable,
        value_signals=VALUE_SIGNALS in features,
        updated_at=None if row is None else row.updated_at,
        updated_by=None if row is None else row.updated_by,
    )


def health_model(session: Session, *, workspace_id: UUID) -> HealthModelView:
    """The model in force for the workspace (any plan may read it)."""
    return _view(session, get_workspace(session, workspace_id))


def organizations_model(session: Session, *, workspace_id: UUID) -> HealthModelView:
    """The model to score a page of organizations with; `UpgradeRequired` unless the plan
    includes `organizations`."""
    workspace = get_workspace(session, workspace_id)
    require_feature(session, workspace, ORGANIZATIONS)
    return _view(session, workspace)


def configure_health_model(
    session: Session, *, actor: str, workspace_id: UUID, signals: Sequence[SignalSetting]
) -> HealthModelView:
    """Store the workspace's own model (`UpgradeRequired` without `health_model_config`,
    `BadUserInput` for an invalid model), audited with before and after."""
    workspace = get_workspace(session, workspace_id, lock=True)
    require_feature(session, workspace, HEALTH_MODEL_CONFIG)
    model = validate_model(signals)
    row = session.get(HealthModelConfig, workspace_id)
    before = None if row is None else {"signals": row.signals}
    if row is None:
        row = HealthModelConfig(workspace_id=workspace_id, signals=[], updated_by=actor)
    row.signals = model.as_json()
    row.updated_at = utcnow()
    row.updated_by = actor
    session.add(row)
    audit.record(
        session,
        actor=actor,
        action="health_model.configure",
        workspace_id=workspace_id,
        before=before,
        after={"signals": row.signals},
    )
    session.flush()
    return _view(session, workspace)


def reset_health_model(session: Session, *, actor: str, workspace_id: UUID) -> HealthModelView:
    """Back to the documented default model (same gate as configuring)."""
    workspace = get_workspace(session, workspace_id, lock=True)
    require_feature(session, workspace, HEALTH_MODEL_CONFIG)
    row = session.get(HealthModelConfig, workspace_id)
    if row is not None:
        audit.record(
            session,
            actor=actor,
            action="health_model.reset",
            workspace_id=workspace_id,
            before={"signals": row.signals},
            after=None,
        )
        session.delete(row)
        session.flush()
    return _view(session, workspace)


# --- organization plans (ClickHouse) ----------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    before: queries.AssignedPlan | None
    after: queries.AssignedPlan


def validate_organization_plan(customer_org_id: str, plan: str | None) -> tuple[str, str]:
    """The organization id as given (ids are case- and byte-exact) and the plan, stripped;
    '' means "no assigned plan" (the latest customer_plan of its events shows again)."""
    if not customer_org_id or len(customer_org_id) > MAX_ORG_ID_LENGTH:
        raise BadUserInput(
            f"'customerOrgId' must be 1 to {MAX_ORG_ID_LENGTH} characters.", field="customerOrgId"
        )
    cleaned = (plan or "").strip()
    if len(cleaned) > MAX_PLAN_LENGTH:
        raise BadUserInput(f"'plan' is at most {MAX_PLAN_LENGTH} characters.", field="plan")
    return customer_org_id, cleaned


def write_organization_plan(
    store: AnalyticsStore,
    *,
    workspace_id: UUID,
    customer_org_id: str,
    plan: str | None,
    now: datetime | None = None,
) -> PlanChange:
    """Assign `plan` to the organization (None or '' clears it) in `organization_plans`.

    The table keeps the row with the latest `updated_at`, so the new row is stamped strictly
    after the previous one even when the clock reads the same millisecond.
    """
    customer_org_id, cleaned = validate_organization_plan(customer_org_id, plan)
    instant = now or utcnow()
    stamp = instant.replace(microsecond=instant.microsecond // 1000 * 1000)
    before = queries.assigned_plan(
        store, workspace_id=workspace_id, customer_org_id=customer_org_id
    )
    if before is not None and stamp <= before.updated_at:
        stamp = before.updated_at + timedelta(milliseconds=1)
    after = queries.AssignedPlan(customer_org_id=customer_org_id, plan=cleaned, updated_at=stamp)
    queries.insert_organization_plan(store, workspace_id=workspace_id, plan=after)
    return PlanChange(before=before, after=after)


def audit_organization_plan(
    session: Session, *, actor: str, workspace_id: UUID, change: PlanChange
) -> None:
    audit.record(
        session,
        actor=actor,
        action="organization.set_plan",
        workspace_id=workspace_id,
        before=None
        if change.before is None
        else {"customer_org_id": change.before.customer_org_id, "plan": change.before.plan},
        after={"customer_org_id": change.after.customer_org_id, "plan": change.after.plan},
    )
