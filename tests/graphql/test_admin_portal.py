"""The operators' admin portal: catalog models and prices, FX rates, the audit log, and that
only a superuser may use any of it. Pricing changes apply to the very next ingested event."""

from __future__ import annotations

from typing import Any

import pytest

from app.accounts.service import authenticate
from app.db import session_scope
from tests.graphql.conftest import Api, Tenant
from tests.graphql.ingest import completed_call, ingest, stored_events

FORBIDDEN = {"code": "FORBIDDEN", "status": 403}

CREATE_MODEL = """
mutation ($provider: String!, $model: String!, $key: String) {
  createCatalogModel(provider: $provider, model: $model, canonicalModelKey: $key) {
    canonicalModelKey provider model price { inputPerMillionEur } aliases { provider }
  }
}
"""
SET_PRICE = """
mutation ($key: String!, $validFrom: DateTime!, $input: Decimal!, $output: Decimal!,
          $cached: Decimal) {
  setCatalogPrice(canonicalModelKey: $key, validFrom: $validFrom, inputPerMillionEur: $input,
                  outputPerMillionEur: $output, cachedInputPerMillionEur: $cached) {
    canonicalModelKey validFrom inputPerMillionEur outputPerMillionEur cachedInputPerMillionEur
  }
}
"""
SET_FX = """
mutation ($currency: String!, $validFrom: DateTime!, $rate: Decimal!) {
  setFxRate(currency: $currency, validFrom: $validFrom, rateToEur: $rate) {
    currency validFrom rateToEur inForce
  }
}
"""
FX_RATES = """
query ($currency: String) { fxRates(currency: $currency) { currency validFrom rateToEur inForce } }
"""
AUDIT_LOG = """
query ($limit: Int! = 50, $after: String, $action: String, $workspaceId: UUID) {
  auditLog(limit: $limit, after: $after, action: $action, workspaceId: $workspaceId) {
    items { action actor actorRole actorEmail workspaceId before after }
    nextCursor
    hasMore
  }
}
"""
TURBO = {"provider": "acme-ai", "model": "turbo-1", "key": "acme-ai/turbo-1"}
TURBO_PRICE = {
    "key": "acme-ai/turbo-1",
    "validFrom": "2024-01-01T00:00:00Z",
    "input": "2",
    "output": "8",
}


