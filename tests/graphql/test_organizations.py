"""`organizations`: exact figures and health scores on crafted traffic, ordering, pagination,
case-sensitive ids, plans, the health model, retention and plan gates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.audit import AuditEntry
from app.db import session_scope, utcnow
from tests.graphql.conftest import Api, Tenant, event_row

# Crafted traffic lies in [BASE, BASE + 10 days): recent, so that every plan's retention keeps it.
BASE = (utcnow() - timedelta(days=20)).replace(hour=0, minute=0, second=0, microsecond=0)
END = BASE + timedelta(days=10)
RANGE = {"from": BASE.isoformat(), "to": END.isoformat()}

ORGANIZATIONS = """
query ($from: DateTime, $to: DateTime, $environment: String, $search: String,
       $orderBy: OrganizationOrderBy! = EVENT_COUNT, $direction: SortDirection! = DESC,
       $limit: Int! = 50, $after: String) {
  organizations(from: $from, to: $to, environment: $environment, search: $search,
                orderBy: $orderBy, direction: $direction, limit: $limit, after: $after) {
    customerOrgId eventCount activeUsers aiCostEur aiCostComplete callsWithUnknownCost
    aiCalls failedAiCalls firstSeen lastSeen plan planSource healthScore cursor
    healthSignals { signal value score weight counted }
  }
}
"""

IDS = """
query ($from: DateTime, $to: DateTime, $environment: String, $search: String,
       $orderBy: OrganizationOrderBy! = EVENT_COUNT, $direction: SortDirection! = DESC,
       $limit: Int! = 50, $after: String) {
  organizations(from: $from, to: $to, environment: $environment, search: $search,
                orderBy: $orderBy, direction: $direction, limit: $limit, after: $after) {
    customerOrgId healthScore cursor
  }
}
"""

SET_PLAN = """
mutation ($org: String!, $plan: String) {
  setOrganizationPlan(customerOrgId: $org, plan: $plan) {
    customerOrgId plan previousPlan updatedAt
  }
}
"""

CONFIGURE = """
mutation ($signals: [HealthSignalInput!]!) {
  configureHealthModel(signals: $signals) {
    isDefault editable signals { signal weight good bad higherIsBetter active }
  }
}
"""


def at(days: float, hours: float = 0) -> datetime:
    return BASE + timedelta(days=days, hours=hours)


def iso(instant: datetime) -> str:
    """The instant as the API writes a DateTime (RFC 3339, UTC, milliseconds)."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def crafted(tenant: Tenant) -> list[dict[str, Any]]:
    """'Acme': 11 events in the range (3 in the earlier half, 8 in the later), users u1-u3,
    three completed calls (0.50, unknown, 0.25), one failure, 2 accepted / 1 rejected / 1
    edited outputs, plans 'pro' then 'enterprise' in its events, and one event before the range.
    'acme' (another organization: ids are case-sensitive): one call of unknown cost.
    'Beta': one staging event. Plus an event without organization."""
    return [
        event_row(tenant, "signup", at=at(-3), user_hash="u0", customer="Acme"),
        event_row(tenant, "signup", at=at(1), user_hash="u1", customer="Acme"),
        event_row(
            tenant,
            "ai_call_completed",
            at=at(1, 1),
            user_hash="u1",
            cost="0.50",
            customer_plan="pro",
            customer="Acme",
        ),
        event_row(tenant, "ai_call_completed", at=at(2), user_hash="u2", customer="Acme"),
        event_row(
            tenant, "ai_call_completed", at=at(6), user_hash="u2", cost="0.25", customer="Acme"
        ),
        event_row(tenant, "ai_call_failed", at=at(6, 1), user_hash="u3", customer="Acme"),
        event_row(tenant, "ai_output_accepted", at=at(7), user_hash="u1", customer="Acme"),
        event_row(tenant, "ai_output_accepted", at=at(7), user_hash="u2", customer="Acme"),
        event_row(tenant, "ai_output_rejected", at=at(7), user_hash="u1", customer="Acme"),
        event_row(
            tenant, "ai_output_edited", at=at(7), user_hash="u3", edit_ratio=0.5, customer="Acme"
        ),
        event_row(
            tenant,
            "page_view",
            at=at(8),
            user_hash="u3",
            customer_plan="enterprise",
            customer="Acme",
        ),
        event_row(tenant, "page_view", at=at(9), user_hash="", customer="Acme"),
        event_row(tenant, "ai_call_completed", at=at(6), user_hash="u9", customer="acme"),
        event_row(
            tenant, "signup", at=at(2), user_hash="u5", customer="Beta", environment="staging"
        ),
        event_row(tenant, "signup", at=at(3), user_hash="u6", customer=""),
    ]


