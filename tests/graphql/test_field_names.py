"""`extensions.field` names the argument or input field as the schema spells it, and messages
name values as the schema spells them (CONTRACT §7): `inputPerMillionEur`, `signals[1].weight`,
`ACTIVE_USERS`, never the Python names behind them."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from app.graphql.organizations.types import HealthSignal as GraphQLHealthSignal
from app.organizations.health import HealthSignal
from tests.graphql.conftest import Api, Tenant

APP = Path(__file__).resolve().parents[2] / "app"

SET_PRICE = """
mutation ($key: String!, $input: Decimal!, $cached: Decimal) {
  setCustomerPrice(canonicalModelKey: $key, inputPerMillionEur: $input, outputPerMillionEur: "1",
                   cachedInputPerMillionEur: $cached) { canonicalModelKey }
}
"""
CREATE_ALIAS = """
mutation ($key: String!) {
  createModelAlias(provider: "acme", model: "turbo", canonicalModelKey: $key) { provider }
}
"""
SET_FX = """
mutation ($rate: Decimal!) {
  setFxRate(currency: "GBP", validFrom: "2026-01-01T00:00:00Z", rateToEur: $rate) { currency }
}
"""
CONFIGURE = """
mutation ($signals: [HealthSignalInput!]!) { configureHealthModel(signals: $signals) { isDefault } }
"""


def refusal(api: Api, query: str, variables: dict[str, Any], token: str) -> tuple[str, str]:
    error = api.error(query, variables, token=token)
    assert (error["extensions"]["code"], error["extensions"]["status"]) == ("BAD_USER_INPUT", 400)
    return error["extensions"]["field"], error["message"]


PRICE_REFUSALS: list[tuple[dict[str, str], str, str]] = [
    (
        {"key": "openai/gpt-5.4-mini", "input": "-1"},
        "inputPerMillionEur",
        "'inputPerMillionEur' cannot be negative.",
    ),
    (
        {"key": "openai/gpt-5.4-mini", "input": "1", "cached": "0.0000000000001"},
        "cachedInputPerMillionEur",
        "'cachedInputPerMillionEur' has more than 12 decimals.",
    ),
    (
        {"key": "nobody/nothing", "input": "1"},
        "canonicalModelKey",
        "Unknown model key 'nobody/nothing': use a catalog key or a 'local:' model.",
    ),
]


def test_a_customer_price_names_the_argument_it_refuses(api: Api, tenant: Tenant) -> None:
    for variables, field, message in PRICE_REFUSALS:
        assert refusal(api, SET_PRICE, variables, tenant.admin_token) == (field, message)


def test_operator_mutations_name_the_argument_they_refuse(api: Api) -> None:
    operator = api.superuser_token()
    assert refusal(api, CREATE_ALIAS, {"key": "nobody/nothing"}, operator) == (
        "canonicalModelKey",
        "Unknown model key 'nobody/nothing': use a catalog key or a 'local:' model.",
    )
    assert refusal(api, SET_FX, {"rate": "0"}, operator) == (
        "rateToEur",
        "'rateToEur' must be a positive decimal number.",
    )


def signal(name: str, weight: float, good: float, bad: float) -> dict[str, Any]:
    return {"signal": name, "weight": weight, "good": good, "bad": bad}


HEALTH_MODEL_REFUSALS: list[tuple[list[dict[str, Any]], str, str]] = [
    (
        [signal("ACTIVE_USERS", 1, 10, 1), signal("ACTIVE_USERS", 1, 10, 1)],
        "signals[1].signal",
        "The signal 'ACTIVE_USERS' appears twice.",
    ),
    (
        [signal("ACTIVE_USERS", 1, 10, 1), signal("ERROR_RATE", -1, 0.01, 0.1)],
        "signals[1].weight",
        "A weight must be between 0 and 1e+06.",
    ),
    (
        [signal("AI_ACCEPTANCE_RATE", 1, 1.5, 0.1)],
        "signals[0].good",
        "'good' of 'AI_ACCEPTANCE_RATE' must be between 0 and 1.",
    ),
    (
        [signal("ERROR_RATE", 1, 0.5, 0.1)],
        "signals[0].bad",
        "For 'ERROR_RATE' (higher is worse) 'bad' must be above 'good'.",
    ),
]


def test_a_health_model_names_the_input_field_and_the_signal_as_the_schema_does(
    api: Api, tenant: Tenant
) -> None:
    for signals, field, message in HEALTH_MODEL_REFUSALS:
        refused = refusal(api, CONFIGURE, {"signals": signals}, tenant.admin_token)
        assert refused == (field, message)


def test_each_signal_is_named_in_messages_as_the_graphql_enum_spells_it() -> None:
    assert [s.api_name for s in HealthSignal] == [s.name for s in GraphQLHealthSignal]


def _literal_fields(tree: ast.AST) -> list[str]:
    """The string constants (and f-strings' constant parts) given as `field=` anywhere."""
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "field":
            if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                found.append(node.value.value)
            elif isinstance(node.value, ast.JoinedStr):
                found.extend(
                    part.value
                    for part in node.value.values
                    if isinstance(part, ast.Constant) and isinstance(part.value, str)
                )
    return found


def test_no_field_of_a_refusal_is_spelled_in_snake_case() -> None:
    # Ingest's refusals name the fields of the event JSON, which is snake_case (CONTRACT §2).
    snake = {
        f"{path.relative_to(APP)}: {field}"
        for path in APP.rglob("*.py")
        if path.relative_to(APP).parts[0] != "ingest"
        for field in _literal_fields(ast.parse(path.read_text(encoding="utf-8")))
        if "_" in field
    }
    assert snake == set()
