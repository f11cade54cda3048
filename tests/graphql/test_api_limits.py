"""What bounds a request, through HTTP: body size, tokens, depth and aliases; and what the
production app does not reveal (no introspection, no field suggestions, no GraphiQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.graphql.app import MAX_BODY_BYTES
from app.graphql.cost import QUERY_BUDGET
from app.graphql.schema import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from app.server import create_app
from app.settings import Environment, Settings
from app.store.interface import AnalyticsStore
from tests.graphql.conftest import Api, Tenant

BAD_USER_INPUT = {"code": "BAD_USER_INPUT", "status": 400}


def aliased_viewers(count: int) -> str:
    return "{ " + " ".join(f"v{i}: viewer {{ role }}" for i in range(count)) + " }"


def nested(depth: int) -> str:
    """`{ viewer { f1 { f2 … } } }`, `depth` levels of selection sets under the operation."""
    inner = "leaf"
    for level in range(depth - 1, 0, -1):
        inner = f"f{level} {{ {inner} }}"
    return f"{{ viewer {{ {inner} }} }}"


def test_as_many_aliases_as_allowed_are_answered(api: Api, tenant: Tenant) -> None:
    data = api.data(aliased_viewers(MAX_ALIASES), token=tenant.admin_token)
    assert len(data) == MAX_ALIASES == 20


def test_one_alias_too_many_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    body = api.gql(aliased_viewers(MAX_ALIASES + 1), token=tenant.admin_token)
    assert body["errors"] == [
        {
            "message": "21 aliases found. Allowed: 20",
            "extensions": BAD_USER_INPUT,
        }
    ]
    assert body.get("data") is None


def test_a_document_over_the_token_limit_is_refused_before_it_is_parsed(
    api: Api, tenant: Tenant
) -> None:
    # "viewer", "{", "role", "}": 4 tokens per selection, plus the outer braces.
    query = "{ " + "viewer { role } " * (MAX_TOKENS // 4) + "}"
    error = api.error(query, token=tenant.admin_token)
    assert error["extensions"] == BAD_USER_INPUT
    assert error["message"] == (
        "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."
    )


def test_a_query_deeper_than_the_limit_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    body = api.gql(nested(MAX_DEPTH + 2), token=tenant.admin_token)
    messages = [e["message"] for e in body["errors"]]
    assert "'anonymous' exceeds maximum operation depth of 8" in messages
    assert {tuple(sorted(e["extensions"].items())) for e in body["errors"]} == {
        tuple(sorted(BAD_USER_INPUT.items()))
    }
    assert body.get("data") is None


def test_the_depth_limit_counts_no_introspection_fields(api: Api, tenant: Tenant) -> None:
    # GraphiQL's introspection nests `ofType` deeply; outside production it must still work.
    of_type = "name"
    for _ in range(MAX_DEPTH + 2):
        of_type = f"name ofType {{ {of_type} }}"
    query = f"{{ __schema {{ queryType {{ fields {{ type {{ {of_type} }} }} }} }} }}"
    data = api.data(query, token=None)
    assert data["__schema"]["queryType"]["fields"]


def test_a_body_over_the_size_limit_is_413_before_any_parsing(api: Api, tenant: Tenant) -> None:
    padding = "x" * MAX_BODY_BYTES
    response = api.client.post(
        "/graphql",
        json={"query": "{ viewer { role } }", "variables": {"padding": padding}},
        headers={"authorization": f"Bearer {tenant.admin_token}"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "The request body exceeds 1048576 bytes.",
                "extensions": {**BAD_USER_INPUT, "maxBytes": 1048576},
            }
        ],
    }


def test_a_body_within_the_size_limit_is_answered(api: Api, tenant: Tenant) -> None:
    response = api.client.post(
        "/graphql",
        json={"query": "{ viewer { role } }", "variables": {"padding": "x" * 100_000}},
        headers={"authorization": f"Bearer {tenant.admin_token}"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "ADMIN"}}}


def test_variables_nested_a_thousand_levels_deep_are_bad_user_input_and_log_no_error(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    nested = '{"a":' * 1000 + "1" + "}" * 1000
    body = '{"query": "{ viewer { role } }", "variables": {"x": ' + nested + "}}"
    with caplog.at_level(logging.ERROR):
        response = api.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {"message": "The request's JSON is nested too deeply.", "extensions": BAD_USER_INPUT}
        ],
    }
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_body_that_is_not_json_is_bad_user_input(api: Api) -> None:
    response = api.client.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [{"message": "The request's JSON is not valid.", "extensions": BAD_USER_INPUT}],
    }


# --- production ---------------------------------------------------------------------------


@pytest.fixture
def production(settings: Settings, store: AnalyticsStore) -> Iterator[Api]:
    """The app as `SAAS_TRACKER_ENV=production` runs it."""
    with TestClient(create_app(settings.model_copy(update={"env": Environment.production}))) as c:
        yield Api(c, c.app.state.runtime)  # type: ignore[attr-defined]


def _errors(api: Api, query: str, token: str | None) -> list[dict[str, Any]]:
    body = api.gql(query, token=token)
    assert body.get("data") is None
    errors: list[dict[str, Any]] = body["errors"]
    return errors


def _one_error(api: Api, query: str, token: str | None) -> dict[str, Any]:
    [error] = _errors(api, query, token)
    return error


def test_production_refuses_introspection_as_bad_user_input(production: Api) -> None:
    token = production.tenant().admin_token
    errors = _errors(production, "{ __schema { types { name } } }", token)
    # One error per field that returns an introspection type.
    assert [(e["message"], e["extensions"]) for e in errors] == [
        (
            "GraphQL introspection has been disabled, but the requested query contained the "
            f"field '{field}'.",
            BAD_USER_INPUT,
        )
        for field in ("__schema", "types")
    ]


def test_production_refuses_type_introspection_too(production: Api) -> None:
    errors = _errors(production, '{ __type(name: "Event") { name } }', None)
    assert [(e["message"], e["extensions"]) for e in errors] == [
        (
            "GraphQL introspection has been disabled, but the requested query contained the "
            f"field '{field}'.",
            BAD_USER_INPUT,
        )
        for field in ("__type",)
    ]


def test_production_suggests_no_field_names(production: Api) -> None:
    token = production.tenant().admin_token
    error = _one_error(production, "{ evnts { eventId } }", token)
    assert error == {
        "message": "Cannot query field 'evnts' on type 'Query'.",
        "locations": [{"line": 1, "column": 3}],
        "extensions": BAD_USER_INPUT,
    }


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        (
            "{ events(limt: 3) { eventId } }",
            {},
            "Unknown argument 'limt' on field 'Query.events'.",
        ),
        (
            "{ viewer { rol } }",
            {},
            "Cannot query field 'rol' on type 'Viewer'.",
        ),
        (
            "{ aiCost(by: MODLE) { totalCostEur } }",
            {},
            "Value 'MODLE' does not exist in 'AiCostBreakdown' enum.",
        ),
        (
            "query ($by: AiCostBreakdown!) { aiCost(by: $by) { totalCostEur } }",
            {"by": "MODLE"},
            "Variable '$by' has invalid value: Value 'MODLE' does not exist in "
            "'AiCostBreakdown' enum.",
        ),
        (
            "query { viewer { ...f } } fragment f on Viewr { role }",
            {},
            "Unknown type 'Viewr'.",
        ),
    ],
    ids=["argument", "field", "enum-literal", "enum-variable", "type"],
)
def test_production_suggests_no_schema_names(
    production: Api, query: str, variables: dict[str, Any], message: str
) -> None:
    token = production.tenant().admin_token
    body = production.gql(query, variables, token=token)
    assert [(e["message"], e["extensions"]) for e in body["errors"]] == [(message, BAD_USER_INPUT)]


def test_outside_production_argument_names_are_suggested(api: Api) -> None:
    error = api.error("{ events(limt: 3) { eventId } }", token=None)
    assert error["message"] == (
        "Unknown argument 'limt' on field 'Query.events'. Did you mean 'limit'?"
    )


def test_outside_production_field_names_are_suggested(api: Api) -> None:
    error = api.error("{ evnts { eventId } }", token=None)
    assert error["message"] == (
        "Cannot query field 'evnts' on type 'Query'. Did you mean 'events'?"
    )


def test_production_serves_no_graphiql(production: Api) -> None:
    response = production.client.get("/graphql", headers={"accept": "text/html"})
    assert "graphiql" not in response.text.lower()


def test_production_keeps_the_limits(production: Api) -> None:
    token = production.tenant().admin_token
    error = _one_error(production, aliased_viewers(MAX_ALIASES + 1), token)
    assert error["extensions"] == BAD_USER_INPUT


# --- cost -----------------------------------------------------------------------------------

FIGURES = "key costEur calls latency { p50Ms p99Ms } editRatioDistribution { lower count }"
# The request that stalled the server: all within the depth, alias and token limits.
WORST_ALIAS = (
    "aN: aiCost(from: $from, to: $to, by: FEATURE) { totalCostEur "
    "rows(limit: 1000) { " + FIGURES + " } "
    "series(granularity: HOUR, by: FEATURE, top: 50) { start costEur "
    "latency { p50Ms } rows { " + FIGURES + " } } }"
)
TEN_WEEKS = {"from": "2026-09-01T00:00:00.000Z", "to": "2026-11-10T00:00:00.000Z"}


def worst_request(aliases: int) -> str:
    fields = " ".join(WORST_ALIAS.replace("aN:", f"a{i}:") for i in range(aliases))
    return f"query ($from: DateTime, $to: DateTime) {{ {fields} }}"


def test_the_worst_request_is_query_too_costly_before_anything_runs(
    api: Api, tenant: Tenant
) -> None:
    # 70 days by hour: 1,680 points, each with its 51 rows of 12 objects (the row, its latency,
    # its 10 edit-ratio buckets) and 2 of its own; 1,000 rows of 12; the report.
    per_alias = 1 + 1000 * 12 + 1680 * (2 + 51 * 12)
    body = api.gql(worst_request(MAX_ALIASES), TEN_WEEKS, token=tenant.admin_token)
    assert body == {
        "data": None,
        "errors": [
            {
                "message": f"This request would cost {20 * per_alias} (result objects) and the "
                f"budget of one request is {QUERY_BUDGET}: ask for a shorter range, a coarser "
                "granularity, fewer split keys or rows, or fewer aliases.",
                "extensions": {
                    "code": "QUERY_TOO_COSTLY",
                    "status": 400,
                    "cost": 20 * per_alias,
                    "budget": QUERY_BUDGET,
                },
            }
        ],
    }


def test_one_alias_of_the_worst_request_is_too_costly_too(api: Api, tenant: Tenant) -> None:
    error = api.error(worst_request(1), TEN_WEEKS, token=tenant.admin_token)
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > QUERY_BUDGET


def test_the_cost_counts_fragments_and_variables(api: Api, tenant: Tenant) -> None:
    query = """
    query ($from: DateTime, $to: DateTime, $g: Granularity!, $top: Int!) {
      aiCost(from: $from, to: $to) { ...points }
    }
    fragment points on AiCostReport {
      series(granularity: $g, by: CUSTOMER, top: $top) {
        rows { ... on AiCostRow { key latency { p50Ms } } }
      }
    }
    """
    variables = {**TEN_WEEKS, "g": "HOUR", "top": 50}
    error = api.error(query, variables, token=tenant.admin_token)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "status": 400,
        "cost": 1 + 1680 * (1 + 51 * 2),
        "budget": QUERY_BUDGET,
    }


def test_fifteen_dashboard_pages_at_once_are_within_the_budget(api: Api, tenant: Tenant) -> None:
    # 30 days by day split ten ways and 100 rows, with every figure: 5,191 each.
    page = (
        "pN: aiCost(from: $from, to: $to) { totalCostEur rows { " + FIGURES + " } "
        "series(by: MODEL) { start rows { " + FIGURES + " } } }"
    )
    fields = " ".join(page.replace("pN:", f"p{i}:") for i in range(15))
    query = f"query ($from: DateTime, $to: DateTime) {{ {fields} }}"
    variables = {"from": "2026-10-01T00:00:00.000Z", "to": "2026-10-31T00:00:00.000Z"}
    data = api.data(query, variables, token=tenant.admin_token)
    assert len(data) == 15
    assert all(len(report["series"]) == 30 for report in data.values())
