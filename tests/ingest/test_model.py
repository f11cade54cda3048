"""The compiled event model: app/ingest/model.py and the fast paths of app/ingest/validation.py.

The fast paths must accept exactly what the reference validator accepts, normalised alike,
and leave every refusal (and its wording) to it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.event_types import IncomingEvent
from app.ingest.errors import IngestError, InvalidJson
from app.ingest.parsing import parse_json
from app.ingest.validation import _reference_validate, decode_request, validate_request
from tests.ingest.test_validation import JSON_VALUES

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
LIMITS = {"now": NOW, "max_batch_events": 5, "max_event_bytes": 400}


def ids(position: int) -> str:
    return f"generated-{position}"


def outcome(run: Any) -> Any:
    try:
        return run()
    except IngestError as exc:
        return (type(exc).__name__, exc.body())


def reference_of_bytes(body: bytes) -> Any:
    def run() -> list[IncomingEvent]:
        payload = parse_json(body, max_depth=6)
        return _reference_validate(payload, new_event_id=ids, body_size=len(body), **LIMITS)

    return outcome(run)


def decoded(body: bytes) -> Any:
    return outcome(lambda: decode_request(body, max_depth=6, new_event_id=ids, **LIMITS))


def test_duplicate_top_level_keys_are_refused_as_parse_json_refuses_them() -> None:
    assert decoded(b'{"event":"a","event":"b"}') == (
        "InvalidJson",
        InvalidJson("An object has the same key twice.").body(),
    )


def test_duplicate_keys_deep_in_a_batch_are_refused() -> None:
    body = b'{"batch":[{"event":"a"},{"event":"b","properties":{"x":{"k":1,"k":2}}}]}'
    assert decoded(body) == reference_of_bytes(body)
    assert decoded(body)[0] == "InvalidJson"


def test_properties_nested_past_the_depth_limit_are_refused() -> None:
    body = b'{"event":"a","properties":{"a":{"b":{"c":{"d":{"e":{}}}}}}}'
    assert decoded(body) == (
        "InvalidJson",
        InvalidJson("The JSON is nested deeper than 6 levels.").body(),
    )


def test_an_integer_past_64_bits_is_refused() -> None:
    body = b'{"event":"a","properties":{"n":18446744073709551616}}'
    assert decoded(body) == reference_of_bytes(body)
    assert decoded(body)[0] == "InvalidJson"


def test_a_private_key_is_stripped_on_the_fast_path() -> None:
    body = b'{"event":"a","properties":{"prompt":"SECRET","n":1,"ai":{"messages":[]}}}'
    [event] = decode_request(body, max_depth=6, new_event_id=ids, **LIMITS)
    assert event.properties == {"n": 1}


def test_an_escaped_body_gives_the_same_events() -> None:
    body = b'{"event":"\\u00e9t\\u00e9","properties":{"q":"say \\"hi\\""}}'
    [event] = decode_request(body, max_depth=6, new_event_id=ids, **LIMITS)
    assert (event.event, event.properties) == ("été", {"q": 'say "hi"'})


@pytest.mark.parametrize(
    "properties",
    [
        {"feature": "f", "provider": "p", "model": "m", "input_tokens": 7, "output_tokens": 3},
        {"feature": "f", "provider": " ", "model": "m"},
        {"feature": "f", "provider": "p", "model": "m", "edit_ratio": Decimal("1.0000000000001")},
        {"feature": "f", "provider": "p", "model": "m", "cost_amount": Decimal("1E+12")},
        {"feature": "f", "provider": "p", "model": "m", "cost_amount": Decimal("1000000000000.01")},
        {"feature": "f", "provider": "p", "model": "m", "cost_currency": "eur\n"},
        {"ai": {"feature": "f", "provider": "p", "model": "m", "latency_ms": Decimal("-0.0")}},
    ],
)
def test_ai_fields_at_the_edges_match_the_reference(properties: dict[str, Any]) -> None:
    payload = {"event": "ai_call_completed", "properties": properties}
    body = _numbers(payload)
    assert outcome(lambda: validate_request(payload, new_event_id=ids, **LIMITS)) == outcome(
        lambda: _reference_validate(payload, new_event_id=ids, **LIMITS)
    )
    assert decoded(body) == reference_of_bytes(body)


AI_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-2, max_value=2**64 + 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.sampled_from(["f", " ", "gpt", "EUR", "usd", "€UR", "x" * 201]),
)
AI_KEYS = st.sampled_from(
    [
        *("feature", "provider", "model", "input_tokens", "output_tokens", "total_tokens"),
        *("cached_input_tokens", "latency_ms", "edit_ratio", "success", "cost_amount"),
        *("cost_currency", "estimated_cost_eur", "value_signal", "prompt", "note"),
    ]
)
AI_PROPERTIES = st.dictionaries(AI_KEYS, AI_VALUES, max_size=8)
EVENTS = st.fixed_dictionaries(
    {
        "event": st.sampled_from(["ai_call_completed", "ai_call_failed", "ai_output_edited", "x"]),
        "properties": st.one_of(
            AI_PROPERTIES,
            AI_PROPERTIES.map(lambda p: {"ai": p}),
            st.tuples(AI_PROPERTIES, AI_PROPERTIES).map(lambda t: {**t[0], "ai": t[1]}),
        ),
    },
    optional={
        "timestamp": st.one_of(
            st.none(), st.integers(0, 2 * 10**12), st.sampled_from(["2026-01-15", "soon"])
        ),
        "event_id": st.sampled_from([None, "", "k", " "]),
        "environment": st.sampled_from([None, "", "staging"]),
        "user_hash": st.sampled_from([None, "u", 3]),
        "colour": st.just("red"),
    },
)
BODIES = st.one_of(EVENTS, st.lists(EVENTS, min_size=0, max_size=6).map(lambda b: {"batch": b}))


@settings(max_examples=400)
@given(BODIES)
def test_the_fast_paths_agree_with_the_reference(payload: Any) -> None:
    expected = outcome(lambda: _reference_validate(payload, new_event_id=ids, **LIMITS))
    assert outcome(lambda: validate_request(payload, new_event_id=ids, **LIMITS)) == expected
    body = _numbers(payload)
    assert decoded(body) == reference_of_bytes(body)


def _numbers(payload: Any) -> bytes:
    """The JSON of `payload` with Decimals written as JSON numbers."""

    def default(value: object) -> str:
        return f"@@{value}@@"

    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=default)
    return text.replace('"@@', "").replace('@@"', "").encode()


@settings(max_examples=300)
@given(JSON_VALUES)
def test_the_fast_paths_agree_with_the_reference_on_any_json(payload: Any) -> None:
    expected = outcome(lambda: _reference_validate(payload, new_event_id=ids, **LIMITS))
    assert outcome(lambda: validate_request(payload, new_event_id=ids, **LIMITS)) == expected
    body = _numbers(payload)
    assert decoded(body) == reference_of_bytes(body)