def signals(**values: tuple[float | None, float | None, float, bool]) -> list[dict[str, Any]]:
    """The breakdown in the schema's signal order: name=(value, score, weight, counted)."""
    order = ["ACTIVITY_TREND", "ACTIVE_USERS", "AI_ACCEPTANCE_RATE", "ERROR_RATE", "COST_PER_USER"]
    return [
        dict(
            zip(
                ("signal", "value", "score", "weight", "counted"),
                (name, *values[name]),
                strict=True,
            )
        )
        for name in order
    ]


def approx_org(org: dict[str, Any]) -> dict[str, Any]:
    """Float fields compared to 1e-9: the thresholds are binary floats (0.6 - 0.2 != 0.4)."""
    copy = dict(org)
    copy["healthSignals"] = [
        {
            **s,
            "value": None if s["value"] is None else pytest.approx(s["value"], abs=1e-9),
            "score": None if s["score"] is None else pytest.approx(s["score"], abs=1e-9),
        }
        for s in org["healthSignals"]
    ]
    return copy


def without_cursor(orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in o.items() if k != "cursor"} for o in orgs]


ACME = {
    "customerOrgId": "Acme",
    "eventCount": 11,
    "activeUsers": 3,
    "aiCostEur": "0.75",
    "aiCostComplete": False,
    "callsWithUnknownCost": 1,
    "aiCalls": 3,
    "failedAiCalls": 1,
    # "Customer since": its first event within retention, before the range.
    "firstSeen": iso(at(-3)),
    "lastSeen": iso(at(9)),
    "plan": "enterprise",
    "planSource": "EVENTS",
    # (30*100 + 25*(2/9*100) + 20*75 + 15*0 + 10*100) / 100 = 60.56 -> 61
    "healthScore": 61,
    "healthSignals": signals(
        ACTIVITY_TREND=(8 / 3, 100.0, 30.0, True),
        ACTIVE_USERS=(3.0, 200 / 9, 25.0, True),
        AI_ACCEPTANCE_RATE=(0.5, 75.0, 20.0, True),
        ERROR_RATE=(0.25, 0.0, 15.0, True),
        COST_PER_USER=(0.25, 100.0, 10.0, True),
    ),
}
ACME_LOWER = {
    "customerOrgId": "acme",
    "eventCount": 1,
    "activeUsers": 1,
    # Its only call has an unknown cost: null, never "0".
    "aiCostEur": None,
    "aiCostComplete": False,
    "callsWithUnknownCost": 1,
    "aiCalls": 1,
    "failedAiCalls": 0,
    "firstSeen": iso(at(6)),
    "lastSeen": iso(at(6)),
    "plan": None,
    "planSource": None,
    # (25*0 + 15*100) / 40 = 37.5 -> 38 (half up)
    "healthScore": 38,
    "healthSignals": signals(
        ACTIVITY_TREND=(None, None, 30.0, False),
        ACTIVE_USERS=(1.0, 0.0, 25.0, True),
        AI_ACCEPTANCE_RATE=(None, None, 20.0, False),
        ERROR_RATE=(0.0, 100.0, 15.0, True),
        COST_PER_USER=(None, None, 10.0, False),
    ),
}
BETA = {
    "customerOrgId": "Beta",
    "eventCount": 1,
    "activeUsers": 1,
    "aiCostEur": "0",
    "aiCostComplete": True,
    "callsWithUnknownCost": 0,
    "aiCalls": 0,
    "failedAiCalls": 0,
    "firstSeen": iso(at(2)),
    "lastSeen": iso(at(2)),
    "plan": None,
    "planSource": None,
    # Activity 1 event then none: trend 0 -> 0; one user -> 0.
    "healthScore": 0,
    "healthSignals": signals(
        ACTIVITY_TREND=(0.0, 0.0, 30.0, True),
        ACTIVE_USERS=(1.0, 0.0, 25.0, True),
        AI_ACCEPTANCE_RATE=(None, None, 20.0, False),
        ERROR_RATE=(None, None, 15.0, False),
        COST_PER_USER=(None, None, 10.0, False),
    ),
}