def audit_items(api: Api, token: str, **variables: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api.data(AUDIT_LOG, variables, token=token)["auditLog"]["items"]
    return items


def actor_of(api: Api, token: str) -> str:
    with session_scope(api.runtime.engine) as session:
        return authenticate(session, token).actor


# --- prices take effect at once ---------------------------------------------------------------


def test_an_event_ingested_after_set_catalog_price_is_priced_with_it(
    api: Api, tenant: Tenant
) -> None:
    operator = api.superuser_token()
    api.data(CREATE_MODEL, TURBO, token=operator)
    ingest(api, tenant, {**completed_call("acme-ai", "turbo-1"), "event_id": "before"})
    stored_events(api, tenant, 1)

    api.data(SET_PRICE, TURBO_PRICE, token=operator)
    ingest(api, tenant, {**completed_call("acme-ai", "turbo-1"), "event_id": "after"})
    events = {e["eventId"]: e for e in stored_events(api, tenant, 2)}

    # 1200 input tokens at 2 EUR/1M + 350 output tokens at 8 EUR/1M.
    assert events["after"] == {
        "eventId": "after",
        "event": "ai_call_completed",
        "aiCostStatus": "calculated",
        "aiPricingSource": "global_catalog",
        "aiCanonicalModelKey": "acme-ai/turbo-1",
        "estimatedCostEur": "0.0052",
    }
    # Stored events keep the cost they were given: history is not recalculated.
    assert events["before"]["aiCostStatus"] == "missing_price"
    assert events["before"]["estimatedCostEur"] is None


def test_an_event_ingested_after_set_fx_rate_is_converted_with_it(api: Api, tenant: Tenant) -> None:
    operator = api.superuser_token()
    in_gbp = {"cost_amount": 10, "cost_currency": "GBP"}
    ingest(api, tenant, {**completed_call("openai", "gpt-5.4-mini", **in_gbp), "event_id": "a"})
    stored_events(api, tenant, 1)

    rate = {"currency": "GBP", "validFrom": "2024-01-01T00:00:00Z", "rate": "1.15"}
    api.data(SET_FX, rate, token=operator)
    ingest(api, tenant, {**completed_call("openai", "gpt-5.4-mini", **in_gbp), "event_id": "b"})
    events = {e["eventId"]: e for e in stored_events(api, tenant, 2)}

    assert (events["a"]["aiCostStatus"], events["a"]["estimatedCostEur"]) == (
        "missing_fx_rate",
        None,
    )
    assert (events["b"]["aiCostStatus"], events["b"]["estimatedCostEur"]) == (
        "explicit_event_cost",
        "11.5",
    )


# --- catalog models and prices ----------------------------------------------------------------


def test_a_created_catalog_model_is_listed_without_a_price_and_audited(api: Api) -> None:
    operator = api.superuser_token()
    created = api.data(CREATE_MODEL, TURBO, token=operator)["createCatalogModel"]
    assert created == {
        "canonicalModelKey": "acme-ai/turbo-1",
        "provider": "acme-ai",
        "model": "turbo-1",
        "price": None,
        "aliases": [],
    }
    catalog = api.data(
        "{ modelCatalog { canonicalModelKey price { inputPerMillionEur } } }", token=operator
    )["modelCatalog"]
    assert {"canonicalModelKey": "acme-ai/turbo-1", "price": None} in catalog
    assert audit_items(api, operator) == [
        {
            "action": "catalog.create_model",
            "actor": actor_of(api, operator),
            "actorRole": "superuser",
            "actorEmail": "ops@example.com",
            "workspaceId": None,
            "before": None,
            "after": {
                "canonical_key": "acme-ai/turbo-1",
                "provider": "acme-ai",
                "model": "turbo-1",
            },
        }
    ]


def test_a_catalog_key_defaults_to_provider_slash_model(api: Api) -> None:
    variables = {"provider": "acme-ai", "model": "turbo-2"}
    created = api.data(CREATE_MODEL, variables, token=api.superuser_token())
    assert created["createCatalogModel"]["canonicalModelKey"] == "acme-ai/turbo-2"


def test_a_catalog_key_already_known_is_bad_user_input(api: Api) -> None:
    variables = {"provider": "acme-ai", "model": "turbo-9", "key": "openai/gpt-5.4-mini"}
    error = api.error(CREATE_MODEL, variables, token=api.superuser_token())
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "canonicalModelKey",
    }


def test_set_catalog_price_answers_the_price_and_audits_the_one_it_replaces(api: Api) -> None:
    operator = api.superuser_token()
    variables = {
        "key": "openai/gpt-5.4-mini",
        "validFrom": "2026-06-01T00:00:00Z",
        "input": "0.5",
        "output": "3.000",
        "cached": "0.05",
    }
    price = api.data(SET_PRICE, variables, token=operator)["setCatalogPrice"]
    assert price == {
        "canonicalModelKey": "openai/gpt-5.4-mini",
        "validFrom": "2026-06-01T00:00:00.000Z",
        "inputPerMillionEur": "0.5",
        "outputPerMillionEur": "3",
        "cachedInputPerMillionEur": "0.05",
    }
    [entry] = audit_items(api, operator)
    assert entry["action"] == "catalog.set_price"
    assert entry["before"] == {
        "canonical_key": "openai/gpt-5.4-mini",
        "valid_from": "2024-01-01T00:00:00+00:00",
        "input_per_million_eur": "0.645",
        "output_per_million_eur": "3.87",
        "cached_input_per_million_eur": "0.0645",
    }
    assert entry["after"] == {
        "canonical_key": "openai/gpt-5.4-mini",
        "valid_from": "2026-06-01T00:00:00+00:00",
        "input_per_million_eur": "0.5",
        "output_per_million_eur": "3.000",
        "cached_input_per_million_eur": "0.05",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"key": "acme-ai/unknown"}, "canonicalModelKey"),
        ({"input": "-1"}, "inputPerMillionEur"),
        ({"output": "1000000"}, "outputPerMillionEur"),
    ],
    ids=["unknown-key", "negative", "too-large"],
)
def test_a_refused_catalog_price_is_bad_user_input_and_changes_nothing(
    api: Api, change: dict[str, str], field: str
) -> None:
    operator = api.superuser_token()
    variables = {**TURBO_PRICE, "key": "openai/gpt-5.4-mini", **change}
    error = api.error(SET_PRICE, variables, token=operator)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": field}
    assert audit_items(api, operator) == []


