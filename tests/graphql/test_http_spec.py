"""`/graphql` follows the GraphQL-over-HTTP specification (CONTRACT §7): the reference audit of
graphql-http against a real server, and each rule through HTTP with its exact status, media type
and body."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from app.graphql.app import MAX_BODY_BYTES
from app.graphql.over_http import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate
from app.server import create_app
from app.settings import Settings
from app.store.interface import AnalyticsStore
from tests.graphql.conftest import Api, Tenant
from tests.npm import node_with

AUDIT = Path(__file__).parent / "http_audit"
GRAPHQL_RESPONSE = "application/graphql-response+json; charset=utf-8"
ACCEPT_GRAPHQL_RESPONSE = {"accept": GRAPHQL_RESPONSE_JSON}
BAD_USER_INPUT = {"code": "BAD_USER_INPUT", "status": 400}


@pytest.fixture
def served(settings: Settings, store: AnalyticsStore) -> Iterator[str]:
    """The app under uvicorn in a thread, on the test's databases: the /graphql URL."""
    app = create_app(settings)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_the_graphql_over_http_audit_passes_every_item(served: str) -> None:
    node = node_with(AUDIT, "graphql-http")
    audit = subprocess.run(
        [node, "audit.mjs", served], cwd=AUDIT, capture_output=True, text=True, timeout=60
    )
    assert audit.returncode == 0, audit.stderr
    results: list[dict[str, Any]] = json.loads(audit.stdout)
    not_ok = [result for result in results if result["status"] != "ok"]
    assert not_ok == []
    # graphql-http 1.23.1 audits 61 items (MUST, SHOULD and MAY); all of them ran.
    assert len(results) == 61


# --- media types ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, APPLICATION_JSON),
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        ("application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        # What Apollo Client and graphql-http's client send.
        ("application/graphql-response+json, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        ("application/json;q=0.9, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0.5, application/json", APPLICATION_JSON),
        ("application/json, application/graphql-response+json", GRAPHQL_RESPONSE_JSON),
        ("application/graphql-response+json;q=0, */*", APPLICATION_JSON),
        ("application/*", APPLICATION_JSON),
        ("APPLICATION/GRAPHQL-RESPONSE+JSON", GRAPHQL_RESPONSE_JSON),
        ("text/html", APPLICATION_JSON),
    ],
)
def test_the_response_media_type_is_the_one_accept_prefers(
    accept: str | None, media_type: str
) -> None:
    assert negotiate(accept) == media_type


def test_graphql_response_json_is_answered_when_accepted(api: Api) -> None:
    response = api.client.post(
        "/graphql", json={"query": "{ __typename }"}, headers=ACCEPT_GRAPHQL_RESPONSE
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.headers["vary"] == "Accept"
    assert response.json() == {"data": {"__typename": "Query"}}


def test_application_json_is_answered_without_accept(api: Api) -> None:
    response = api.client.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"data": {"__typename": "Query"}}


# --- request errors: 400 without `data` for graphql-response+json, 200 for application/json ---

REQUEST_ERRORS = {
    "parse": ({"query": "{ viewer { role "}, "Syntax Error: Expected Name, found <EOF>."),
    "validation": (
        {"query": "{ viewer { nope } }"},
        "Cannot query field 'nope' on type 'Viewer'. Did you mean 'role'?",
    ),
    "variable": (
        {"query": "query ($uuid: UUID!) { app(uuid: $uuid) { name } }", "variables": {}},
        "Variable '$uuid' has invalid value: Expected a value of non-null type 'UUID!' to be "
        "provided.",
    ),
    "operation": (
        {"query": "query A { __typename }", "operationName": "B"},
        'Unknown operation named "B".',
    ),
}


def test_a_request_error_is_400_without_data_in_graphql_response_json(
    api: Api, tenant: Tenant
) -> None:
    headers = {**ACCEPT_GRAPHQL_RESPONSE, "authorization": f"Bearer {tenant.admin_token}"}
    for kind, (body, message) in REQUEST_ERRORS.items():
        response = api.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 400, kind
        assert response.headers["content-type"] == GRAPHQL_RESPONSE
        answer = response.json()
        assert answer.keys() == {"errors"}  # no `data` entry: nothing executed
        assert [(e["message"], e["extensions"]) for e in answer["errors"]] == [
            (message, BAD_USER_INPUT)
        ]


def test_a_request_error_stays_200_with_null_data_in_application_json(
    api: Api, tenant: Tenant
) -> None:
    headers = {"accept": "application/json", "authorization": f"Bearer {tenant.admin_token}"}
    for kind, (body, message) in REQUEST_ERRORS.items():
        response = api.client.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, kind
        assert response.headers["content-type"] == "application/json"
        answer = response.json()
        assert answer["data"] is None
        assert [(e["message"], e["extensions"]) for e in answer["errors"]] == [
            (message, BAD_USER_INPUT)
        ]


