"""Batched requests (CONTRACT §7): a JSON array of operations answers the array of their
results in order; the batch is bounded, shares one cost budget and one analytics slot."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from starlette.routing import Route

from app.accounts.service import authenticate
from app.db import session_scope
from app.graphql.app import GraphQLApp, _ExecutionLoop
from app.graphql.cost import QUERY_BUDGET
from app.graphql.over_http import GRAPHQL_RESPONSE_JSON, MAX_BATCH_OPERATIONS
from app.graphql.throttle import PrincipalGate
from tests.graphql.conftest import Api, Tenant

BAD_USER_INPUT = {"code": "BAD_USER_INPUT", "status": 400}
TEN_WEEKS = {"from": "2026-09-01T00:00:00Z", "to": "2026-11-10T00:00:00Z"}
# 70 days by hour split by customer: 1 + 1,680 points * (1 + (top + 1) rows * 2 objects).
SERIES = """
query ($from: DateTime, $to: DateTime, $top: Int!) {
  aiCost(from: $from, to: $to) {
    series(granularity: HOUR, by: CUSTOMER, top: $top) { rows { key latency { p50Ms } } }
  }
}
"""


def series_cost(top: int) -> int:
    return 1 + 1680 * (1 + (top + 1) * 2)


def batch(api: Api, operations: list[Any], token: str | None = None, **headers: str) -> Any:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return api.client.post("/graphql", json=operations, headers=headers)


def test_a_batch_answers_each_operations_result_in_order(api: Api, tenant: Tenant) -> None:
    operations = [
        {"query": "{ apps { name } }"},
        {"query": "query Role { viewer { role } }", "operationName": "Role"},
        {"query": "query ($n: String!) { __type(name: $n) { name } }", "variables": {"n": "App"}},
    ]
    response = batch(api, operations, tenant.admin_token)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == [
        {"data": {"apps": [{"name": "Acme web"}]}},
        {"data": {"viewer": {"role": "ADMIN"}}},
        {"data": {"__type": {"name": "App"}}},
    ]


def test_each_operation_of_a_batch_carries_its_own_errors(api: Api, tenant: Tenant) -> None:
    operations = [
        {"query": "{ apps { name } }"},
        {"query": "{ apps { nope } }"},
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},
        {"query": "{ apps { name } }", "extensions": {"persistedQuery": {"version": 3}}},
    ]
    response = batch(api, operations, tenant.admin_token, accept=GRAPHQL_RESPONSE_JSON)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    first, invalid, unknown, malformed = response.json()
    assert first == {"data": {"apps": [{"name": "Acme web"}]}}
    # Request errors of an operation: no `data` entry, as for a request of its own.
    assert invalid.keys() == {"errors"}
    assert invalid["errors"][0]["message"].startswith("Cannot query field 'nope' on type 'App'.")
    assert unknown == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND", "status": 200},
            }
        ]
    }
    assert malformed == {
        "errors": [
            {
                "message": "Unsupported persisted query version: send `version: 1`.",
                "extensions": BAD_USER_INPUT,
            }
        ]
    }


def test_a_batch_registers_and_runs_persisted_queries(api: Api, tenant: Tenant) -> None:
    query = "{ apps { name } }"
    persisted = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}
    }
    batch(api, [{"query": query, "extensions": persisted}], tenant.admin_token)
    response = batch(
        api, [{"extensions": persisted}, {"extensions": persisted}], tenant.admin_token
    )
    assert response.json() == [{"data": {"apps": [{"name": "Acme web"}]}}] * 2  # fmt: skip


def test_a_batch_of_more_than_the_maximum_is_refused_whole(api: Api, tenant: Tenant) -> None:
    operations = [{"query": "{ apps { name } }"}] * (MAX_BATCH_OPERATIONS + 1)
    response = batch(api, operations, tenant.admin_token)
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "A batch holds at most 10 operations; this one has 11: send the "
                "others in another request.",
                "extensions": {**BAD_USER_INPUT, "maxOperations": 10},
            }
        ],
    }
    assert len(batch(api, operations[:-1], tenant.admin_token).json()) == MAX_BATCH_OPERATIONS


MALFORMED_BATCHES: list[tuple[list[Any], str]] = [
    ([], "A batch holds at least one operation."),
    (
        [{"query": "{ apps { name } }"}, "{ apps { name } }"],
        "Operation 1 of the batch: A GraphQL request is a JSON object with `query` and, "
        "optionally, `operationName`, `variables` and `extensions`.",
    ),
    (
        [{"query": "{ apps { name } }", "variables": []}],
        "Operation 0 of the batch: `variables` must be a JSON object or null.",
    ),
]


def test_a_malformed_batch_is_refused_whole(api: Api, tenant: Tenant) -> None:
    for operations, message in MALFORMED_BATCHES:
        response = batch(api, operations, tenant.admin_token, accept=GRAPHQL_RESPONSE_JSON)
        assert response.status_code == 400
        assert response.json() == {"errors": [{"message": message, "extensions": BAD_USER_INPUT}]}


# --- one budget, one slot ---------------------------------------------------------------------


def test_the_operations_of_a_batch_share_one_cost_budget(api: Api, tenant: Tenant) -> None:
    top = 15
    cost = series_cost(top)
    assert cost <= QUERY_BUDGET < 2 * cost  # each fits alone, not both
    operation = {"query": SERIES, "variables": {**TEN_WEEKS, "top": top}}
    first, second = batch(api, [operation, operation], tenant.admin_token).json()
    assert "errors" not in first
    assert len(first["data"]["aiCost"]["series"]) == 1680
    assert second == {
        "data": None,
        "errors": [
            {
                "message": f"This operation would cost {cost} (result objects) and the "
                f"operations of the batch before it {cost}: together they exceed the budget of "
                f"one request, {QUERY_BUDGET}. Send it in a request of its own, or ask for less.",
                "extensions": {
                    "code": "QUERY_TOO_COSTLY",
                    "status": 400,
                    "cost": cost,
                    "budget": QUERY_BUDGET,
                    "batchCost": 2 * cost,
                },
            }
        ],
    }
    # The same operation alone, in a request of its own, fits.
    assert "errors" not in api.gql(SERIES, {**TEN_WEEKS, "top": top}, token=tenant.admin_token)


def graphql_app(api: Api) -> GraphQLApp:
    routes = api.client.app.routes  # type: ignore[attr-defined]
    # The HTTP route (/graphql also has a WebSocketRoute, for subscriptions).
    [route] = [r for r in routes if isinstance(r, Route) and r.path == "/graphql"]
    assert isinstance(route.app, GraphQLApp)
    return route.app


def on_execution_loop(coroutine: Any) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, _ExecutionLoop.get()).result(10)


def test_a_batch_takes_one_analytics_slot_of_its_token(api: Api, tenant: Tenant) -> None:
    report = {"query": "{ aiCost { calls } }"}
    api.data("{ __typename }", token=None)  # the app makes its gate on its first request
    gate = graphql_app(api)._gate
    assert isinstance(gate, PrincipalGate)
    gate.per_principal, gate.wait_s = 1, 0.2

    # One slot is enough for every operation of the batch: they are one request.
    answered = batch(api, [report, report, report], tenant.admin_token).json()
    assert answered == [{"data": {"aiCost": {"calls": 0}}}] * 3
    with session_scope(api.runtime.engine) as session:
        token_id = authenticate(session, tenant.admin_token).token_id
    assert gate.in_flight(token_id) == 0

    # With the token's slot taken by another request, the batch waits like any request.
    on_execution_loop(gate.acquire(token_id))
    try:
        refused = batch(api, [report, report], tenant.admin_token).json()
    finally:

        async def release() -> None:
            gate.release(token_id)

        on_execution_loop(release())
    assert [r["errors"][0]["extensions"]["code"] for r in refused] == ["TOO_MANY_REQUESTS"] * 2
    assert gate.in_flight(token_id) == 0