# --- FX rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_fx_rates_list_the_history_with_the_rate_in_force(api: Api) -> None:
    operator = api.superuser_token()
    later = {"currency": "usd", "validFrom": "2026-01-01T00:00:00Z", "rate": "0.9"}
    future = {"currency": "USD", "validFrom": "2299-01-01T00:00:00Z", "rate": "0.5"}
    gbp = {"currency": "GBP", "validFrom": "2025-01-01T00:00:00Z", "rate": "1.15"}
    assert api.data(SET_FX, later, token=operator)["setFxRate"] == {
        "currency": "USD",
        "validFrom": "2026-01-01T00:00:00.000Z",
        "rateToEur": "0.9",
        "inForce": True,
    }
    assert api.data(SET_FX, future, token=operator)["setFxRate"]["inForce"] is False
    api.data(SET_FX, gbp, token=operator)
    assert api.data(FX_RATES, token=operator)["fxRates"] == [
        {
            "currency": "GBP",
            "validFrom": "2025-01-01T00:00:00.000Z",
            "rateToEur": "1.15",
            "inForce": True,
        },
        {
            "currency": "USD",
            "validFrom": "2299-01-01T00:00:00.000Z",
            "rateToEur": "0.5",
            "inForce": False,
        },
        {
            "currency": "USD",
            "validFrom": "2026-01-01T00:00:00.000Z",
            "rateToEur": "0.9",
            "inForce": True,
        },
        {
            "currency": "USD",
            "validFrom": "2024-01-01T00:00:00.000Z",
            "rateToEur": "0.86",
            "inForce": False,
        },
    ]
    usd = api.data(FX_RATES, {"currency": "usd"}, token=operator)["fxRates"]
    assert [r["validFrom"][:4] for r in usd] == ["2299", "2026", "2024"]


def test_correcting_an_fx_rate_is_audited_with_before_and_after(api: Api) -> None:
    operator = api.superuser_token()
    first = {"currency": "GBP", "validFrom": "2025-01-01T00:00:00Z", "rate": "1.15"}
    api.data(SET_FX, first, token=operator)
    api.data(SET_FX, {**first, "rate": "1.17"}, token=operator)
    entries = audit_items(api, operator, action="pricing.set_fx_rate")
    gbp = {"currency": "GBP", "valid_from": "2025-01-01T00:00:00+00:00"}
    assert [(e["before"], e["after"]) for e in entries] == [
        ({**gbp, "rate_to_eur": "1.15"}, {**gbp, "rate_to_eur": "1.17"}),
        (None, {**gbp, "rate_to_eur": "1.15"}),
    ]


def test_eur_has_no_fx_rate(api: Api) -> None:
    variables = {"currency": "EUR", "validFrom": "2025-01-01T00:00:00Z", "rate": "1"}
    error = api.error(SET_FX, variables, token=api.superuser_token())
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": "currency"}