def test_a_request_refused_as_too_costly_is_a_request_error(api: Api, tenant: Tenant) -> None:
    query = (
        "query ($from: DateTime, $to: DateTime) { aiCost(from: $from, to: $to) { "
        "series(granularity: HOUR, by: CUSTOMER, top: 50) { rows { key latency { p50Ms } } } } }"
    )
    variables = {"from": "2026-09-01T00:00:00Z", "to": "2026-11-10T00:00:00Z"}
    headers = {**ACCEPT_GRAPHQL_RESPONSE, "authorization": f"Bearer {tenant.admin_token}"}
    response = api.client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    )
    assert response.status_code == 400
    answer = response.json()
    assert "data" not in answer
    assert answer["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_a_field_error_is_200_with_data_in_graphql_response_json(api: Api) -> None:
    # Execution began: the refusal is a field's (it has a path), and `data` is there.
    response = api.client.post(
        "/graphql",
        json={"query": "{ __typename viewer { role } }"},
        headers=ACCEPT_GRAPHQL_RESPONSE,
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["data"] is None  # viewer is non-null: the error reaches the root
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [
        (["viewer"], "UNAUTHENTICATED")
    ]


# --- requests that are not GraphQL requests ---------------------------------------------------


NOT_AN_OPERATION = (
    "A GraphQL request is a JSON object with `query` and, optionally, `operationName`, "
    "`variables` and `extensions`."
)
TYPENAME = "{ __typename }"


INVALID_PARAMETERS: list[tuple[object, str]] = [
    ({"query": {"obj": "ect"}}, "`query` must be a string (the GraphQL document) or null."),
    ({"query": TYPENAME, "operationName": 0}, "`operationName` must be a string or null."),
    ({"query": TYPENAME, "variables": "{}"}, "`variables` must be a JSON object or null."),
    ({"query": TYPENAME, "extensions": []}, "`extensions` must be a JSON object or null."),
    ({"notquery": TYPENAME}, "The request has no `query`: send the GraphQL document to execute."),
    (TYPENAME, NOT_AN_OPERATION),
]


@pytest.mark.parametrize("accept", [APPLICATION_JSON, GRAPHQL_RESPONSE_JSON])
def test_invalid_parameters_are_400_in_either_media_type(api: Api, accept: str) -> None:
    for body, message in INVALID_PARAMETERS:
        response = api.client.post("/graphql", json=body, headers={"accept": accept})
        assert response.status_code == 400, body
        expected: dict[str, Any] = {"errors": [{"message": message, "extensions": BAD_USER_INPUT}]}
        if accept == APPLICATION_JSON:
            expected = {"data": None, **expected}
        assert response.json() == expected


def test_a_mutation_sent_with_get_is_405(api: Api, tenant: Tenant) -> None:
    response = api.client.get(
        "/graphql",
        params={"query": 'mutation { createApp(name: "web") { uuid } }'},
        headers={**ACCEPT_GRAPHQL_RESPONSE, "authorization": f"Bearer {tenant.admin_token}"},
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {
        "errors": [
            {
                "message": "Mutations are not allowed with GET: send them with POST.",
                "extensions": BAD_USER_INPUT,
            }
        ]
    }
    apps = api.data("{ apps { uuid } }", token=tenant.admin_token)["apps"]
    assert apps == [{"uuid": str(tenant.app_uuid)}]  # the tenant's own: nothing was created


def test_a_query_sent_with_get_is_answered(api: Api, tenant: Tenant) -> None:
    response = api.client.get(
        "/graphql",
        params={
            "query": "query ($n: String!) { __type(name: $n) { name } }",
            "variables": '{"n": "App"}',
        },
        headers=ACCEPT_GRAPHQL_RESPONSE,
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"__type": {"name": "App"}}}


def test_a_get_without_query_outside_development_says_what_is_missing(api: Api) -> None:
    response = api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "The request has no `query`: send the GraphQL document to execute.",
                "extensions": BAD_USER_INPUT,
            }
        ],
    }


def test_a_post_that_is_not_json_is_415(api: Api) -> None:
    response = api.client.post(
        "/graphql", content=b"query=%7B__typename%7D", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "Send GraphQL requests as JSON, with 'Content-Type: application/json'.",
                "extensions": BAD_USER_INPUT,
            }
        ],
    }


def test_json_that_does_not_parse_is_400_without_data_in_graphql_response_json(
    api: Api,
) -> None:
    response = api.client.post(
        "/graphql",
        content=b'{ "not a JSON',
        headers={"content-type": "application/json", **ACCEPT_GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json() == {
        "errors": [{"message": "The request's JSON is not valid.", "extensions": BAD_USER_INPUT}]
    }


def test_a_body_over_the_limit_is_413_in_the_accepted_media_type(api: Api) -> None:
    padding = "x" * MAX_BODY_BYTES
    answer = api.client.post(
        "/graphql",
        json={"query": "{ __typename }", "variables": {"padding": padding}},
        headers=ACCEPT_GRAPHQL_RESPONSE,
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in answer.json()
