"""`aiCost`: exact figures on crafted traffic, attribution by ai_call_id, unknown cost, gating."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from tests.graphql.conftest import DAY, Api, Tenant, event_row

RANGE = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()}

REPORT = """
query ($from: DateTime, $to: DateTime, $environment: String, $by: AiCostBreakdown! = MODEL) {
  aiCost(from: $from, to: $to, environment: $environment, by: $by) {
    totalCostEur calls callsWithUnknownCost costComplete failedCalls errorRate
    inputTokens outputTokens
    acceptedOutputs rejectedOutputs editedOutputs acceptanceRate costPerAcceptedOutputEur
    rows {
      key costEur calls callsWithUnknownCost inputTokens outputTokens failedCalls errorRate
      acceptedOutputs rejectedOutputs editedOutputs acceptanceRate costPerAcceptedOutputEur
    }
  }
}
"""

TOTALS = """
query ($from: DateTime, $to: DateTime) {
  aiCost(from: $from, to: $to) { totalCostEur calls callsWithUnknownCost costComplete }
}
"""


def call(
    tenant: Tenant,
    call_id: str,
    *,
    cost: str | None,
    minute: int = 0,
    provider: str = "openai",
    model: str = "gpt-5.4-mini",
    feature: str = "support",
    **fields: Any,
) -> dict[str, Any]:
    """A completed call; its catalog key is provider/model unless the cost is unknown."""
    return event_row(
        tenant,
        "ai_call_completed",
        at=DAY + timedelta(minutes=minute),
        cost=cost,
        model_key="" if cost is None else f"{provider}/{model}",
        status="unknown_model" if cost is None else "calculated",
        feature=feature,
        provider=provider,
        model=model,
        ai_call_id=call_id,
        **fields,
    )


def output(tenant: Tenant, signal: str, call_id: str, **fields: Any) -> dict[str, Any]:
    """A value signal that names its call but, as clients often do, not its provider or model."""
    return event_row(
        tenant, f"ai_output_{signal}", at=DAY + timedelta(minutes=30), ai_call_id=call_id, **fields
    )


def crafted(tenant: Tenant) -> list[dict[str, Any]]:
    """Four calls (one of unknown cost), one failure, two accepted, one rejected, one edited."""
    return [
        call(tenant, "c1", cost="0.010", input_tokens=1000, output_tokens=200, latency_ms=100),
        call(tenant, "c2", cost="0.020", input_tokens=2000, output_tokens=400, latency_ms=200),
        call(
            tenant,
            "c3",
            cost="0.030",
            provider="anthropic",
            model="claude-sonnet-4-6",
            feature="summary",
            customer="globex",
            input_tokens=3000,
            output_tokens=600,
            latency_ms=300,
        ),
        call(
            tenant,
            "c4",
            cost=None,
            provider="acme-llm",
            model="mystery",
            feature="summary",
            customer="globex",
            latency_ms=400,
        ),
        event_row(
            tenant,
            "ai_call_failed",
            at=DAY,
            feature="support",
            provider="openai",
            model="gpt-5.4-mini",
            ai_call_id="f1",
            error_code="rate_limited",
        ),
        output(tenant, "accepted", "c1", feature="support"),
        output(tenant, "accepted", "c3", feature="summary"),
        output(tenant, "rejected", "c2", feature="support"),
        output(tenant, "edited", "c4", feature="summary", edit_ratio=0.25),
    ]


def report(api: Api, token: str, **variables: Any) -> dict[str, Any]:
    report: dict[str, Any] = api.data(REPORT, {**RANGE, **variables}, token=token)["aiCost"]
    return report


def test_totals_follow_the_contract_definitions(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    totals = report(api, tenant.admin_token)
    del totals["rows"]
    assert totals == {
        "totalCostEur": "0.06",
        "calls": 4,
        "callsWithUnknownCost": 1,
        "costComplete": False,
        "failedCalls": 1,
        "errorRate": 0.2,
        "inputTokens": 6000,
        "outputTokens": 1200,
        "acceptedOutputs": 2,
        "rejectedOutputs": 1,
        "editedOutputs": 1,
        "acceptanceRate": 0.5,
        "costPerAcceptedOutputEur": "0.03",
    }


def test_rows_by_model_attribute_output_events_to_their_call(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    rows = report(api, tenant.admin_token, by="MODEL")["rows"]
    assert rows == [
        {
            "key": "openai/gpt-5.4-mini",
            "costEur": "0.03",
            "calls": 2,
            "callsWithUnknownCost": 0,
            "inputTokens": 3000,
            "outputTokens": 600,
            "failedCalls": 1,
            "errorRate": pytest.approx(1 / 3),
            "acceptedOutputs": 1,
            "rejectedOutputs": 1,
            "editedOutputs": 0,
            "acceptanceRate": 0.5,
            "costPerAcceptedOutputEur": "0.03",
        },
        {
            "key": "anthropic/claude-sonnet-4-6",
            "costEur": "0.03",
            "calls": 1,
            "callsWithUnknownCost": 0,
            "inputTokens": 3000,
            "outputTokens": 600,
            "failedCalls": 0,
            "errorRate": 0.0,
            "acceptedOutputs": 1,
            "rejectedOutputs": 0,
            "editedOutputs": 0,
            "acceptanceRate": 1.0,
            "costPerAcceptedOutputEur": "0.03",
        },
        {
            "key": "acme-llm/mystery",
            "costEur": None,
            "calls": 1,
            "callsWithUnknownCost": 1,
            "inputTokens": 0,
            "outputTokens": 0,
            "failedCalls": 0,
            "errorRate": 0.0,
            "acceptedOutputs": 0,
            "rejectedOutputs": 0,
            "editedOutputs": 1,
            "acceptanceRate": 0.0,
            "costPerAcceptedOutputEur": None,
        },
    ]


def test_rows_by_feature(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    rows = report(api, tenant.admin_token, by="FEATURE")["rows"]
    assert [
        (r["key"], r["costEur"], r["calls"], r["callsWithUnknownCost"], r["acceptanceRate"])
        for r in rows
    ] == [("summary", "0.03", 2, 1, 0.5), ("support", "0.03", 2, 0, 0.5)]


def test_rows_by_customer_follow_the_call_not_the_output_event(api: Api, tenant: Tenant) -> None:
    rows = crafted(tenant)
    # The accepted output of globex's call c3 was sent without (or with a wrong) customer.
    rows[6] = output(tenant, "accepted", "c3", feature="summary", customer="")
    api.insert(rows)
    found = report(api, tenant.admin_token, by="CUSTOMER")["rows"]
    # Equal cost and calls: rows are then in key order.
    assert [(r["key"], r["costEur"], r["acceptedOutputs"], r["editedOutputs"]) for r in found] == [
        ("acme-corp", "0.03", 1, 0),
        ("globex", "0.03", 1, 1),
    ]


def test_an_output_without_a_matching_call_keeps_its_own_fields(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            call(tenant, "c1", cost="0.010"),
            output(tenant, "accepted", "no-such-call", feature="orphan"),
            output(tenant, "rejected", "", feature="orphan"),
        ]
    )
    rows = report(api, tenant.admin_token, by="FEATURE")["rows"]
    assert [(r["key"], r["calls"], r["acceptedOutputs"], r["rejectedOutputs"]) for r in rows] == [
        ("support", 1, 0, 0),
        ("orphan", 0, 1, 1),
    ]


def test_a_row_of_outputs_whose_call_is_unknown_has_no_cost_rather_than_zero(
    api: Api, tenant: Tenant
) -> None:
    api.insert([output(tenant, "accepted", "no-such-call", feature="orphan")])
    [row] = report(api, tenant.admin_token, by="FEATURE")["rows"]
    assert (row["key"], row["calls"], row["acceptedOutputs"]) == ("orphan", 0, 1)
    assert (row["costEur"], row["costPerAcceptedOutputEur"]) == (None, None)


def test_an_output_is_attributed_to_a_call_made_before_the_range(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            call(tenant, "late-night", cost="0.010", minute=-5, feature="support"),
            output(tenant, "accepted", "late-night", feature="mislabelled"),
        ]
    )
    rows = report(api, tenant.admin_token, by="FEATURE")["rows"]
    assert [(r["key"], r["calls"], r["acceptedOutputs"]) for r in rows] == [("support", 0, 1)]


def test_cost_per_accepted_output_is_exact_to_twelve_decimals(api: Api, tenant: Tenant) -> None:
    api.insert(
        [call(tenant, "c1", cost="0.01")]
        + [output(tenant, "accepted", "c1", feature="support") for _ in range(3)]
    )
    totals = report(api, tenant.admin_token)
    assert totals["costPerAcceptedOutputEur"] == "0.003333333333"
    assert totals["rows"][0]["costPerAcceptedOutputEur"] == "0.003333333333"


def test_unknown_cost_is_never_folded_into_zero(api: Api, tenant: Tenant) -> None:
    api.insert([call(tenant, "c1", cost=None), call(tenant, "c2", cost=None)])
    totals = api.data(TOTALS, RANGE, token=tenant.admin_token)["aiCost"]
    assert totals == {
        "totalCostEur": None,
        "calls": 2,
        "callsWithUnknownCost": 2,
        "costComplete": False,
    }


def test_a_known_zero_cost_is_zero(api: Api, tenant: Tenant) -> None:
    api.insert([call(tenant, "c1", cost="0")])
    totals = api.data(TOTALS, RANGE, token=tenant.admin_token)["aiCost"]
    assert totals == {
        "totalCostEur": "0",
        "calls": 1,
        "callsWithUnknownCost": 0,
        "costComplete": True,
    }


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        ("CUSTOMER", ["acme-corp", "globex"]),
        ("FEATURE", ["support", "summary"]),
        ("MODEL", ["openai/gpt-5.4-mini", "anthropic/claude-sonnet-4-6"]),
        ("PROVIDER", ["openai", "anthropic"]),
        ("PLAN", ["pro", None]),
        ("ENVIRONMENT", ["production", "staging"]),
        ("APP", ["APP", "OTHER_APP"]),
    ],
)
def test_rows_are_grouped_by_each_dimension(
    api: Api, tenant: Tenant, by: str, keys: list[str | None]
) -> None:
    other_app = uuid4()
    api.insert(
        [
            call(tenant, "a", cost="0.02", customer_plan="pro"),
            call(
                tenant,
                "b",
                cost="0.01",
                provider="anthropic",
                model="claude-sonnet-4-6",
                feature="summary",
                customer="globex",
                environment="staging",
                app_uuid=other_app,
            ),
        ]
    )
    names = {"APP": str(tenant.app_uuid), "OTHER_APP": str(other_app)}
    rows = report(api, tenant.admin_token, by=by)["rows"]
    assert [(r["key"], r["costEur"]) for r in rows] == [
        (names.get(k, k) if k else k, cost) for k, cost in zip(keys, ["0.02", "0.01"], strict=True)
    ]


def test_the_environment_filter_keeps_one_environment(api: Api, tenant: Tenant) -> None:
    api.insert(
        [call(tenant, "p", cost="0.02"), call(tenant, "s", cost="0.01", environment="staging")]
    )
    totals = report(api, tenant.admin_token, environment="staging")
    assert (totals["totalCostEur"], totals["calls"]) == ("0.01", 1)


def test_another_workspaces_ai_usage_is_never_counted(api: Api, tenant: Tenant) -> None:
    intruder = api.tenant(name="Intruder")
    api.insert(crafted(tenant))
    totals = report(api, intruder.admin_token)
    assert (totals["totalCostEur"], totals["calls"], totals["rows"]) == ("0", 0, [])


def test_a_member_may_read_the_report(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    assert report(api, api.member_token(tenant))["totalCostEur"] == "0.06"


def test_the_free_plan_needs_an_upgrade(api: Api) -> None:
    free = api.tenant(plan="free")
    error = api.error(TOTALS, RANGE, token=free.admin_token)
    assert error["extensions"] == {
        "code": "UPGRADE_REQUIRED",
        "status": 403,
        "feature": "ai_cost_analytics",
        "requiredPlan": "ai_cost",
    }


def test_the_ai_cost_plan_reads_cost_without_value_signals(api: Api) -> None:
    ai_cost = api.tenant(plan="ai_cost")
    api.insert(crafted(ai_cost))
    query = """
    query ($from: DateTime, $to: DateTime) {
      aiCost(from: $from, to: $to, by: FEATURE) { totalCostEur rows { key costEur errorRate } }
    }
    """
    data = api.data(query, RANGE, token=ai_cost.admin_token)["aiCost"]
    assert data["totalCostEur"] == "0.06"
    assert [r["key"] for r in data["rows"]] == ["summary", "support"]


@pytest.mark.parametrize(
    "selection",
    [
        "acceptanceRate",
        "rows { key costPerAcceptedOutputEur }",
        "...signals",
        "editRatioDistribution { count }",
    ],
)
def test_value_signals_below_growth_need_an_upgrade(api: Api, selection: str) -> None:
    ai_cost = api.tenant(plan="ai_cost")
    query = f"""
    query ($from: DateTime, $to: DateTime) {{ aiCost(from: $from, to: $to) {{ {selection} }} }}
    fragment signals on AiCostReport {{ rows {{ acceptedOutputs }} }}
    """
    if "..." not in selection:
        query = query.split("fragment")[0]
    error = api.error(query, RANGE, token=ai_cost.admin_token)
    assert error["extensions"] == {
        "code": "UPGRADE_REQUIRED",
        "status": 403,
        "feature": "value_signals",
        "requiredPlan": "growth",
    }


@pytest.mark.parametrize(
    "selection",
    [
        "acceptanceRate @include(if: false)",
        "acceptanceRate @skip(if: true)",
        "acceptanceRate @include(if: $signals)",
        "...signals @include(if: $signals)",
        "rows { key ... on AiCostRow @skip(if: true) { costPerAcceptedOutputEur } }",
    ],
)
def test_value_signals_left_out_by_include_or_skip_need_no_upgrade(
    api: Api, selection: str
) -> None:
    ai_cost = api.tenant(plan="ai_cost")
    variables: dict[str, Any] = {**RANGE, "signals": False} if "$signals" in selection else RANGE
    declared = ", $signals: Boolean!" if "$signals" in selection else ""
    query = f"""
    query ($from: DateTime, $to: DateTime{declared}) {{
      aiCost(from: $from, to: $to) {{ calls {selection} }}
    }}
    fragment signals on AiCostReport {{ rows {{ acceptedOutputs }} }}
    """
    if "...signals" not in selection:
        query = query.split("fragment")[0]
    data = api.data(query, variables, token=ai_cost.admin_token)["aiCost"]
    assert data["calls"] == 0
    assert "acceptanceRate" not in data


def test_value_signals_included_by_a_variable_need_an_upgrade(api: Api) -> None:
    ai_cost = api.tenant(plan="ai_cost")
    query = """
    query ($from: DateTime, $to: DateTime, $signals: Boolean!) {
      aiCost(from: $from, to: $to) { calls acceptanceRate @include(if: $signals) }
    }
    """
    error = api.error(query, {**RANGE, "signals": True}, token=ai_cost.admin_token)
    assert error["extensions"]["code"] == "UPGRADE_REQUIRED"


def test_a_refused_report_leaves_the_other_fields_of_the_request(api: Api) -> None:
    free = api.tenant(plan="free")
    body = api.gql("{ viewer { role } aiCost { calls } }", token=free.admin_token)
    assert body["data"] == {"viewer": {"role": "ADMIN"}, "aiCost": None}
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UPGRADE_REQUIRED"]


def test_an_empty_range_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(TOTALS, {"from": RANGE["to"], "to": RANGE["from"]}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "from"}


def test_an_operator_gets_no_workspace_report(api: Api) -> None:
    error = api.error(TOTALS, RANGE, token=api.superuser_token())
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}


def test_the_series_has_every_bucket_of_the_range(api: Api, tenant: Tenant) -> None:
    api.insert(
        [call(tenant, "c1", cost="0.01", minute=70), call(tenant, "c2", cost=None, minute=75)]
    )
    query = """
    query ($from: DateTime, $to: DateTime) {
      aiCost(from: $from, to: $to) {
        series(granularity: HOUR) { start costEur calls callsWithUnknownCost }
      }
    }
    """
    variables = {"from": DAY.isoformat(), "to": (DAY + timedelta(hours=3)).isoformat()}
    series = api.data(query, variables, token=tenant.admin_token)["aiCost"]["series"]
    assert series == [
        {
            "start": "2026-11-02T00:00:00.000Z",
            "costEur": "0",
            "calls": 0,
            "callsWithUnknownCost": 0,
        },
        {
            "start": "2026-11-02T01:00:00.000Z",
            "costEur": "0.01",
            "calls": 2,
            "callsWithUnknownCost": 1,
        },
        {
            "start": "2026-11-02T02:00:00.000Z",
            "costEur": "0",
            "calls": 0,
            "callsWithUnknownCost": 0,
        },
    ]


def test_a_series_of_too_many_buckets_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    query = """
    query ($from: DateTime, $to: DateTime) {
      aiCost(from: $from, to: $to) { series(granularity: HOUR) { start } }
    }
    """
    variables = {"from": DAY.isoformat(), "to": (DAY + timedelta(days=365)).isoformat()}
    error = api.error(query, variables, token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "granularity",
    }


def test_latency_percentiles_are_within_one_percent(api: Api, tenant: Tenant) -> None:
    api.insert(crafted(tenant))
    query = """
    query ($from: DateTime, $to: DateTime) {
      aiCost(from: $from, to: $to) { latency { calls p50Ms p90Ms p95Ms p99Ms } }
    }
    """
    latency = api.data(query, RANGE, token=tenant.admin_token)["aiCost"]["latency"]
    # The p-percentile is the smallest latency L with a share p of the calls at most L, each
    # latency rounded to a bucket of 1 % relative width: of 100, 200, 300, 400 ms, p50 ≈ 200.
    assert latency == {
        "calls": 4,
        "p50Ms": pytest.approx(200, rel=0.01),
        "p90Ms": pytest.approx(400, rel=0.01),
        "p95Ms": pytest.approx(400, rel=0.01),
        "p99Ms": pytest.approx(400, rel=0.01),
    }


def test_the_edit_ratio_distribution_counts_edited_outputs_by_tenths(
    api: Api, tenant: Tenant
) -> None:
    api.insert(
        [*crafted(tenant), output(tenant, "edited", "c1", feature="support", edit_ratio=1.0)]
    )
    query = """
    query ($from: DateTime, $to: DateTime) {
      aiCost(from: $from, to: $to) { editRatioDistribution { lower upper count } }
    }
    """
    buckets = api.data(query, RANGE, token=tenant.admin_token)["aiCost"]["editRatioDistribution"]
    assert len(buckets) == 10
    assert buckets[2] == {"lower": "0.2", "upper": "0.3", "count": 1}
    assert buckets[9] == {"lower": "0.9", "upper": "1", "count": 1}
    assert sum(b["count"] for b in buckets) == 2
