"""Automatic persisted queries with Apollo's protocol (CONTRACT §7): what Apollo Client's
persisted-query link sends, by POST and by GET, answered as Apollo Server answers it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from strawberry.http import GraphQLRequestData

from app.graphql.over_http import GRAPHQL_RESPONSE_JSON
from app.graphql.persisted_queries import PersistedQueries
from app.server import create_app
from app.settings import Environment, Settings
from app.store.interface import AnalyticsStore
from tests.graphql.conftest import Api, Tenant

QUERY = "query Apps { apps { uuid name } }"
NOT_FOUND = {
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND", "status": 200},
}


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


def persisted(query: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(query)}}


def post(api: Api, body: object, token: str | None = None, **headers: str) -> Any:
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    return api.client.post("/graphql", json=body, headers=headers)


def get(api: Api, params: dict[str, str], token: str, **headers: str) -> Any:
    """A GET as Apollo's link sends one with `useGETForHashedQueries` (its Accept header)."""
    headers = {
        "accept": "application/graphql-response+json,application/json;q=0.9",
        "authorization": f"Bearer {token}",
        **headers,
    }
    return api.client.get("/graphql", params=params, headers=headers)


def test_an_unknown_hash_is_persisted_query_not_found_with_status_200(
    api: Api, tenant: Tenant
) -> None:
    response = post(api, {"extensions": persisted(QUERY)}, tenant.admin_token)
    assert response.status_code == 200
    assert response.json() == {"data": None, "errors": [NOT_FOUND]}


def test_not_found_is_200_without_data_in_graphql_response_json_too(
    api: Api, tenant: Tenant
) -> None:
    # 200 whatever the media type: Apollo's link takes a 400 as "not supported" for good.
    response = post(
        api, {"extensions": persisted(QUERY)}, tenant.admin_token, accept=GRAPHQL_RESPONSE_JSON
    )
    assert response.status_code == 200
    assert response.json() == {"errors": [NOT_FOUND]}


def test_a_query_sent_with_its_hash_runs_and_then_its_hash_alone_runs_it(
    api: Api, tenant: Tenant
) -> None:
    expected = {"data": {"apps": [{"uuid": str(tenant.app_uuid), "name": "Acme web"}]}}
    hash_only = {"operationName": "Apps", "variables": {}, "extensions": persisted(QUERY)}
    assert post(api, hash_only, tenant.admin_token).json()["errors"] == [NOT_FOUND]

    registered = post(api, {**hash_only, "query": QUERY}, tenant.admin_token)
    assert (registered.status_code, registered.json()) == (200, expected)

    again = post(api, hash_only, tenant.admin_token)
    assert (again.status_code, again.json()) == (200, expected)


def test_a_get_with_the_hash_in_extensions_runs_a_known_query(api: Api, tenant: Tenant) -> None:
    params = {
        "operationName": "Apps",
        "variables": "{}",
        "extensions": json.dumps(persisted(QUERY)),
    }
    unknown = get(api, params, tenant.admin_token)
    assert (unknown.status_code, unknown.json()) == (200, {"errors": [NOT_FOUND]})
    post(api, {"query": QUERY, "extensions": persisted(QUERY)}, tenant.admin_token)
    known = get(api, params, tenant.admin_token)
    assert known.status_code == 200
    assert known.json() == {"data": {"apps": [{"uuid": str(tenant.app_uuid), "name": "Acme web"}]}}
    assert get(api, params, tenant.admin_token, accept="*/*").json() == known.json()


def test_a_get_with_a_hash_is_not_taken_for_graphiql_in_development(
    settings: Settings, store: AnalyticsStore
) -> None:
    # A browser's `Accept: */*` on a GET without `query` asks for GraphiQL, unless it has
    # a persisted query's hash.
    development = settings.model_copy(update={"env": Environment.development})
    with TestClient(create_app(development)) as client:
        params = {"extensions": json.dumps(persisted(QUERY))}
        response = client.get("/graphql", params=params, headers={"accept": "*/*"})
        assert response.status_code == 200
        assert response.json() == {"data": None, "errors": [NOT_FOUND]}
        assert "graphiql" in client.get("/graphql", headers={"accept": "*/*"}).text.lower()


def test_a_persisted_mutation_is_not_run_by_get(api: Api, tenant: Tenant) -> None:
    mutation = 'mutation { createApp(name: "second") { name } }'
    registered = post(
        api, {"query": mutation, "extensions": persisted(mutation)}, tenant.admin_token
    )
    assert registered.json() == {"data": {"createApp": {"name": "second"}}}
    response = get(api, {"extensions": json.dumps(persisted(mutation))}, tenant.admin_token)
    assert response.status_code == 405
    assert len(api.data("{ apps { uuid } }", token=tenant.admin_token)["apps"]) == 2


def test_a_hash_that_is_not_the_querys_is_bad_user_input_400(api: Api, tenant: Tenant) -> None:
    body = {"query": QUERY, "extensions": persisted("{ apps { name } }")}
    response = post(api, body, tenant.admin_token)
    assert response.status_code == 400
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "`extensions.persistedQuery.sha256Hash` is not the SHA-256 of the "
                "query: hash the query's exact UTF-8 text.",
                "extensions": {"code": "BAD_USER_INPUT", "status": 400},
            }
        ],
    }
    # Not remembered under the wrong hash.
    wrong = {"extensions": persisted("{ apps { name } }")}
    assert post(api, wrong, tenant.admin_token).json()["errors"] == [NOT_FOUND]


BAD_HASH = (
    "`extensions.persistedQuery.sha256Hash` must be the SHA-256 of the query in 64 hexadecimal "
    "digits."
)


MALFORMED: list[tuple[object, str]] = [
    (
        {"version": 2, "sha256Hash": sha256(QUERY)},
        "Unsupported persisted query version: send `version: 1`.",
    ),
    ({"version": 1, "sha256Hash": "abc"}, BAD_HASH),
    ("hash", "`extensions.persistedQuery` must be an object: {version: 1, sha256Hash}."),
]


def test_a_malformed_persisted_query_is_bad_user_input_400(api: Api, tenant: Tenant) -> None:
    for persisted_query, message in MALFORMED:
        body = {"extensions": {"persistedQuery": persisted_query}}
        response = post(api, body, tenant.admin_token, accept=GRAPHQL_RESPONSE_JSON)
        assert response.status_code == 400
        assert response.json() == {
            "errors": [
                {"message": message, "extensions": {"code": "BAD_USER_INPUT", "status": 400}}
            ]
        }


def test_a_query_that_does_not_validate_is_not_remembered(api: Api, tenant: Tenant) -> None:
    invalid = "{ apps { nope } }"
    first = post(api, {"query": invalid, "extensions": persisted(invalid)}, tenant.admin_token)
    assert first.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    again = post(api, {"extensions": persisted(invalid)}, tenant.admin_token)
    assert again.json()["errors"] == [NOT_FOUND]


def test_the_hash_may_be_upper_case(api: Api, tenant: Tenant) -> None:
    upper = {"persistedQuery": {"version": 1, "sha256Hash": sha256(QUERY).upper()}}
    post(api, {"query": QUERY, "extensions": upper}, tenant.admin_token)
    assert "errors" not in post(api, {"extensions": persisted(QUERY)}, tenant.admin_token).json()


@pytest.fixture
def without_persisted_queries(settings: Settings, store: AnalyticsStore) -> Iterator[Api]:
    off = settings.model_copy(update={"persisted_queries_max_entries": 0})
    with TestClient(create_app(off)) as client:
        yield Api(client, client.app.state.runtime)  # type: ignore[attr-defined]


def test_with_persisted_queries_off_a_hash_is_not_supported(
    without_persisted_queries: Api,
) -> None:
    api = without_persisted_queries
    token = api.tenant().admin_token
    for body in (
        {"extensions": persisted(QUERY)},
        {"query": QUERY, "extensions": persisted(QUERY)},
    ):
        response = post(api, body, token)
        assert response.status_code == 200
        assert response.json() == {
            "data": None,
            "errors": [
                {
                    "message": "PersistedQueryNotSupported",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED", "status": 200},
                }
            ],
        }


# --- the store's bounds -----------------------------------------------------------------------


def request(query: str | None, sha256_hash: str) -> GraphQLRequestData:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256_hash}}
    return GraphQLRequestData(
        query=query, variables=None, operation_name=None, extensions=extensions
    )


def test_the_least_recently_used_query_goes_first_beyond_the_entries() -> None:
    queries = PersistedQueries(2)
    for text in ("{ a }", "{ b }"):
        queries.remember(sha256(text), text)
    assert queries.lookup(request(None, sha256("{ a }"))).request.query == "{ a }"  # a: used
    queries.remember(sha256("{ c }"), "{ c }")
    assert (sha256("{ a }") in queries, sha256("{ b }") in queries, len(queries)) == (
        True,
        False,
        2,
    )


def test_the_queries_together_stay_within_their_characters() -> None:
    queries = PersistedQueries(1000, max_chars=10)
    queries.remember(sha256("{ aaaa }"), "{ aaaa }")  # 8 characters
    queries.remember(sha256("{ b }"), "{ b }")  # 13 together: the older goes
    assert (sha256("{ aaaa }") in queries, sha256("{ b }") in queries) == (False, True)
    queries.remember(sha256("{ " + "x" * 20 + " }"), "{ " + "x" * 20 + " }")  # alone too long
    assert len(queries) == 1


def test_a_request_without_a_persisted_query_is_left_as_it_is() -> None:
    plain = GraphQLRequestData(query=QUERY, variables=None, operation_name=None, extensions={})
    lookup = PersistedQueries(10).lookup(plain)
    assert (lookup.request, lookup.register) == (plain, None)