def test_every_field_and_the_health_score_are_exact(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    orgs = api.data(ORGANIZATIONS, RANGE, token=tenant.admin_token)["organizations"]
    # By event count, ties by id in byte order: 'Beta' < 'acme'.
    assert without_cursor(orgs) == [approx_org(ACME), approx_org(BETA), approx_org(ACME_LOWER)]


def test_ids_are_case_sensitive_and_events_without_one_belong_to_none(
    api: Api, tenant: Tenant
) -> None:
    api.insert(crafted(tenant))
    orgs = api.data(IDS, RANGE, token=tenant.admin_token)["organizations"]
    assert [o["customerOrgId"] for o in orgs] == ["Acme", "Beta", "acme"]


def test_the_environment_filter(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    production = api.data(IDS, {**RANGE, "environment": "production"}, token=tenant.admin_token)
    staging = api.data(IDS, {**RANGE, "environment": "staging"}, token=tenant.admin_token)
    assert [o["customerOrgId"] for o in production["organizations"]] == ["Acme", "acme"]
    assert [o["customerOrgId"] for o in staging["organizations"]] == ["Beta"]


def test_search_matches_any_case_and_keeps_the_ids_apart(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    orgs = api.data(IDS, {**RANGE, "search": "ACM"}, token=tenant.admin_token)["organizations"]
    assert [o["customerOrgId"] for o in orgs] == ["Acme", "acme"]


def test_the_range_bounds_the_figures(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    later_half = {"from": iso(at(5)), "to": iso(END)}
    orgs = api.data(ORGANIZATIONS, later_half, token=tenant.admin_token)["organizations"]
    acme = next(o for o in orgs if o["customerOrgId"] == "Acme")
    assert (acme["eventCount"], acme["aiCostEur"], acme["callsWithUnknownCost"]) == (8, "0.25", 0)
    assert [o["customerOrgId"] for o in orgs] == ["Acme", "acme"]


@pytest.mark.parametrize(
    ("order_by", "direction", "expected"),
    [
        ("EVENT_COUNT", "DESC", ["Acme", "Beta", "acme"]),
        ("EVENT_COUNT", "ASC", ["Beta", "acme", "Acme"]),
        ("ACTIVE_USERS", "DESC", ["Acme", "Beta", "acme"]),
        ("AI_COST", "DESC", ["Acme", "Beta", "acme"]),
        ("FIRST_SEEN", "ASC", ["Acme", "Beta", "acme"]),
        ("LAST_SEEN", "DESC", ["Acme", "acme", "Beta"]),
        ("HEALTH_SCORE", "DESC", ["Acme", "acme", "Beta"]),
        ("HEALTH_SCORE", "ASC", ["Beta", "acme", "Acme"]),
        ("CUSTOMER_ORG_ID", "ASC", ["Acme", "Beta", "acme"]),
    ],
)
def test_every_ordering_pages_by_cursor(
    api: Api, tenant: Tenant, order_by: str, direction: str, expected: list[str]
) -> None:
    api.insert(crafted(tenant))
    variables = {**RANGE, "orderBy": order_by, "direction": direction, "limit": 1}
    seen: list[str] = []
    after = None
    for _ in range(4):
        page = api.data(IDS, {**variables, "after": after}, token=tenant.admin_token)
        if not page["organizations"]:
            break
        assert len(page["organizations"]) == 1
        seen.append(page["organizations"][0]["customerOrgId"])
        after = page["organizations"][0]["cursor"]
    assert seen == expected


def test_a_cursor_of_another_ordering_or_garbage_is_bad_user_input(
    api: Api, tenant: Tenant
) -> None:
    api.insert(crafted(tenant))
    first = api.data(IDS, {**RANGE, "limit": 1}, token=tenant.admin_token)["organizations"][0]
    other = {**RANGE, "orderBy": "LAST_SEEN", "after": first["cursor"]}
    for variables in (other, {**RANGE, "after": "not-a-cursor"}):
        error = api.error(IDS, variables, token=tenant.admin_token)
        assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "after"}


@pytest.mark.parametrize("limit", [0, 501])
def test_a_limit_out_of_bounds_is_bad_user_input(api: Api, tenant: Tenant, limit: int) -> None:
    error = api.error(IDS, {"limit": limit}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "limit"}


def test_an_empty_range_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(IDS, {"from": iso(END), "to": iso(BASE)}, token=tenant.admin_token)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_one_organization_by_its_exact_id(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    query = """
    query ($id: String!, $from: DateTime, $to: DateTime) {
      organization(customerOrgId: $id, from: $from, to: $to) { customerOrgId eventCount }
    }
    """
    found = api.data(query, {**RANGE, "id": "acme"}, token=tenant.admin_token)["organization"]
    missing = api.data(query, {**RANGE, "id": "ACME"}, token=tenant.admin_token)
    assert found == {"customerOrgId": "acme", "eventCount": 1}
    assert missing == {"organization": None}


def test_another_workspaces_organizations_never_show(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    api.insert(crafted(other))
    assert api.data(IDS, RANGE, token=tenant.admin_token) == {"organizations": []}


# --- organization plans ------------------------------------------------------------------------


def plan_of(api: Api, tenant: Tenant, org: str) -> tuple[str | None, str | None]:
    orgs = api.data(
        "query ($from: DateTime, $to: DateTime) "
        "{ organizations(from: $from, to: $to) { customerOrgId plan planSource } }",
        RANGE,
        token=tenant.admin_token,
    )["organizations"]
    found = next(o for o in orgs if o["customerOrgId"] == org)
    return found["plan"], found["planSource"]


def test_an_assigned_plan_wins_over_the_events_and_clearing_restores_them(
    api: Api, tenant: Tenant
) -> None:
    api.insert(crafted(tenant))
    first = api.data(SET_PLAN, {"org": "Acme", "plan": " strategic "}, token=tenant.admin_token)
    assert first["setOrganizationPlan"]["customerOrgId"] == "Acme"
    assert first["setOrganizationPlan"]["plan"] == "strategic"
    assert first["setOrganizationPlan"]["previousPlan"] is None
    assert plan_of(api, tenant, "Acme") == ("strategic", "ASSIGNED")
    # Case-sensitive: 'acme' is another organization and keeps no plan.
    assert plan_of(api, tenant, "acme") == (None, None)

    second = api.data(SET_PLAN, {"org": "Acme", "plan": "vip"}, token=tenant.admin_token)
    assert second["setOrganizationPlan"]["previousPlan"] == "strategic"
    assert plan_of(api, tenant, "Acme") == ("vip", "ASSIGNED")

    cleared = api.data(SET_PLAN, {"org": "Acme", "plan": None}, token=tenant.admin_token)
    assert cleared["setOrganizationPlan"]["plan"] is None
    assert plan_of(api, tenant, "Acme") == ("enterprise", "EVENTS")


def test_setting_a_plan_writes_the_organization_plans_table_and_the_audit(
    api: Api, tenant: Tenant
) -> None:
    api.data(SET_PLAN, {"org": "Acme", "plan": "pro"}, token=tenant.admin_token)
    api.data(SET_PLAN, {"org": "Acme", "plan": "scale"}, token=tenant.admin_token)
    rows = api.runtime.store.query(
        "SELECT customer_org_id, argMax(plan, updated_at) AS plan, count() AS n "
        "FROM organization_plans WHERE workspace_id = {w:UUID} GROUP BY customer_org_id",
        {"w": tenant.workspace_id},
    )
    assert rows == [{"customer_org_id": "Acme", "plan": "scale", "n": 2}]
    with session_scope(api.runtime.engine) as session:
        entries = session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "organization.set_plan")
            .order_by(AuditEntry.at)  # type: ignore[arg-type]
        ).all()
        assert [(e.before, e.after) for e in entries] == [
            (None, {"customer_org_id": "Acme", "plan": "pro"}),
            (
                {"customer_org_id": "Acme", "plan": "pro"},
                {"customer_org_id": "Acme", "plan": "scale"},
            ),
        ]
        assert all(e.workspace_id == tenant.workspace_id for e in entries)


def test_another_workspaces_plan_assignment_does_not_leak(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    api.insert(crafted(tenant))
    api.data(SET_PLAN, {"org": "Acme", "plan": "theirs"}, token=other.admin_token)
    assert plan_of(api, tenant, "Acme") == ("enterprise", "EVENTS")


@pytest.mark.parametrize(
    ("org", "plan", "field"),
    [
        ("", "pro", "customerOrgId"),
        ("x" * 201, "pro", "customerOrgId"),
        ("Acme", "p" * 101, "plan"),
    ],
)
def test_an_invalid_plan_assignment_is_bad_user_input(
    api: Api, tenant: Tenant, org: str, plan: str, field: str
) -> None:
    error = api.error(SET_PLAN, {"org": org, "plan": plan}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": field}


# --- the health model ------------------------------------------------------------------------


def test_a_configured_model_scores_exactly_as_documented(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    model = [
        {"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1},
        {"signal": "ERROR_RATE", "weight": 3, "good": 0, "bad": 0.5},
    ]
    configured = api.data(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    assert configured["configureHealthModel"] == {
        "isDefault": False,
        "editable": True,
        "signals": [
            {
                "signal": "ACTIVE_USERS",
                "weight": 1.0,
                "good": 3.0,
                "bad": 1.0,
                "higherIsBetter": True,
                "active": True,
            },
            {
                "signal": "ERROR_RATE",
                "weight": 3.0,
                "good": 0.0,
                "bad": 0.5,
                "higherIsBetter": False,
                "active": True,
            },
        ],
    }
    orgs = api.data(ORGANIZATIONS, RANGE, token=tenant.admin_token)["organizations"]
    by_id = {o["customerOrgId"]: o for o in orgs}
    # Acme: users 3 -> 100, error rate 0.25 -> 50: (1*100 + 3*50) / 4 = 62.5 -> 63.
    assert by_id["Acme"]["healthScore"] == 63
    assert by_id["Acme"]["healthSignals"] == signals(
        ACTIVITY_TREND=(8 / 3, None, 0.0, False),
        ACTIVE_USERS=(3.0, 100.0, 1.0, True),
        AI_ACCEPTANCE_RATE=(0.5, None, 0.0, False),
        ERROR_RATE=(0.25, 50.0, 3.0, True),
        COST_PER_USER=(0.25, None, 0.0, False),
    )
    # acme: 1 user -> 0, no failure -> 100: (0 + 300) / 4 = 75. Beta: only users count: 0.
    assert (by_id["acme"]["healthScore"], by_id["Beta"]["healthScore"]) == (75, 0)


def test_a_model_whose_signals_have_no_value_gives_no_score(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    model = [{"signal": "AI_ACCEPTANCE_RATE", "weight": 1, "good": 0.9, "bad": 0.1}]
    api.data(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    orgs = api.data(IDS, RANGE, token=tenant.admin_token)["organizations"]
    # Acme: 0.5 -> 50. acme and Beta have no output events: no score, sorted last.
    assert [(o["customerOrgId"], o["healthScore"]) for o in orgs] == [
        ("Acme", 50),
        ("Beta", None),
        ("acme", None),
    ]


def test_reset_returns_to_the_default_model(api: Api, tenant: Tenant) -> None:
    model = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]
    api.data(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    reset = api.data(
        "mutation { resetHealthModel { isDefault signals { signal weight } } }",
        token=tenant.admin_token,
    )["resetHealthModel"]
    assert reset == {
        "isDefault": True,
        "signals": [
            {"signal": "ACTIVITY_TREND", "weight": 30.0},
            {"signal": "ACTIVE_USERS", "weight": 25.0},
            {"signal": "AI_ACCEPTANCE_RATE", "weight": 20.0},
            {"signal": "ERROR_RATE", "weight": 15.0},
            {"signal": "COST_PER_USER", "weight": 10.0},
        ],
    }


def test_the_default_model_is_documented_and_readable(api: Api, tenant: Tenant) -> None:
    config = api.data(
        "{ healthModelConfig { isDefault editable updatedAt formula "
        "signals { signal weight good bad higherIsBetter active } "
        "defaultSignals { signal weight good bad } } }",
        token=api.member_token(tenant),
    )["healthModelConfig"]
    assert config["isDefault"] is True
    assert config["editable"] is True
    assert config["updatedAt"] is None
    assert "rounded half up" in config["formula"]
    assert config["signals"] == [
        {
            "signal": "ACTIVITY_TREND",
            "weight": 30.0,
            "good": 1.0,
            "bad": 0.5,
            "higherIsBetter": True,
            "active": True,
        },
        {
            "signal": "ACTIVE_USERS",
            "weight": 25.0,
            "good": 10.0,
            "bad": 1.0,
            "higherIsBetter": True,
            "active": True,
        },
        {
            "signal": "AI_ACCEPTANCE_RATE",
            "weight": 20.0,
            "good": 0.6,
            "bad": 0.2,
            "higherIsBetter": True,
            "active": True,
        },
        {
            "signal": "ERROR_RATE",
            "weight": 15.0,
            "good": 0.02,
            "bad": 0.2,
            "higherIsBetter": False,
            "active": True,
        },
        {
            "signal": "COST_PER_USER",
            "weight": 10.0,
            "good": 1.0,
            "bad": 10.0,
            "higherIsBetter": False,
            "active": True,
        },
    ]
    assert config["defaultSignals"] == [
        {k: v for k, v in s.items() if k not in ("higherIsBetter", "active")}
        for s in config["signals"]
    ]


def test_configuring_is_audited(api: Api, tenant: Tenant) -> None:
    model = [{"signal": "ACTIVE_USERS", "weight": 2, "good": 5, "bad": 0}]
    api.data(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    with session_scope(api.runtime.engine) as session:
        entry = session.exec(
            select(AuditEntry).where(AuditEntry.action == "health_model.configure")
        ).one()
        assert entry.before is None
        assert entry.after == {
            "signals": [{"signal": "active_users", "weight": 2.0, "good": 5.0, "bad": 0.0}]
        }
        assert entry.workspace_id == tenant.workspace_id


@pytest.mark.parametrize(
    ("model", "field"),
    [
        ([], "signals"),
        ([{"signal": "ACTIVE_USERS", "weight": -1, "good": 10, "bad": 1}], "signals[0].weight"),
        ([{"signal": "ACTIVE_USERS", "weight": 0, "good": 10, "bad": 1}], "signals"),
        (
            [
                {"signal": "ACTIVE_USERS", "weight": 1, "good": 10, "bad": 1},
                {"signal": "ACTIVE_USERS", "weight": 1, "good": 10, "bad": 1},
            ],
            "signals[1].signal",
        ),
        # Higher is better: bad must be below good.
        ([{"signal": "ACTIVE_USERS", "weight": 1, "good": 1, "bad": 10}], "signals[0].bad"),
        ([{"signal": "ACTIVE_USERS", "weight": 1, "good": 5, "bad": 5}], "signals[0].bad"),
        # Lower is better: good must be below bad.
        ([{"signal": "ERROR_RATE", "weight": 1, "good": 0.5, "bad": 0.1}], "signals[0].bad"),
        ([{"signal": "ERROR_RATE", "weight": 1, "good": 0.1, "bad": 1.5}], "signals[0].bad"),
        ([{"signal": "COST_PER_USER", "weight": 1, "good": -1, "bad": 5}], "signals[0].good"),
    ],
)
def test_an_invalid_model_is_bad_user_input(
    api: Api, tenant: Tenant, model: list[dict[str, Any]], field: str
) -> None:
    error = api.error(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": field}
    config = api.data("{ healthModelConfig { isDefault } }", token=tenant.admin_token)
    assert config == {"healthModelConfig": {"isDefault": True}}


def test_another_workspaces_model_does_not_apply(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    model = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]
    api.data(CONFIGURE, {"signals": model}, token=other.admin_token)
    config = api.data("{ healthModelConfig { isDefault } }", token=tenant.admin_token)
    assert config == {"healthModelConfig": {"isDefault": True}}


# --- plans ------------------------------------------------------------------------------------


def test_starter_scores_without_the_acceptance_value_signal(api: Api) -> None:
    starter = api.tenant(plan="starter")
    api.insert(crafted(starter))
    orgs = api.data(ORGANIZATIONS, RANGE, token=starter.admin_token)["organizations"]
    acme = next(o for o in orgs if o["customerOrgId"] == "Acme")
    # (30*100 + 25*22.2 + 15*0 + 10*100) / 80 = 56.94 -> 57; the acceptance rate is not shown.
    assert acme["healthScore"] == 57
    assert acme["healthSignals"][2] == {
        "signal": "AI_ACCEPTANCE_RATE",
        "value": None,
        "score": None,
        "weight": 0.0,
        "counted": False,
    }
    config = api.data(
        "{ healthModelConfig { editable signals { signal active } } }",
        token=starter.admin_token,
    )["healthModelConfig"]
    assert config["editable"] is False
    assert {"signal": "AI_ACCEPTANCE_RATE", "active": False} in config["signals"]


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [
        ("free", False),
        ("ai_cost", False),
        ("starter", True),
        ("growth", True),
        ("enterprise", True),
    ],
)
def test_organizations_need_the_starter_plan(api: Api, plan: str, allowed: bool) -> None:
    tenant = api.tenant(plan=plan)
    api.insert(crafted(tenant))
    if allowed:
        orgs = api.data(IDS, RANGE, token=tenant.admin_token)["organizations"]
        assert [o["customerOrgId"] for o in orgs] == ["Acme", "Beta", "acme"]
        return
    error = api.error(IDS, RANGE, token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "UPGRADE_REQUIRED",
        "status": 403,
        "feature": "organizations",
        "requiredPlan": "starter",
    }


@pytest.mark.parametrize(
    ("plan", "allowed"),
    [
        ("free", False),
        ("ai_cost", False),
        ("starter", False),
        ("growth", True),
        ("enterprise", True),
    ],
)
def test_configuring_the_health_model_needs_growth(api: Api, plan: str, allowed: bool) -> None:
    tenant = api.tenant(plan=plan)
    model = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]
    for mutation, variables in (
        (CONFIGURE, {"signals": model}),
        ("mutation { resetHealthModel { isDefault } }", None),
    ):
        if allowed:
            api.data(mutation, variables, token=tenant.admin_token)
            continue
        error = api.error(mutation, variables, token=tenant.admin_token)
        assert error["extensions"] == {
            "code": "UPGRADE_REQUIRED",
            "status": 403,
            "feature": "health_model_config",
            "requiredPlan": "growth",
        }
    # Reading the model is never gated: the SPA shows it with an upgrade prompt.
    config = api.data("{ healthModelConfig { editable } }", token=tenant.admin_token)
    assert config == {"healthModelConfig": {"editable": allowed}}


def test_a_stored_model_waits_out_a_downgrade(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    model = [{"signal": "ACTIVE_USERS", "weight": 1, "good": 3, "bad": 1}]
    api.data(CONFIGURE, {"signals": model}, token=tenant.admin_token)
    operator = api.superuser_token()
    set_plan = (
        "mutation ($w: UUID!, $p: String!) { setWorkspacePlan(workspaceId: $w, plan: $p) { id } }"
    )
    api.data(set_plan, {"w": str(tenant.workspace_id), "p": "starter"}, token=operator)
    config = api.data("{ healthModelConfig { isDefault editable } }", token=tenant.admin_token)
    assert config == {"healthModelConfig": {"isDefault": True, "editable": False}}
    api.data(set_plan, {"w": str(tenant.workspace_id), "p": "growth"}, token=operator)
    config = api.data("{ healthModelConfig { isDefault editable } }", token=tenant.admin_token)
    assert config == {"healthModelConfig": {"isDefault": False, "editable": True}}


# --- retention --------------------------------------------------------------------------------


def test_data_older_than_the_retention_is_not_shown(api: Api, tenant: Tenant) -> None:
    api.override(tenant, retention_days=7)
    now = utcnow()
    api.insert(
        [
            event_row(tenant, "signup", at=now - timedelta(days=8), customer="Old"),
            event_row(tenant, "signup", at=now - timedelta(days=8), customer="Both"),
            event_row(tenant, "login", at=now - timedelta(days=1), customer="Both"),
        ]
    )
    query = """
    query ($from: DateTime) {
      organizations(from: $from) { customerOrgId eventCount firstSeen }
    }
    """
    orgs = api.data(query, {"from": iso(now - timedelta(days=30))}, token=tenant.admin_token)
    assert orgs == {
        "organizations": [
            {
                "customerOrgId": "Both",
                "eventCount": 1,
                "firstSeen": iso(
                    (now - timedelta(days=1)).replace(microsecond=(now.microsecond // 1000) * 1000)
                ),
            }
        ]
    }
    # A range wholly before the retention is empty, not an error.
    before = {"from": iso(now - timedelta(days=30))}
    wholly_before = api.data(
        "query ($from: DateTime, $to: DateTime) { organizations(from: $from, to: $to) "
        "{ customerOrgId } }",
        {**before, "to": iso(now - timedelta(days=9))},
        token=tenant.admin_token,
    )
    assert wholly_before == {"organizations": []}


def test_first_seen_is_the_first_event_of_the_range_environment(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            event_row(tenant, "signup", at=at(-2), customer="Acme", environment="staging"),
            event_row(tenant, "signup", at=at(1), customer="Acme"),
        ]
    )
    orgs = api.data(
        "query ($from: DateTime, $to: DateTime, $e: String) "
        "{ organizations(from: $from, to: $to, environment: $e) { firstSeen } }",
        {**RANGE, "e": "production"},
        token=tenant.admin_token,
    )["organizations"]
    assert orgs == [{"firstSeen": iso(at(1))}]


def test_timestamps_are_utc(api: Api, tenant: Tenant) -> None:
    api.insert([event_row(tenant, "signup", at=at(1), customer="Acme")])
    orgs = api.data(
        "query ($from: DateTime, $to: DateTime) { organizations(from: $from, to: $to) "
        "{ lastSeen } }",
        RANGE,
        token=tenant.admin_token,
    )["organizations"]
    assert datetime.fromisoformat(orgs[0]["lastSeen"]) == at(1).astimezone(UTC)


class CountingStore:
    """The runtime's store, recording every SELECT it is asked."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.queries: list[str] = []

    def query(self, sql: str, params: Any = None) -> Any:
        self.queries.append(sql)
        return self.inner.query(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_page_is_two_clickhouse_queries_whatever_its_size(
    api: Api, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The page's aggregates and the first events before the range, side by side.
    api.insert(crafted(tenant))
    counting = CountingStore(api.runtime.store)
    monkeypatch.setattr(api.runtime, "store", counting)
    orgs = api.data(ORGANIZATIONS, RANGE, token=tenant.admin_token)["organizations"]
    assert len(orgs) == 3
    assert len(counting.queries) == 2
