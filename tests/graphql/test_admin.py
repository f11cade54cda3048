"""Operators: `unmappedModels` and `createModelAlias`, refused to workspace tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.graphql.conftest import DAY, Api, Tenant, event_row
from tests.graphql.ingest import completed_call, ingest, stored_events

UNMAPPED = "{ unmappedModels { provider model count firstSeen lastSeen exampleApps } }"
CREATE_ALIAS = """
mutation ($provider: String!, $model: String!, $key: String!) {
  createModelAlias(provider: $provider, model: $model, canonicalModelKey: $key) {
    provider model canonicalModelKey
  }
}
"""
ALIAS = {"provider": "acme-llm", "model": "mini-2026", "key": "openai/gpt-5.4-mini"}


def unknown_model_call(tenant: Tenant, minutes: int) -> dict[str, object]:
    return event_row(
        tenant,
        "ai_call_completed",
        at=DAY + timedelta(minutes=minutes),
        status="unknown_model",
        source="none",
        provider="acme-llm",
        model="mini-2026",
    )


def test_unmapped_models_are_listed_across_workspaces(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    api.insert(
        [
            unknown_model_call(tenant, 0),
            unknown_model_call(tenant, 5),
            unknown_model_call(other, 10),
        ]
    )
    listed = api.data(UNMAPPED, token=api.superuser_token())["unmappedModels"]
    assert listed == [
        {
            "provider": "acme-llm",
            "model": "mini-2026",
            "count": 3,
            "firstSeen": "2026-11-02T00:00:00.000Z",
            "lastSeen": "2026-11-02T00:10:00.000Z",
            "exampleApps": sorted([str(tenant.app_uuid), str(other.app_uuid)]),
        }
    ]


@pytest.mark.parametrize("role", ["admin", "member"])
def test_a_workspace_token_may_not_list_unmapped_models(
    api: Api, tenant: Tenant, role: str
) -> None:
    token = tenant.admin_token if role == "admin" else api.member_token(tenant)
    error = api.error(UNMAPPED, token=token)
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}


def test_a_workspace_admin_may_not_create_a_model_alias(api: Api, tenant: Tenant) -> None:
    error = api.error(CREATE_ALIAS, ALIAS, token=tenant.admin_token)
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_an_alias_prices_new_events_at_once_and_leaves_the_unmapped_list(
    api: Api, tenant: Tenant
) -> None:
    operator = api.superuser_token()
    api.insert([unknown_model_call(tenant, 0)])
    alias = api.data(CREATE_ALIAS, ALIAS, token=operator)["createModelAlias"]
    assert alias == {
        "provider": "acme-llm",
        "model": "mini-2026",
        "canonicalModelKey": "openai/gpt-5.4-mini",
    }
    assert api.data(UNMAPPED, token=operator)["unmappedModels"] == []
    ingest(api, tenant, {**completed_call("acme-llm", "mini-2026"), "event_id": "after-alias"})
    [event] = [e for e in stored_events(api, tenant, 2) if e["eventId"] == "after-alias"]
    assert event["aiCanonicalModelKey"] == "openai/gpt-5.4-mini"
    assert event["aiCostStatus"] == "calculated"
    assert event["aiPricingSource"] == "global_catalog"


def test_an_alias_of_an_already_mapped_model_is_bad_user_input(api: Api) -> None:
    error = api.error(
        CREATE_ALIAS,
        {"provider": "openai", "model": "gpt-5.5", "key": "openai/gpt-5.4-mini"},
        token=api.superuser_token(),
    )
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "model"}
