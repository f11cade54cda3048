"""One translation of errors: codes and statuses of the contract, the unexpected masked."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from app.graphql.schema import make_schema
from app.server import create_app
from app.settings import Environment, Settings
from app.store.interface import AnalyticsStore
from tests.graphql.conftest import Api, Tenant

SET_PRICE = """
mutation ($input: Decimal!) {
  setCustomerPrice(canonicalModelKey: "openai/gpt-5.4-mini", inputPerMillionEur: $input,
                   outputPerMillionEur: "1") { inputPerMillionEur }
}
"""


def test_a_request_without_a_token_is_unauthenticated(api: Api) -> None:
    error = api.error("{ viewer { role } }", token=None)
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "status": 401}
    assert error["path"] == ["viewer"]


def test_an_unknown_token_is_unauthenticated(api: Api) -> None:
    error = api.error("{ apps { uuid } }", token="st_not-a-real-token")
    assert error["extensions"] == {"code": "UNAUTHENTICATED", "status": 401}


def test_a_syntax_error_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error("{ viewer { role ", token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}


def test_an_unknown_field_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error("{ viewer { nope } }", token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}
    assert "nope" in error["message"]


def test_a_decimal_sent_as_a_number_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error(SET_PRICE, {"input": 0.1}, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}
    assert "as strings" in error["message"]


def test_a_malformed_uuid_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    error = api.error('{ app(uuid: "not-a-uuid") { name } }', token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}


def test_a_refused_value_carries_the_field_in_its_extensions(api: Api, tenant: Tenant) -> None:
    error = api.error(SET_PRICE, {"input": "-1"}, token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "BAD_USER_INPUT",
        "status": 400,
        "field": "inputPerMillionEur",
    }


def test_an_unexpected_error_is_masked(api: Api, tenant: Tenant) -> None:
    # A real fault, not a stand-in: the events table is gone from ClickHouse.
    api.runtime.store.command("DROP TABLE events")
    body = api.gql("{ events { eventId } }", token=tenant.admin_token)
    assert body["errors"] == [
        {
            "message": "Unexpected error.",
            "locations": [{"line": 1, "column": 3}],
            "path": ["events"],
            "extensions": {"code": "INTERNAL", "status": 500},
        }
    ]
    assert "events" not in body["errors"][0]["message"]
    assert "DB::Exception" not in str(body)


def test_an_unexpected_error_is_logged_in_full(
    api: Api, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    api.runtime.store.command("DROP TABLE events")
    with caplog.at_level(logging.ERROR, logger="strawberry.execution"):
        api.gql("{ events { eventId } }", token=tenant.admin_token)
    assert "UNKNOWN_TABLE" in caplog.text


def test_an_expected_refusal_is_not_logged_as_an_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="strawberry.execution"):
        api.gql("{ viewer { role } }", token=None)
    assert caplog.text == ""


def test_graphiql_is_served_in_development(settings: Settings, store: AnalyticsStore) -> None:
    development = settings.model_copy(update={"env": Environment.development})
    with TestClient(create_app(development)) as client:
        response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_graphiql_is_not_served_outside_development(api: Api) -> None:
    response = api.client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


def test_production_refuses_introspection() -> None:
    result = make_schema(production=True).execute_sync("{ __schema { types { name } } }")
    assert result.errors
    assert "introspection" in result.errors[0].message.lower()


def test_production_error_messages_suggest_no_field_names() -> None:
    result = make_schema(production=True).execute_sync("{ viewr { role } }")
    assert result.errors
    assert "Did you mean" not in result.errors[0].message
    assert "viewer" not in result.errors[0].message


def test_development_error_messages_suggest_field_names() -> None:
    result = make_schema(production=False).execute_sync("{ viewr { role } }")
    assert result.errors
    assert "Did you mean 'viewer'" in result.errors[0].message
