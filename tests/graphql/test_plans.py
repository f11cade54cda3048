"""`plans`, and operators' `workspaces`, `setWorkspacePlan` and `setSubscriptionOverrides`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlmodel import select

from app.audit import AuditEntry
from app.db import session_scope, utcnow
from tests.graphql.conftest import Api, Tenant, event_row

PLANS = """
{ plans { key name rank priceEurMonth appsMax eventsMonthlyLimit retentionDays features } }
"""

SUBSCRIPTION = """
  workspaceId name
  plan { key appsMax eventsMonthlyLimit retentionDays }
  overrides { appsMax eventsMonthlyLimit retentionDays }
  appsMax eventsMonthlyLimit retentionDays appsCount eventsThisMonth overage
"""

SET_PLAN = f"""
mutation ($w: UUID!, $p: String!) {{
  setWorkspacePlan(workspaceId: $w, plan: $p) {{ {SUBSCRIPTION} }}
}}
"""

VIEWER = "{ viewer { plan { key } features appsMax eventsMonthlyLimit retentionDays } }"


def overrides_mutation(arguments: str) -> str:
    return (
        "mutation ($w: UUID!) { setSubscriptionOverrides(workspaceId: $w"
        f"{arguments}) {{ {SUBSCRIPTION} }} }}"
    )


def audit(api: Api, action: str) -> list[tuple[Any, Any, Any]]:
    with session_scope(api.runtime.engine) as session:
        entries = session.exec(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.at)  # type: ignore[arg-type]
        ).all()
        return [(e.workspace_id, e.before, e.after) for e in entries]


def test_plans_show_prices_limits_and_features(api: Api, tenant: Tenant) -> None:
    plans = api.data(PLANS, token=api.member_token(tenant))["plans"]
    assert plans == [
        {"key": "free", "name": "Free", "rank": 0, "priceEurMonth": "0", "appsMax": 1,
         "eventsMonthlyLimit": 10_000, "retentionDays": 30, "features": []},
        {"key": "ai_cost", "name": "AI Cost", "rank": 1, "priceEurMonth": "49", "appsMax": 2,
         "eventsMonthlyLimit": 500_000, "retentionDays": 90, "features": ["ai_cost_analytics"]},
        {"key": "starter", "name": "Starter", "rank": 2, "priceEurMonth": "99", "appsMax": 3,
         "eventsMonthlyLimit": 1_000_000, "retentionDays": 180,
         "features": ["ai_cost_analytics", "organizations"]},
        {"key": "growth", "name": "Growth", "rank": 3, "priceEurMonth": "299", "appsMax": 10,
         "eventsMonthlyLimit": 10_000_000, "retentionDays": 365,
         "features": ["ai_cost_analytics", "organizations", "value_signals",
                      "health_model_config"]},
        {"key": "enterprise", "name": "Enterprise", "rank": 4, "priceEurMonth": None,
         "appsMax": 100, "eventsMonthlyLimit": 100_000_000, "retentionDays": 730,
         "features": ["ai_cost_analytics", "organizations", "value_signals",
                      "health_model_config"]},
    ]  # fmt: skip


def test_an_operator_lists_workspaces_with_limits_and_usage(api: Api, tenant: Tenant) -> None:
    other = api.tenant(plan="free", name="Other")
    api.override(other, events_monthly_limit=1)
    now = utcnow()
    api.insert(
        [
            event_row(tenant, "signup", at=now),
            event_row(other, "signup", at=now),
            event_row(other, "login", at=now),
        ]
    )
    operator = api.superuser_token()
    listed = api.data(f"{{ workspaces {{ {SUBSCRIPTION} }} }}", token=operator)["workspaces"]
    assert listed == [
        {
            "workspaceId": str(tenant.workspace_id),
            "name": "Acme",
            "plan": {"key": "growth", "appsMax": 10, "eventsMonthlyLimit": 10_000_000,
                     "retentionDays": 365},
            "overrides": {"appsMax": None, "eventsMonthlyLimit": None, "retentionDays": None},
            "appsMax": 10,
            "eventsMonthlyLimit": 10_000_000,
            "retentionDays": 365,
            "appsCount": 1,
            "eventsThisMonth": 1,
            "overage": False,
        },
        {
            "workspaceId": str(other.workspace_id),
            "name": "Other",
            "plan": {"key": "free", "appsMax": 1, "eventsMonthlyLimit": 10_000,
                     "retentionDays": 30},
            "overrides": {"appsMax": None, "eventsMonthlyLimit": 1, "retentionDays": None},
            "appsMax": 1,
            "eventsMonthlyLimit": 1,
            "retentionDays": 30,
            "appsCount": 1,
            "eventsThisMonth": 2,
            "overage": True,
        },
    ]  # fmt: skip
    searched = api.data('{ workspaces(search: "oth") { name } }', token=operator)["workspaces"]
    by_id = api.data(
        "query ($s: String) { workspaces(search: $s) { name } }",
        {"s": str(tenant.workspace_id)},
        token=operator,
    )["workspaces"]
    paged = api.data("{ workspaces(limit: 1, offset: 1) { name } }", token=operator)
    assert (searched, by_id, paged["workspaces"]) == (
        [{"name": "Other"}],
        [{"name": "Acme"}],
        [{"name": "Other"}],
    )


def test_set_workspace_plan_changes_features_and_limits_at_once(api: Api, tenant: Tenant) -> None:
    operator = api.superuser_token()
    changed = api.data(SET_PLAN, {"w": str(tenant.workspace_id), "p": "free"}, token=operator)[
        "setWorkspacePlan"
    ]
    assert changed["plan"] == {
        "key": "free",
        "appsMax": 1,
        "eventsMonthlyLimit": 10_000,
        "retentionDays": 30,
    }
    assert api.data(VIEWER, token=tenant.admin_token)["viewer"] == {
        "plan": {"key": "free"},
        "features": [],
        "appsMax": 1,
        "eventsMonthlyLimit": 10_000,
        "retentionDays": 30,
    }
    # The free plan has no AI cost analytics any more.
    refused = api.error("{ aiCost { calls } }", token=tenant.admin_token)
    assert refused["extensions"]["code"] == "UPGRADE_REQUIRED"
    assert audit(api, "workspace.set_plan") == [
        (tenant.workspace_id, {"plan": "growth"}, {"plan": "free"})
    ]


def test_set_workspace_plan_refuses_unknown_plans_and_workspaces(api: Api, tenant: Tenant) -> None:
    operator = api.superuser_token()
    unknown_plan = api.error(SET_PLAN, {"w": str(tenant.workspace_id), "p": "platinum"},
                             token=operator)  # fmt: skip
    unknown_workspace = api.error(SET_PLAN, {"w": str(uuid4()), "p": "free"}, token=operator)
    assert unknown_plan["extensions"] == {"code": "BAD_USER_INPUT", "status": 400,
                                          "field": "plan"}  # fmt: skip
    assert unknown_workspace["extensions"] == {"code": "NOT_FOUND", "status": 404}
    assert audit(api, "workspace.set_plan") == []


def test_overrides_set_keep_and_clear(api: Api, tenant: Tenant) -> None:
    operator = api.superuser_token()
    variables = {"w": str(tenant.workspace_id)}
    set_all = overrides_mutation(", appsMax: 4, eventsMonthlyLimit: 1234, retentionDays: 7")
    result = api.data(set_all, variables, token=operator)["setSubscriptionOverrides"]
    assert result["overrides"] == {"appsMax": 4, "eventsMonthlyLimit": 1234, "retentionDays": 7}
    assert (result["appsMax"], result["eventsMonthlyLimit"], result["retentionDays"]) == (
        4,
        1234,
        7,
    )
    # Left out: unchanged. Explicit null: cleared, the plan's value applies again.
    partial = overrides_mutation(", retentionDays: null")
    result = api.data(partial, variables, token=operator)["setSubscriptionOverrides"]
    assert result["overrides"] == {"appsMax": 4, "eventsMonthlyLimit": 1234, "retentionDays": None}
    assert result["retentionDays"] == 365
    viewer = api.data(VIEWER, token=tenant.admin_token)["viewer"]
    assert (viewer["appsMax"], viewer["eventsMonthlyLimit"], viewer["retentionDays"]) == (
        4,
        1234,
        365,
    )
    assert audit(api, "workspace.set_overrides") == [
        (
            tenant.workspace_id,
            {"apps_max": None, "events_monthly_limit": None, "retention_days": None},
            {"apps_max": 4, "events_monthly_limit": 1234, "retention_days": 7},
        ),
        (
            tenant.workspace_id,
            {"apps_max": 4, "events_monthly_limit": 1234, "retention_days": 7},
            {"apps_max": 4, "events_monthly_limit": 1234, "retention_days": None},
        ),
    ]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (", appsMax: -1", "appsMax"),
        (", eventsMonthlyLimit: -5", "eventsMonthlyLimit"),
        (", retentionDays: 0", "retentionDays"),
        (", retentionDays: 40000", "retentionDays"),
    ],
)
def test_invalid_overrides_are_bad_user_input(
    api: Api, tenant: Tenant, arguments: str, field: str
) -> None:
    error = api.error(
        overrides_mutation(arguments), {"w": str(tenant.workspace_id)}, token=api.superuser_token()
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": field}
    assert audit(api, "workspace.set_overrides") == []


def test_overrides_of_an_unknown_workspace_are_not_found(api: Api) -> None:
    error = api.error(
        overrides_mutation(", appsMax: 2"), {"w": str(uuid4())}, token=api.superuser_token()
    )
    assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}


def test_an_apps_max_override_is_enforced_by_create_app(api: Api) -> None:
    tenant = api.tenant(plan="free")  # one app already: the free plan's apps_max
    create = 'mutation { createApp(name: "second") { name } }'
    refused = api.error(create, token=tenant.admin_token)
    assert refused["extensions"] == {
        "code": "LIMIT_REACHED",
        "status": 403,
        "limit": "apps_max",
        "current": 1,
        "max": 1,
    }
    api.data(
        overrides_mutation(", appsMax: 2"),
        {"w": str(tenant.workspace_id)},
        token=api.superuser_token(),
    )
    assert api.data(create, token=tenant.admin_token) == {"createApp": {"name": "second"}}
    again = api.error(create, token=tenant.admin_token)
    assert (again["extensions"]["current"], again["extensions"]["max"]) == (2, 2)


def test_a_shorter_retention_override_hides_older_data_at_once(api: Api, tenant: Tenant) -> None:
    now = utcnow()
    api.insert(
        [
            event_row(tenant, "signup", at=now - timedelta(days=10), customer="Old"),
            event_row(tenant, "signup", at=now - timedelta(days=1), customer="New"),
        ]
    )
    query = "query ($from: DateTime) { organizations(from: $from) { customerOrgId } }"
    variables = {"from": (now - timedelta(days=30)).isoformat()}
    before = api.data(query, variables, token=tenant.admin_token)["organizations"]
    api.data(
        overrides_mutation(", retentionDays: 7"),
        {"w": str(tenant.workspace_id)},
        token=api.superuser_token(),
    )
    after = api.data(query, variables, token=tenant.admin_token)["organizations"]
    assert [o["customerOrgId"] for o in before] == ["New", "Old"]
    assert [o["customerOrgId"] for o in after] == ["New"]
