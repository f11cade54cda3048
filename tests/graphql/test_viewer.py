"""`viewer`: role, workspace, plan, features, limits and usage."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.plans.queries import month_start
from tests.graphql.conftest import Api, Tenant, event_row

VIEWER = """
{
  viewer {
    role
    workspace { id name }
    plan { key name priceEurMonth }
    features
    eventsThisMonth
    eventsMonthlyLimit
    overage
    appsMax
    appsCount
    retentionDays
  }
}
"""


def test_viewer_shows_the_workspace_plan_limits_and_usage(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    now = utcnow()
    this_month = month_start(now)
    api.insert(
        [
            event_row(tenant, "signup", at=this_month),
            event_row(tenant, "signup", at=now),
            # Last month's event and another workspace's are not this month's usage.
            event_row(tenant, "signup", at=this_month - timedelta(milliseconds=1)),
            event_row(other, "signup", at=now),
        ]
    )
    viewer = api.data(VIEWER, token=tenant.admin_token)["viewer"]
    assert viewer == {
        "role": "ADMIN",
        "workspace": {"id": str(tenant.workspace_id), "name": "Acme"},
        "plan": {"key": "growth", "name": "Growth", "priceEurMonth": "299"},
        "features": ["ai_cost_analytics", "organizations", "value_signals", "health_model_config"],
        "eventsThisMonth": 2,
        "eventsMonthlyLimit": 10_000_000,
        "overage": False,
        "appsMax": 10,
        "appsCount": 1,
        "retentionDays": 365,
    }


def test_viewer_applies_the_subscription_overrides(api: Api, tenant: Tenant) -> None:
    api.override(tenant, apps_max=4, events_monthly_limit=1234, retention_days=7)
    viewer = api.data(VIEWER, token=tenant.admin_token)["viewer"]
    assert (viewer["appsMax"], viewer["eventsMonthlyLimit"], viewer["retentionDays"]) == (
        4,
        1234,
        7,
    )


def test_viewer_shows_overage_past_the_monthly_soft_limit(api: Api, tenant: Tenant) -> None:
    api.override(tenant, events_monthly_limit=1)
    now = utcnow()
    api.insert([event_row(tenant, "signup", at=now), event_row(tenant, "login", at=now)])
    viewer = api.data(VIEWER, token=tenant.admin_token)["viewer"]
    assert (viewer["eventsThisMonth"], viewer["overage"]) == (2, True)


def test_a_member_sees_the_role_member(api: Api, tenant: Tenant) -> None:
    viewer = api.data("{ viewer { role } }", token=api.member_token(tenant))["viewer"]
    assert viewer == {"role": "MEMBER"}


def test_a_superuser_viewer_has_a_role_and_no_workspace(api: Api) -> None:
    viewer = api.data(VIEWER, token=api.superuser_token())["viewer"]
    assert viewer == {
        "role": "SUPERUSER",
        "workspace": None,
        "plan": None,
        "features": [],
        "eventsThisMonth": None,
        "eventsMonthlyLimit": None,
        "overage": None,
        "appsMax": None,
        "appsCount": None,
        "retentionDays": None,
    }
