"""`modelCatalog`, `customerPrices` and `setCustomerPrice`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.graphql.conftest import Api, Tenant
from tests.graphql.ingest import completed_call, ingest, stored_events

SET_PRICE = """
mutation ($key: String!, $input: Decimal!, $output: Decimal!, $cached: Decimal) {
  setCustomerPrice(canonicalModelKey: $key, inputPerMillionEur: $input,
                   outputPerMillionEur: $output, cachedInputPerMillionEur: $cached) {
    canonicalModelKey inputPerMillionEur outputPerMillionEur cachedInputPerMillionEur validFrom
  }
}
"""
PRICES = "{ customerPrices { canonicalModelKey inputPerMillionEur outputPerMillionEur } }"


def price(key: str = "openai/gpt-5.4-mini", **amounts: str) -> dict[str, Any]:
    return {"key": key, "input": "0.20", "output": "0.80", **amounts}


def test_the_model_catalog_lists_models_with_their_current_price(api: Api, tenant: Tenant) -> None:
    catalog = api.data(
        """{ modelCatalog { canonicalModelKey provider model
             price { inputPerMillionEur outputPerMillionEur } aliases { provider model } } }""",
        token=api.member_token(tenant),
    )["modelCatalog"]
    by_key = {entry["canonicalModelKey"]: entry for entry in catalog}
    entry = by_key["openai/gpt-5.5"]
    assert (entry["provider"], entry["model"]) == ("openai", "gpt-5.5")
    assert entry["price"] == {"inputPerMillionEur": "4.3", "outputPerMillionEur": "25.8"}


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_customer_price_is_listed_with_its_exact_amounts(api: Api, tenant: Tenant) -> None:
    result = api.data(SET_PRICE, price(cached="0.050"), token=tenant.admin_token)
    assert result["setCustomerPrice"]["canonicalModelKey"] == "openai/gpt-5.4-mini"
    assert result["setCustomerPrice"]["cachedInputPerMillionEur"] == "0.05"
    listed = api.data(PRICES, token=api.member_token(tenant))["customerPrices"]
    assert listed == [
        {
            "canonicalModelKey": "openai/gpt-5.4-mini",
            "inputPerMillionEur": "0.2",
            "outputPerMillionEur": "0.8",
        }
    ]


def test_a_customer_price_prices_new_events_at_once(api: Api, tenant: Tenant) -> None:
    api.data(SET_PRICE, price(), token=tenant.admin_token)
    ingest(api, tenant, completed_call("openai", "gpt-5.4-mini"))
    [event] = stored_events(api, tenant, 1)
    assert event["aiPricingSource"] == "customer_override"
    # 1200 * 0.20 / 1M + 350 * 0.80 / 1M
    assert event["estimatedCostEur"] == "0.00052"


def test_customer_prices_belong_to_their_workspace(api: Api, tenant: Tenant) -> None:
    other = api.tenant(name="Other")
    api.data(SET_PRICE, price(), token=tenant.admin_token)
    assert api.data(PRICES, token=other.admin_token)["customerPrices"] == []


def test_a_member_may_not_set_a_customer_price(api: Api, tenant: Tenant) -> None:
    error = api.error(SET_PRICE, price(), token=api.member_token(tenant))
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}
    assert api.data(PRICES, token=tenant.admin_token)["customerPrices"] == []


def test_an_operator_may_not_set_a_customer_price(api: Api) -> None:
    error = api.error(SET_PRICE, price(), token=api.superuser_token())
    assert error["extensions"] == {"code": "FORBIDDEN", "status": 403}


def test_an_unknown_model_key_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(SET_PRICE, price(key="nobody/nothing"), token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "canonicalModelKey",
    }
