"""Every plan gate, plan by plan: what each of free, ai_cost, starter, growth and enterprise may
read and change, and the exact UPGRADE_REQUIRED of what it may not."""

from __future__ import annotations

import pytest

from tests.graphql.conftest import Api

PLANS = ["free", "ai_cost", "starter", "growth", "enterprise"]

AI_COST = ("ai_cost_analytics", "ai_cost")
VALUE_SIGNALS = ("value_signals", "growth")
HEALTH_MODEL = ("health_model_config", "growth")

# operation: (document, its gates in the order they are checked: (feature, lowest plan))
OPERATIONS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "ai_cost": ("{ aiCost { calls } }", [AI_COST]),
    "value_signals": ("{ aiCost { acceptanceRate } }", [AI_COST, VALUE_SIGNALS]),
    "value_signal_rows": ("{ aiCost { rows { acceptedOutputs } } }", [AI_COST, VALUE_SIGNALS]),
    "organizations": ("{ organizations { customerOrgId } }", [("organizations", "starter")]),
    "configure_health_model": (
        "mutation { configureHealthModel(signals: [{signal: ACTIVE_USERS, weight: 1, good: 3, "
        "bad: 1}]) { isDefault } }",
        [HEALTH_MODEL],
    ),
    "reset_health_model": ("mutation { resetHealthModel { isDefault } }", [HEALTH_MODEL]),
    # Never gated by plan.
    "health_model_config": ("{ healthModelConfig { isDefault } }", []),
    "set_organization_plan": (
        'mutation { setOrganizationPlan(customerOrgId: "Acme", plan: "pro") { plan } }',
        [],
    ),
    "plans": ("{ plans { key } }", []),
    "viewer": ("{ viewer { overage } }", []),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("plan", PLANS)
def test_plan_gates(api: Api, plan: str, operation: str) -> None:
    tenant = api.tenant(plan=plan)
    document, gates = OPERATIONS[operation]
    missing = [(f, p) for f, p in gates if PLANS.index(plan) < PLANS.index(p)]
    if not missing:
        api.data(document, token=tenant.admin_token)
        return
    feature, required = missing[0]
    error = api.error(document, token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "UPGRADE_REQUIRED",
        "status": 403,
        "feature": feature,
        "requiredPlan": required,
    }


@pytest.mark.parametrize("plan", PLANS)
def test_the_viewer_lists_the_plans_features(api: Api, plan: str) -> None:
    tenant = api.tenant(plan=plan)
    features = api.data("{ viewer { features } }", token=tenant.admin_token)["viewer"]["features"]
    expected = {
        "free": [],
        "ai_cost": ["ai_cost_analytics"],
        "starter": ["ai_cost_analytics", "organizations"],
        "growth": ["ai_cost_analytics", "organizations", "value_signals", "health_model_config"],
        "enterprise": [
            "ai_cost_analytics",
            "organizations",
            "value_signals",
            "health_model_config",
        ],
    }[plan]
    assert features == expected
