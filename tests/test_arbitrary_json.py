"""Arbitrary JSON against the running server: as signed ingest bodies and as GraphQL variables,
whatever it holds (integers past 64 bits, numbers past a float's range, nesting a thousand
levels deep, dates of year 1 or 9999, lone surrogates, format characters, private keys), the
answer is never a 5xx and nothing is logged as an ERROR (a server fault is logged at ERROR)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.settings import Settings
from tests.harness import Harness, running

EXAMPLES = 100


class RawJson(str):
    """JSON text put into a document as it is (nesting deeper than json.dumps can write)."""


def to_json(value: Any) -> str:
    """`value` as JSON text: Decimals as written (1E+400 stays 1E+400), strings with \\u escapes
    (a lone surrogate becomes one), `RawJson` as it is."""
    if isinstance(value, RawJson):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{to_json(k)}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(to_json(item) for item in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def nested(depth: int) -> RawJson:
    return RawJson('{"a":' * depth + "[]" + "}" * depth)


# Every character, lone surrogates and format characters (zero-width space…) included.
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)
DATES = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)
).map(datetime.isoformat) | st.just("0107-04-10T05:18:05Z")
KEYS = TEXT | st.sampled_from(
    [
        "event",
        "event_id",
        "timestamp",
        "properties",
        "ai",
        "feature",
        "provider",
        "model",
        "input_tokens",
        "latency_ms",
        "edit_ratio",
        "estimated_cost_eur",
        "cost_amount",
        "cost_currency",
        "prompt",
        "\uff50rompt",
        "system_prompt",
        "message",
        "role",
        "content",
    ]
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: past 64 bits too
    | st.decimals(allow_nan=False, allow_infinity=False)  # 1E+400, 1E-400…
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | DATES
    | st.integers(min_value=1, max_value=1200).map(nested)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)
EVENTS = st.fixed_dictionaries(
    {"event": st.sampled_from(["ai_call_completed", "ai_output_edited", "page_view"]) | TEXT},
    optional={"timestamp": VALUES, "event_id": VALUES, "properties": VALUES},
)
BODIES = VALUES | EVENTS | st.builds(lambda events: {"batch": events}, st.lists(EVENTS, max_size=3))

OPERATION = """
query ($from: DateTime, $to: DateTime, $limit: Int! = 5, $app: UUID, $env: String,
       $after: String, $by: AiCostBreakdown! = MODEL) {
  events(from: $from, to: $to, limit: $limit, appUuid: $app, environment: $env, after: $after) {
    eventId
  }
  aiCost(from: $from, to: $to, by: $by, appUuid: $app) { totalCostEur }
  ingestStatus(receivedFrom: $from, receivedTo: $to) { eventsReceived }
}
"""
VARIABLES = st.fixed_dictionaries(
    {},
    optional={
        name: VALUES | DATES for name in ("from", "to", "limit", "app", "env", "after", "by", "x")
    },
)


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def test_arbitrary_json_is_never_a_server_error(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    examples = hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )

    with running(settings) as h:

        @examples
        @given(body=BODIES)
        def ingest(body: Any) -> None:
            caplog.clear()
            response = h.post(to_json(body).encode("utf-8", "surrogatepass"))
            assert response.status_code < 500, response.text
            assert errors_logged(caplog) == []

        @examples
        @given(variables=VARIABLES)
        def graphql(variables: dict[str, Any]) -> None:
            caplog.clear()
            response = post_graphql(h, variables)
            assert response.status_code < 500, response.text
            assert errors_logged(caplog) == []

        ingest()
        graphql()


def post_graphql(h: Harness, variables: dict[str, Any]) -> Any:
    body = f'{{"query": {json.dumps(OPERATION)}, "variables": {to_json(variables)}}}'
    return h.client.post(
        "/graphql",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json", "authorization": f"Bearer {h.token}"},
    )
