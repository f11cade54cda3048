"""`events`: the workspace's event stream, newest first, filtered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from app.ingest.signature import sign_headers
from tests.graphql.conftest import DAY, Api, Tenant, event_row

EVENTS = """
query ($appUuid: UUID, $environment: String, $event: String, $limit: Int! = 50,
       $customerOrgId: String, $from: DateTime, $to: DateTime) {
  events(appUuid: $appUuid, environment: $environment, event: $event, limit: $limit,
         customerOrgId: $customerOrgId, from: $from, to: $to) {
    eventId event timestamp appUuid customerOrgId environment userHash properties
    aiCostStatus aiPricingSource aiCanonicalModelKey estimatedCostEur
  }
}
"""


def ids(api: Api, token: str, **variables: Any) -> list[str]:
    return [e["eventId"] for e in api.data(EVENTS, variables, token=token)["events"]]


def test_events_are_listed_newest_first_with_their_fields(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            event_row(tenant, "signup", at=DAY, event_id="first", customer="", user_hash=""),
            event_row(
                tenant,
                "ai_call_completed",
                at=DAY + timedelta(seconds=1),
                event_id="second",
                cost="0.014",
                model_key="openai/gpt-5.4-mini",
                status="explicit_event_cost",
                source="event_explicit",
                feature="support",
                input_tokens=1200,
            ),
        ]
    )
    events = api.data(EVENTS, token=tenant.admin_token)["events"]
    assert events == [
        {
            "eventId": "second",
            "event": "ai_call_completed",
            "timestamp": "2026-11-02T00:00:01.000Z",
            "appUuid": str(tenant.app_uuid),
            "customerOrgId": "acme-corp",
            "environment": "production",
            "userHash": "u1",
            "properties": {"feature": "support", "input_tokens": 1200},
            "aiCostStatus": "explicit_event_cost",
            "aiPricingSource": "event_explicit",
            "aiCanonicalModelKey": "openai/gpt-5.4-mini",
            "estimatedCostEur": "0.014",
        },
        {
            "eventId": "first",
            "event": "signup",
            "timestamp": "2026-11-02T00:00:00.000Z",
            "appUuid": str(tenant.app_uuid),
            "customerOrgId": None,
            "environment": "production",
            "userHash": None,
            "properties": {},
            "aiCostStatus": None,
            "aiPricingSource": None,
            "aiCanonicalModelKey": None,
            "estimatedCostEur": None,
        },
    ]


def test_an_unknown_cost_is_null_and_a_known_zero_is_zero(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            event_row(tenant, "ai_call_completed", at=DAY, event_id="zero", cost="0"),
            event_row(
                tenant,
                "ai_call_completed",
                at=DAY - timedelta(seconds=1),
                event_id="unknown",
                status="unknown_model",
            ),
        ]
    )
    events = api.data(EVENTS, token=tenant.admin_token)["events"]
    assert [(e["eventId"], e["estimatedCostEur"]) for e in events] == [
        ("zero", "0"),
        ("unknown", None),
    ]


def test_events_are_filtered(api: Api, tenant: Tenant) -> None:
    with_app = api.data('mutation { createApp(name: "Mobile") { uuid } }', token=tenant.admin_token)
    mobile = with_app["createApp"]["uuid"]
    api.insert(
        [
            event_row(tenant, "signup", at=DAY, event_id="match"),
            event_row(tenant, "login", at=DAY, event_id="other-event"),
            event_row(tenant, "signup", at=DAY, event_id="other-env", environment="staging"),
            event_row(tenant, "signup", at=DAY, event_id="other-customer", customer="globex"),
            event_row(tenant, "signup", at=DAY, event_id="other-app", app_uuid=mobile),
            event_row(tenant, "signup", at=DAY - timedelta(days=1), event_id="too-early"),
            event_row(tenant, "signup", at=DAY + timedelta(days=1), event_id="too-late"),
        ]
    )
    found = ids(
        api,
        tenant.admin_token,
        appUuid=str(tenant.app_uuid),
        environment="production",
        event="signup",
        customerOrgId="acme-corp",
        **{"from": DAY.isoformat(), "to": (DAY + timedelta(days=1)).isoformat()},
    )
    assert found == ["match"]


def test_events_stop_at_the_limit(api: Api, tenant: Tenant) -> None:
    api.insert(
        [
            event_row(tenant, "signup", at=DAY + timedelta(seconds=i), event_id=f"e{i}")
            for i in range(5)
        ]
    )
    assert ids(api, tenant.admin_token, limit=2) == ["e4", "e3"]


def test_a_limit_out_of_range_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(EVENTS, {"limit": 501}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "limit"}


def test_another_workspaces_events_are_never_shown(api: Api, tenant: Tenant) -> None:
    intruder = api.tenant(name="Intruder")
    api.insert([event_row(tenant, "signup", at=DAY, event_id="acme-only")])
    assert ids(api, intruder.admin_token) == []
    assert ids(api, tenant.admin_token) == ["acme-only"]


def test_another_workspaces_app_is_not_found(api: Api, tenant: Tenant) -> None:
    intruder = api.tenant(name="Intruder")
    api.insert([event_row(tenant, "signup", at=DAY)])
    error = api.error(EVENTS, {"appUuid": str(tenant.app_uuid)}, token=intruder.admin_token)
    assert error["extensions"] == {"code": "NOT_FOUND", "status": 404}


def test_a_signed_event_appears_in_the_stream(api: Api, tenant: Tenant) -> None:
    body = orjson.dumps(
        {
            "event": "ai_call_completed",
            "event_id": "client-1",
            "customer_org_id": "acme-corp",
            "properties": {
                "ai": {"feature": "support", "provider": "openai", "model": "gpt-5.4-mini"},
                "estimated_cost_eur": 0.014,
                "prompt": "never stored",
            },
        }
    )
    headers = {
        "content-type": "application/json",
        **sign_headers(tenant.api_secret, body, app_uuid=str(tenant.app_uuid)),
    }
    assert api.client.post("/v1/ingest", content=body, headers=headers).status_code == 202
    api.runtime.drain()
    [event] = api.data(EVENTS, token=tenant.admin_token)["events"]
    assert event["eventId"] == "client-1"
    assert event["estimatedCostEur"] == "0.014"
    assert event["aiCostStatus"] == "explicit_event_cost"
    assert event["properties"]["feature"] == "support"
    assert "prompt" not in event["properties"]


def test_an_operator_has_no_event_stream(api: Api) -> None:
    error = api.error(EVENTS, token=api.superuser_token())
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}


def test_events_older_than_the_retention_are_not_returned(api: Api) -> None:
    free = api.tenant(plan="free", name="Free Co")  # 30 days of raw data
    now = datetime.now(UTC)
    api.insert(
        [
            event_row(free, "signup", at=now - timedelta(days=40), event_id="expired"),
            event_row(free, "signup", at=now - timedelta(days=1), event_id="kept"),
        ]
    )
    assert ids(api, free.admin_token) == ["kept"]