# --- the audit log ----------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_audit_log_pages_newest_first_each_entry_once(api: Api) -> None:
    operator = api.superuser_token()
    for day in range(1, 6):
        rate = {"currency": "GBP", "validFrom": f"2025-01-0{day}T00:00:00Z", "rate": f"1.1{day}"}
        api.data(SET_FX, rate, token=operator)

    def page(after: str | None) -> dict[str, Any]:
        variables = {"limit": 2, "after": after}
        result: dict[str, Any] = api.data(AUDIT_LOG, variables, token=operator)["auditLog"]
        return result

    first = page(None)
    second = page(first["nextCursor"])
    third = page(second["nextCursor"])
    rates = [[item["after"]["rate_to_eur"] for item in p["items"]] for p in (first, second, third)]
    assert rates == [["1.15", "1.14"], ["1.13", "1.12"], ["1.11"]]
    assert [first["hasMore"], second["hasMore"], third["hasMore"]] == [True, True, False]
    assert third["nextCursor"] is None


def test_the_audit_log_shows_workspace_changes_with_their_workspace(
    api: Api, tenant: Tenant
) -> None:
    set_customer_price = """
    mutation {
      setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", inputPerMillionEur: "1",
                       outputPerMillionEur: "2") { canonicalModelKey }
    }
    """
    api.data(set_customer_price, token=tenant.admin_token)
    operator = api.superuser_token()
    api.data(
        SET_FX,
        {"currency": "GBP", "validFrom": "2025-01-01T00:00:00Z", "rate": "1.1"},
        token=operator,
    )
    [entry] = audit_items(api, operator, workspaceId=str(tenant.workspace_id))
    assert entry["action"] == "pricing.set_customer_price"
    assert entry["workspaceId"] == str(tenant.workspace_id)
    assert entry["actor"] == actor_of(api, tenant.admin_token)
    assert (entry["actorRole"], entry["actorEmail"]) == ("admin", None)


@pytest.mark.parametrize(
    ("variables", "field"),
    [({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"after": "nope"}, "after")],
    ids=["zero", "too-many", "bad-cursor"],
)
def test_audit_log_arguments_out_of_bounds_are_bad_user_input(
    api: Api, variables: dict[str, Any], field: str
) -> None:
    error = api.error(AUDIT_LOG, variables, token=api.superuser_token())
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400, "field": field}


# --- only operators ---------------------------------------------------------------------------

OPERATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "unmappedModels": ("{ unmappedModels { model } }", {}),
    "fxRates": (FX_RATES, {}),
    "auditLog": (AUDIT_LOG, {}),
    "createModelAlias": (
        """mutation { createModelAlias(provider: "acme-llm", model: "mini",
             canonicalModelKey: "openai/gpt-5.4-mini") { model } }""",
        {},
    ),
    "createCatalogModel": (CREATE_MODEL, TURBO),
    "setCatalogPrice": (SET_PRICE, {**TURBO_PRICE, "key": "openai/gpt-5.4-mini"}),
    "setFxRate": (SET_FX, {"currency": "GBP", "validFrom": "2025-01-01T00:00:00Z", "rate": "1.1"}),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize(
    ("caller", "refusal"),
    [
        ("anonymous", {"code": "UNAUTHENTICATED", "status": 401}),
        ("member", FORBIDDEN),
        ("admin", FORBIDDEN),
        ("another workspace", FORBIDDEN),
        ("superuser", None),
    ],
)
def test_only_an_operator_may_use_the_admin_portal(
    api: Api, tenant: Tenant, operation: str, caller: str, refusal: dict[str, Any] | None
) -> None:
    operator = api.superuser_token()
    tokens = {
        "anonymous": None,
        "member": api.member_token(tenant),
        "admin": tenant.admin_token,
        "another workspace": api.tenant(name="Intruder").admin_token,
        "superuser": operator,
    }
    query, variables = OPERATIONS[operation]
    if refusal is None:
        assert operation in api.data(query, variables, token=tokens[caller])
        return
    assert api.error(query, variables, token=tokens[caller])["extensions"] == refusal
    # A refused change leaves no trace.
    assert audit_items(api, operator) == []
