"""Plan limits and feature gates: the one place that decides what a workspace may do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from sqlmodel import Session, select

from app.errors import NotFound, UpgradeRequired
from app.plans.models import Plan

PLANS_FILE = Path(__file__).with_name("plans.json")


@dataclass(frozen=True)
class Limits:
    """A workspace's plan with its subscription overrides applied."""

    plan: Plan
    apps_max: int
    events_monthly_limit: int
    retention_days: int

    @property
    def features(self) -> list[str]:
        return list(self.plan.features)


class Subscriber(Protocol):
    """What plans read of a workspace (`app.accounts.models.Workspace`): its plan and the
    operator's overrides of the plan's limits. Plans sit below accounts: a workspace is on a
    plan, so plans never import the workspace model."""

    @property
    def plan_key(self) -> str: ...
    @property
    def override_apps_max(self) -> int | None: ...
    @property
    def override_events_monthly_limit(self) -> int | None: ...
    @property
    def override_retention_days(self) -> int | None: ...


def seed_plans(session: Session) -> int:
    """Insert the plans of `plans.json` that are missing; operators' edits are kept."""
    existing = {p.key for p in session.exec(select(Plan))}
    added = 0
    for data in json.loads(PLANS_FILE.read_text()):
        if data["key"] in existing:
            continue
        price = data.pop("price_eur_month")
        session.add(Plan(**data, price_eur_month=None if price is None else Decimal(price)))
        added += 1
    return added


def get_plan(session: Session, key: str) -> Plan:
    plan = session.get(Plan, key)
    if plan is None:
        raise NotFound(f"Unknown plan '{key}'.")
    return plan


def limits_for(session: Session, workspace: Subscriber) -> Limits:
    plan = get_plan(session, workspace.plan_key)

    def pick(override: int | None, default: int) -> int:
        return default if override is None else override

    return Limits(
        plan=plan,
        apps_max=pick(workspace.override_apps_max, plan.apps_max),
        events_monthly_limit=pick(
            workspace.override_events_monthly_limit, plan.events_monthly_limit
        ),
        retention_days=pick(workspace.override_retention_days, plan.retention_days),
    )


def lowest_plan_with(session: Session, feature: str) -> Plan | None:
    plans = session.exec(select(Plan).order_by(Plan.rank)).all()  # type: ignore[arg-type]
    return next((p for p in plans if feature in p.features), None)


def require_feature(session: Session, workspace: Subscriber, feature: str) -> None:
    """Raise `UpgradeRequired` unless the workspace's plan includes `feature`."""
    plan = get_plan(session, workspace.plan_key)
    if feature in plan.features:
        return
    needed = lowest_plan_with(session, feature)
    raise UpgradeRequired(feature=feature, required_plan=needed.key if needed else "enterprise")
