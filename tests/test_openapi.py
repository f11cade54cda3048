"""The OpenAPI document of POST /v1/ingest: valid, served, true to the server.

"True to the server" is checked by fuzzing the live server with schemathesis from the
document: every answer must be documented (status, content type, body schema, Retry-After)
and none may be a 5xx. Three levels, so that each check of the endpoint gets fuzzed input:
unknown apps (the app lookup), a real app with generated signatures (the verifier), and a
real app with correct signatures (JSON parsing and validation).
"""

from __future__ import annotations

import copy
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from app.ingest.signature import sign_headers
from app.openapi import EXAMPLES, OPENAPI, openapi_json
from app.settings import Settings
from tests.test_client import LiveServer, serving

# from_dict rewrites keys in place: give it its own copy.
SCHEMA = schemathesis.openapi.from_dict(copy.deepcopy(OPENAPI))
OPERATION = SCHEMA["/v1/ingest"]["POST"]
CASES = st.one_of(
    OPERATION.as_strategy(GenerationMode.POSITIVE),
    OPERATION.as_strategy(GenerationMode.NEGATIVE),
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_TEST = 100


def raw_body(case: Any) -> bytes:
    """The bytes schemathesis would send for the generated body (JSON), built once here so
    that exactly these bytes are both signed and sent."""
    if isinstance(case.body, NotSet):
        return b""
    if isinstance(case.body, bytes):  # negative mode may send bytes that are not JSON
        return case.body
    return json.dumps(case.body, ensure_ascii=False).encode("utf-8", "surrogatepass")


@contextmanager
def before_call_hook(hook: Callable[[Any, Any, dict[str, Any]], None]) -> Iterator[None]:
    """Register a schemathesis `before_call` hook (a global hook) for one test only."""
    hook.__name__ = "before_call"
    schemathesis.hook(hook)
    try:
        yield
    finally:
        schemathesis.hooks.unregister(hook)


def fuzz(live: LiveServer) -> Counter[int]:
    """Send EXAMPLES_PER_TEST generated requests; check each answer; count the statuses."""
    statuses: Counter[int] = Counter()

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_TEST,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=CASES)
    def run(case: Any) -> None:
        response = case.call(base_url=live.base_url, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()
    return statuses


@pytest.fixture
def live(settings: Settings) -> Iterator[LiveServer]:
    with serving(settings) as server:
        yield server


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(OPENAPI)
    assert OPENAPI["openapi"] == "3.1.0"


def test_the_endpoint_serves_the_document_as_json() -> None:
    app = Starlette(routes=[Route("/openapi.json", openapi_json)])
    with TestClient(app) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == OPENAPI


def test_every_response_of_the_contract_is_documented() -> None:
    responses = OPENAPI["paths"]["/v1/ingest"]["post"]["responses"]
    assert sorted(responses) == ["202", "400", "401", "404", "413", "415", "503"]
    assert responses["503"]["headers"]["Retry-After"]["required"] is True


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_documented_example_matches_the_request_schema(name: str) -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/IngestRequest", "components": OPENAPI["components"]}
    )
    assert list(validator.iter_errors(EXAMPLES[name]["value"])) == []


def test_an_ai_call_without_its_model_does_not_match_the_request_schema() -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/IngestRequest", "components": OPENAPI["components"]}
    )
    event = copy.deepcopy(EXAMPLES["aiCallCompleted"]["value"])
    del event["properties"]["model"]
    assert not validator.is_valid(event)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_documented_example_is_accepted_by_the_server(name: str, live: LiveServer) -> None:
    with live.client() as tracker:
        value = EXAMPLES[name]["value"]
        ids = tracker.track_batch(value["batch"]) if "batch" in value else tracker.track(value)
    assert len(ids) == len(value.get("batch", [value]))


def test_fuzzed_requests_for_unknown_apps_answer_only_documented_4xx(live: LiveServer) -> None:
    statuses = fuzz(live)
    assert set(statuses) <= {404, 413}


def test_fuzzed_signatures_for_a_real_app_answer_only_documented_4xx(live: LiveServer) -> None:
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        case.headers = {**(case.headers or {}), "x-app-uuid": live.app_uuid}

    with before_call_hook(before_call):
        statuses = fuzz(live)
    assert set(statuses) <= {401, 413}
    assert statuses[401] > 0


def test_fuzzed_correctly_signed_bodies_reach_validation_and_never_fail(live: LiveServer) -> None:
    def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
        body = raw_body(case)
        kwargs["data"] = body  # replaces schemathesis' own serialisation: these exact bytes
        signed = sign_headers(live.api_secret, body, int(time.time()), app_uuid=live.app_uuid)
        case.headers = {**(case.headers or {}), **signed}

    with before_call_hook(before_call):
        statuses = fuzz(live)
    assert set(statuses) <= {202, 400, 413}
    assert statuses[202] > 0
    assert statuses[400] > 0
