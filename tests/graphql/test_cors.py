"""CORS on /graphql: a SPA served from a configured origin may call the API with credentials;
no other origin may, and without configuration only the same origin can."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.server import create_app
from app.settings import Settings

SPA = "http://localhost:5173"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, x-csrf-token",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    configured = settings.model_copy(update={"cors_origins": f"{SPA}, https://app.example.com"})
    with TestClient(create_app(configured)) as client:
        yield client


def test_a_preflight_from_a_configured_origin_allows_credentials_and_the_csrf_header(
    client: TestClient,
) -> None:
    response = client.options("/graphql", headers={"origin": SPA, **PREFLIGHT})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-csrf-token" in response.headers["access-control-allow-headers"]


def test_a_request_from_a_configured_origin_may_read_the_answer(client: TestClient) -> None:
    response = client.post("/graphql", json={"query": "{ __typename }"}, headers={"origin": SPA})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == SPA
    assert response.headers["access-control-allow-credentials"] == "true"


def test_another_origin_is_refused(client: TestClient) -> None:
    preflight = client.options("/graphql", headers={"origin": "https://evil.example", **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    response = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_without_configured_origins_there_is_no_cors(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        preflight = client.options("/graphql", headers={"origin": SPA, **PREFLIGHT})
        response = client.post(
            "/graphql", json={"query": "{ __typename }"}, headers={"origin": SPA}
        )
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in response.headers


def test_ingest_answers_no_cors_even_with_configured_origins(client: TestClient) -> None:
    response = client.options("/v1/ingest", headers={"origin": SPA, **PREFLIGHT})
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers
