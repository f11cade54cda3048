"""The event schema: app/ingest/validation.py."""

from __future__ import annotations

import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.event_types import IncomingEvent
from app.ingest.errors import IngestError, PayloadTooLarge, ValidationFailed
from app.ingest.parsing import parse_json
from app.ingest.validation import json_size, validate_request

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
MARKER = "SECRET-PROMPT-MARKER"
USER = "a1b2c3d4e5f6789012345678901234567890123456789012345678901234abcd"


def validate(payload: Any, **limits: int) -> list[IncomingEvent]:
    ids = iter(f"generated-{n}" for n in range(1000))
    return validate_request(
        payload,
        now=NOW,
        max_batch_events=limits.get("max_batch_events", 500),
        max_event_bytes=limits.get("max_event_bytes", 65536),
        new_event_id=lambda _position: next(ids),
    )


def errors_of(payload: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as caught:
        validate(payload)
    return caught.value.errors


def one(payload: Any) -> IncomingEvent:
    [event] = validate(payload)
    return event


def call(**properties: Any) -> dict[str, Any]:
    return {
        "event": "ai_call_completed",
        "properties": {"feature": "f", "provider": "openai", "model": "gpt-5.4-mini", **properties},
    }


def props(event: dict[str, Any]) -> dict[str, Any]:
    return one(event).properties


def field_errors(payload: Any) -> list[tuple[int | None, str | None, str]]:
    return [(e["index"], e["field"], e["message"]) for e in errors_of(payload)]


# --- the seed's examples ---------------------------------------------------------------------


def test_the_seed_ai_call_completed_example_is_normalised() -> None:
    raw = json.dumps(
        {
            "event": "ai_call_completed",
            "user_hash": USER,
            "customer_org_id": "acme-corp",
            "properties": {
                "feature": "support_reply_generator",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "request_type": "generate",
                "input_tokens": 1200,
                "output_tokens": 350,
                "total_tokens": 1550,
                "estimated_cost_eur": 0.014,
                "latency_ms": 1420,
                "success": True,
                "workflow_id": "support-ticket-789",
                "ai_call_id": "call_01HV...",
            },
        }
    ).encode()
    assert validate(parse_json(raw, max_depth=32)) == [
        IncomingEvent(
            event="ai_call_completed",
            event_id="generated-0",
            timestamp=NOW,
            environment="production",
            customer_org_id="acme-corp",
            user_hash=USER,
            properties={
                "feature": "support_reply_generator",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "request_type": "generate",
                "input_tokens": 1200,
                "output_tokens": 350,
                "total_tokens": 1550,
                "estimated_cost_eur": Decimal("0.014"),
                "latency_ms": 1420.0,
                "success": True,
                "workflow_id": "support-ticket-789",
                "ai_call_id": "call_01HV...",
            },
        )
    ]


def test_the_seed_ai_call_failed_example_defaults_success_to_false() -> None:
    event = {
        "event": "ai_call_failed",
        "properties": {
            "feature": "support_reply_generator",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "latency_ms": 8500,
            "error_code": "rate_limited",
        },
    }
    assert props(event) == {
        "feature": "support_reply_generator",
        "provider": "openai",
        "model": "gpt-5.4-mini",
        "latency_ms": 8500.0,
        "error_code": "rate_limited",
        "success": False,
    }


@pytest.mark.parametrize(
    ("name", "signal"),
    [
        ("ai_output_accepted", "accepted"),
        ("ai_output_rejected", "rejected"),
        ("ai_output_edited", "edited"),
    ],
)
def test_output_events_default_their_value_signal(name: str, signal: str) -> None:
    event = {"event": name, "properties": {"feature": "f", "ai_call_id": "c1"}}
    assert props(event) == {"feature": "f", "ai_call_id": "c1", "value_signal": signal}


def test_an_explicit_value_signal_is_kept() -> None:
    event = {
        "event": "ai_output_accepted",
        "properties": {"feature": "f", "value_signal": "copied"},
    }
    assert props(event)["value_signal"] == "copied"


def test_edit_ratio_is_stored_as_a_float() -> None:
    event = {"event": "ai_output_edited", "properties": {"feature": "f", "edit_ratio": 0.12}}
    assert props(event) == {"feature": "f", "edit_ratio": 0.12, "value_signal": "edited"}


# --- request shape ---------------------------------------------------------------------------


def test_a_single_event_gets_its_defaults() -> None:
    assert one({"event": "signup"}) == IncomingEvent(
        event="signup",
        event_id="generated-0",
        timestamp=NOW,
        environment="production",
        customer_org_id="",
        user_hash="",
        properties={},
    )


def test_a_missing_event_id_becomes_a_uuid4_by_default() -> None:
    [event] = validate_request(
        {"event": "signup"}, now=NOW, max_batch_events=500, max_event_bytes=65536
    )
    assert uuid.UUID(event.event_id).version == 4


def test_a_batch_keeps_the_request_order() -> None:
    events = validate({"batch": [{"event": "a"}, {"event": "b", "event_id": "k"}, {"event": "c"}]})
    assert [(e.event, e.event_id) for e in events] == [
        ("a", "generated-0"),
        ("b", "k"),
        ("c", "generated-1"),
    ]


@pytest.mark.parametrize(
    "body", [[{"event": "a"}], "x", 3, None], ids=["list", "str", "int", "null"]
)
def test_a_body_that_is_not_an_object_is_refused(body: Any) -> None:
    assert field_errors(body) == [
        (None, None, 'The body must be an event object or {"batch": [events]}.')
    ]


def test_an_empty_batch_is_refused() -> None:
    assert field_errors({"batch": []}) == [(None, "batch", "must hold an event or more.")]


def test_a_batch_that_is_not_a_list_is_refused() -> None:
    assert field_errors({"batch": {"event": "a"}}) == [(None, "batch", "must be a list of events.")]


def test_other_keys_beside_batch_are_refused_but_private_ones_dropped() -> None:
    payload = {"batch": [{"event": "a"}], "event": "b", "prompt": MARKER}
    assert field_errors(payload) == [(None, "event", "is not allowed beside 'batch'.")]


def test_a_batch_at_the_limit_is_accepted() -> None:
    assert len(validate({"batch": [{"event": "a"}] * 3}, max_batch_events=3)) == 3


def test_a_batch_over_the_limit_is_too_large() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        validate({"batch": [{"event": "a"}] * 501})
    error = caught.value
    assert (error.status, error.limit, error.maximum, error.indexes) == (
        413,
        "batch_events",
        500,
        [],
    )
    assert error.body() == {
        "error": "payload_too_large",
        "detail": "A batch holds at most 500 events; this one holds 501.",
        "limit": "batch_events",
        "max": 500,
    }


def test_an_event_over_the_size_limit_is_too_large_with_its_index() -> None:
    small = {"event": "a"}
    big = {"event": "a", "properties": {"note": "x" * 200}}
    with pytest.raises(PayloadTooLarge) as caught:
        validate({"batch": [small, big, small, big]}, max_event_bytes=200)
    assert (caught.value.limit, caught.value.maximum, caught.value.indexes) == (
        "event_bytes",
        200,
        [1, 3],
    )
    assert caught.value.message == (
        "An event may take at most 200 bytes of JSON (after privacy stripping); this request "
        "has 2 larger events."
    )


def test_an_event_exactly_at_the_size_limit_is_accepted() -> None:
    event = {"event": "a", "properties": {"note": "é" * 10}}
    size = len(json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode())
    assert len(validate(event, max_event_bytes=size)) == 1
    with pytest.raises(PayloadTooLarge):
        validate(event, max_event_bytes=size - 1)


def test_the_size_limit_applies_after_privacy_stripping() -> None:
    event = {"event": "a", "prompt": "x" * 100_000}
    assert len(validate(event, max_event_bytes=100)) == 1


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"a": [1, {"b": 'é"\n\u2028'}], "c": None, "d": True, "e": False},
        {"n": Decimal("1.50"), "m": Decimal("1E+3"), "f": 1.5, "i": -12, "l": []},
    ],
)
def test_json_size_is_the_compact_utf8_length(value: dict[str, Any]) -> None:
    text = json.dumps(
        value,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,  # Decimal as a string: two quotes more per Decimal
    )
    decimals = sum(isinstance(v, Decimal) for v in value.values())
    assert json_size(value) == len(text.encode()) - 2 * decimals


# --- top-level fields ------------------------------------------------------------------------


def test_event_is_required() -> None:
    assert field_errors({"user_hash": "u"}) == [(0, "event", "is required.")]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty."),
        ("   ", "must not be empty."),
        (7, "must be a string."),
        ("e" * 201, "must be at most 200 characters long."),
        (None, "is required."),
    ],
)
def test_event_must_be_a_non_empty_short_string(value: Any, message: str) -> None:
    assert field_errors({"event": value}) == [(0, "event", message)]


def test_an_event_name_of_200_characters_is_accepted() -> None:
    assert one({"event": "e" * 200}).event == "e" * 200


def test_unknown_top_level_fields_are_refused() -> None:
    assert field_errors({"event": "a", "customer_orgid": "acme", "distinct_id": 1}) == [
        (0, "customer_orgid", "is not an event field (custom data goes under 'properties')."),
        (0, "distinct_id", "is not an event field (custom data goes under 'properties')."),
    ]


def test_a_key_that_is_not_an_identifier_is_not_quoted() -> None:
    assert field_errors({"event": "a", f"tell me {MARKER}": 1}) == [
        (
            0,
            "(a key that is not an identifier)",
            "is not an event field (custom data goes under 'properties').",
        ),
    ]


def test_private_keys_at_the_top_level_are_dropped_not_refused() -> None:
    event = {
        "event": "a",
        "prompt": MARKER,
        "Messages": [{"role": "user", "content": MARKER}],
        "context": [{"role": "user", "content": MARKER}],
    }
    assert one(event).properties == {}


def test_customer_org_id_and_user_hash_are_kept_as_sent() -> None:
    event = one({"event": "a", "customer_org_id": "Acme-Corp ", "user_hash": USER})
    assert (event.customer_org_id, event.user_hash) == ("Acme-Corp ", USER)


@pytest.mark.parametrize("field", ["customer_org_id", "user_hash"])
def test_org_and_user_hash_must_be_short_strings(field: str) -> None:
    assert field_errors({"event": "a", field: 42}) == [(0, field, "must be a string.")]
    assert field_errors({"event": "a", field: "x" * 201}) == [
        (0, field, "must be at most 200 characters long.")
    ]


def test_null_optional_fields_mean_absent() -> None:
    event = {
        "event": "a",
        "event_id": None,
        "environment": None,
        "timestamp": None,
        "customer_org_id": None,
        "user_hash": None,
        "properties": None,
    }
    assert one(event) == one({"event": "a"})


def test_environment_is_kept_and_checked() -> None:
    assert one({"event": "a", "environment": "staging"}).environment == "staging"
    assert field_errors({"event": "a", "environment": ""}) == [
        (0, "environment", "must not be empty.")
    ]
    assert field_errors({"event": "a", "environment": "e" * 101}) == [
        (0, "environment", "must be at most 100 characters long.")
    ]


def test_event_id_must_be_a_non_empty_short_string() -> None:
    assert one({"event": "a", "event_id": "client-key-1"}).event_id == "client-key-1"
    assert field_errors({"event": "a", "event_id": 12}) == [(0, "event_id", "must be a string.")]
    assert field_errors({"event": "a", "event_id": ""}) == [(0, "event_id", "must not be empty.")]
    assert field_errors({"event": "a", "event_id": "k" * 201}) == [
        (0, "event_id", "must be at most 200 characters long.")
    ]


def test_properties_must_be_an_object() -> None:
    assert field_errors({"event": "a", "properties": [1]}) == [
        (0, "properties", "must be an object.")
    ]


def test_non_ai_properties_are_free_form() -> None:
    properties = {"input_tokens": "lots", "score": Decimal("0.5"), "tags": ["x"], "n": None}
    assert props({"event": "page_view", "properties": properties}) == properties


# --- timestamp -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-15T10:30:00Z", datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        ("2026-01-15T12:30:00+02:00", datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        ("2026-01-15T10:30:00.123456", datetime(2026, 1, 15, 10, 30, 0, 123456, tzinfo=UTC)),
        ("2026-01-15", datetime(2026, 1, 15, tzinfo=UTC)),
        (1_768_473_000_000, datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        (1_768_473_000_123, datetime(2026, 1, 15, 10, 30, 0, 123000, tzinfo=UTC)),
        (Decimal("1768473000000.0"), datetime(2026, 1, 15, 10, 30, tzinfo=UTC)),
        (946_684_800_000, datetime(2000, 1, 1, tzinfo=UTC)),
    ],
    ids=["z", "offset", "naive", "date", "epoch-ms", "epoch-ms-fraction", "ms-float", "y2k"],
)
def test_timestamps_become_utc_datetimes(value: Any, expected: datetime) -> None:
    timestamp = one({"event": "a", "timestamp": value}).timestamp
    assert timestamp == expected
    assert timestamp.utcoffset() == timedelta(0)


def test_a_timestamp_one_day_ahead_is_accepted() -> None:
    ahead = (NOW + timedelta(days=1)).isoformat()
    assert one({"event": "a", "timestamp": ahead}).timestamp == NOW + timedelta(days=1)


FORMAT = "must be an ISO 8601 date-time or a whole number of epoch milliseconds."
BEFORE_2000 = (
    "must not be before 2000-01-01T00:00:00Z (epoch milliseconds are expected, not seconds)."
)
AHEAD = "must not be more than one day ahead of the server's clock."


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yesterday", FORMAT),
        ("2026-13-01T00:00:00Z", FORMAT),
        ("2" * 100, FORMAT),
        (True, FORMAT),
        (Decimal("1768473000000.5"), FORMAT),
        ({"ms": 1}, FORMAT),
        ("0001-01-01T00:00:00+01:00", FORMAT),
        (1_768_473_000, BEFORE_2000),
        (-5, BEFORE_2000),
        ("1999-12-31T23:59:59Z", BEFORE_2000),
        ((NOW + timedelta(days=1, seconds=1)).isoformat(), AHEAD),
        (10**400, AHEAD),
        (Decimal("1e999999999"), AHEAD),
    ],
    ids=[
        "word",
        "month-13",
        "long",
        "bool",
        "fractional-ms",
        "object",
        "overflow",
        "epoch-seconds",
        "negative",
        "1999",
        "future",
        "huge-int",
        "huge-decimal",
    ],
)
def test_invalid_timestamps_are_refused(value: Any, message: str) -> None:
    assert field_errors({"event": "a", "timestamp": value}) == [(0, "timestamp", message)]


def test_a_naive_now_is_taken_as_utc() -> None:
    [event] = validate_request(
        {"event": "a"},
        now=NOW.replace(tzinfo=None),
        max_batch_events=1,
        max_event_bytes=100,
    )
    assert event.timestamp == NOW


# --- properties.ai ---------------------------------------------------------------------------


def test_properties_ai_is_flattened_into_properties() -> None:
    event = {
        "event": "ai_call_completed",
        "properties": {
            "feature": "f",
            "ai": {"provider": "anthropic", "model": "claude-sonnet-4-6", "input_tokens": 10},
        },
    }
    assert props(event) == {
        "feature": "f",
        "provider": "anthropic",
        "model": "claude-sonnet-4-6",
        "input_tokens": 10,
        "success": True,
    }


def test_the_same_value_in_properties_and_properties_ai_is_accepted() -> None:
    assert props(call(ai={"model": "gpt-5.4-mini"}))["model"] == "gpt-5.4-mini"


def test_different_values_in_properties_and_properties_ai_are_refused() -> None:
    assert field_errors(call(ai={"model": "gpt-4o", "provider": "openai"})) == [
        (0, "properties.ai.model", "conflicts with properties.model.")
    ]


def test_errors_name_the_properties_ai_path_the_value_came_from() -> None:
    event = {
        "event": "ai_call_completed",
        "properties": {"ai": {"feature": "", "input_tokens": -1}},
    }
    assert field_errors(event) == [
        (0, "properties.ai.feature", "must not be empty."),
        (0, "properties.provider", "is required."),
        (0, "properties.model", "is required."),
        (0, "properties.ai.input_tokens", "must be a whole number from 0 to 9223372036854775807."),
    ]


@pytest.mark.parametrize("value", ["gpt-5.4-mini", [{"model": "gpt-5.4-mini"}], True, 3])
def test_a_properties_ai_that_is_not_an_object_is_refused(value: Any) -> None:
    assert field_errors({"event": "page_view", "properties": {"ai": value}}) == [
        (0, "properties.ai", "must be an object (its fields are lifted into properties).")
    ]


def test_a_null_properties_ai_means_absent() -> None:
    assert props({"event": "page_view", "properties": {"ai": None, "x": 1}}) == {"x": 1}


def test_properties_ai_is_flattened_on_non_ai_events_too() -> None:
    assert props({"event": "page_view", "properties": {"ai": {"x": 1}}}) == {"x": 1}


# --- numbers ---------------------------------------------------------------------------------

UNSTORABLE = (
    "must be a number a 64-bit float can hold: finite, at most about 1.8e308 in magnitude, "
    "and not so close to 0 that it would be stored as 0."
)


@pytest.mark.parametrize(
    "text", ["1e400", "-1e400", "1e-400", "-1e-400", "1" + "0" * 400 + ".0", "0." + "0" * 400 + "1"]
)
def test_a_number_a_float_cannot_hold_is_refused_wherever_it_is(text: str) -> None:
    payload = parse_json(
        f'{{"event": "page_view", "properties": {{"score": {text}, "runs": [{{"n": 1}}, '
        f'{{"n": {text}}}], "ai": {{"x": {text}}}}}}}'.encode(),
        max_depth=10,
    )
    assert field_errors(payload) == [
        (0, "properties.score", UNSTORABLE),
        (0, "properties.runs[1].n", UNSTORABLE),
        (0, "properties.ai.x", UNSTORABLE),
    ]


@pytest.mark.parametrize("text", ["0e-400", "-0.0", "0.000", "1e-320", "1.7e308", "123.456"])
def test_zeros_however_written_and_numbers_a_float_holds_are_kept(text: str) -> None:
    payload = parse_json(
        f'{{"event": "page_view", "properties": {{"v": {text}}}}}'.encode(), max_depth=10
    )
    assert props(payload) == {"v": Decimal(text)}


def test_an_ai_field_a_float_cannot_hold_is_reported_once() -> None:
    event = {
        "event": "ai_output_edited",
        "properties": {"feature": "f", "edit_ratio": Decimal("1e-400")},
    }
    assert field_errors(event) == [(0, "properties.edit_ratio", UNSTORABLE)]


# --- AI fields -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("ai_call_completed", ["feature", "provider", "model"]),
        ("ai_call_failed", ["feature"]),
        ("ai_output_accepted", ["feature"]),
        ("ai_output_rejected", ["feature"]),
        ("ai_output_edited", ["feature"]),
    ],
)
def test_required_ai_fields(name: str, missing: list[str]) -> None:
    assert field_errors({"event": name}) == [
        (0, f"properties.{field}", "is required.") for field in missing
    ]


def test_required_ai_fields_must_be_non_empty_strings() -> None:
    event = {
        "event": "ai_call_completed",
        "properties": {"feature": " ", "provider": 1, "model": None},
    }
    assert field_errors(event) == [
        (0, "properties.feature", "must not be empty."),
        (0, "properties.provider", "must be a string."),
        (0, "properties.model", "is required."),
    ]


def test_optional_ai_strings_are_checked() -> None:
    assert field_errors(call(request_type=["generate"], error_message="e" * 501)) == [
        (0, "properties.request_type", "must be a string."),
        (0, "properties.error_message", "must be at most 500 characters long."),
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1200, 1200), (Decimal("1200.0"), 1200), (1200.0, 1200), (0, 0), (Decimal("-0"), 0)],
)
def test_token_counts_become_ints(value: Any, expected: int) -> None:
    count = props(call(input_tokens=value))["input_tokens"]
    assert count == expected
    assert type(count) is int


COUNT = "must be a whole number from 0 to 9223372036854775807."


@pytest.mark.parametrize(
    "value",
    [Decimal("1.5"), -1, True, False, "12", Decimal("1e999999999"), 2**63, [1]],
    ids=["fraction", "negative", "true", "false", "string", "huge-decimal", "huge-int", "list"],
)
@pytest.mark.parametrize(
    "field", ["input_tokens", "output_tokens", "total_tokens", "cached_input_tokens"]
)
def test_invalid_token_counts_are_refused(field: str, value: Any) -> None:
    assert field_errors(call(**{field: value})) == [(0, f"properties.{field}", COUNT)]


def test_total_tokens_defaults_to_input_plus_output() -> None:
    assert props(call(input_tokens=1200, output_tokens=350))["total_tokens"] == 1550


def test_a_sent_total_tokens_is_kept() -> None:
    assert props(call(input_tokens=1200, output_tokens=350, total_tokens=1600))["total_tokens"] == (
        1600
    )


def test_total_tokens_needs_both_counts_to_default() -> None:
    assert "total_tokens" not in props(call(input_tokens=1200))


def test_cached_input_tokens_may_not_exceed_input_tokens() -> None:
    assert props(call(input_tokens=100, cached_input_tokens=100))["cached_input_tokens"] == 100
    assert field_errors(call(input_tokens=100, cached_input_tokens=101)) == [
        (0, "properties.cached_input_tokens", "must not exceed input_tokens.")
    ]


@pytest.mark.parametrize(
    ("value", "expected"), [(1420, 1420.0), (Decimal("12.5"), 12.5), (Decimal("-0.0"), 0.0)]
)
def test_latency_becomes_a_float(value: Any, expected: float) -> None:
    latency = props(call(latency_ms=value))["latency_ms"]
    assert latency == expected
    assert type(latency) is float


@pytest.mark.parametrize("value", [-1, Decimal("1e400"), True, "fast", float("inf"), float("nan")])
def test_invalid_latency_is_refused(value: Any) -> None:
    assert field_errors(call(latency_ms=value)) == [
        (0, "properties.latency_ms", "must be a finite non-negative number.")
    ]


def test_success_defaults_to_true_on_completed_calls_and_may_be_false() -> None:
    assert props(call())["success"] is True
    assert props(call(success=False))["success"] is False


@pytest.mark.parametrize("value", [1, "true", Decimal("0")])
def test_success_must_be_a_bool(value: Any) -> None:
    assert field_errors(call(success=value)) == [
        (0, "properties.success", "must be true or false.")
    ]


@pytest.mark.parametrize("value", [0, 1, Decimal("0.5")])
def test_edit_ratio_bounds_are_inclusive(value: Any) -> None:
    event = {"event": "ai_output_edited", "properties": {"feature": "f", "edit_ratio": value}}
    assert props(event)["edit_ratio"] == float(value)


@pytest.mark.parametrize("value", [Decimal("1.01"), -0.1, True, "0.5"])
def test_edit_ratio_outside_zero_to_one_is_refused(value: Any) -> None:
    event = {"event": "ai_output_edited", "properties": {"feature": "f", "edit_ratio": value}}
    assert field_errors(event) == [(0, "properties.edit_ratio", "must be a number from 0 to 1.")]


@pytest.mark.parametrize("field", ["estimated_cost_eur", "estimated_cost_usd"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.014"), Decimal("0.014")),
        (0, Decimal(0)),
        (0.014, Decimal("0.014")),
        (
            Decimal("0.0000000000001234567890123456789"),
            Decimal("0.0000000000001234567890123456789"),
        ),
        (Decimal("-0.00"), Decimal("0.00")),
    ],
    ids=["decimal", "known-zero", "python-float", "many-digits", "negative-zero"],
)
def test_money_becomes_an_exact_decimal(field: str, value: Any, expected: Decimal) -> None:
    amount = props(call(**{field: value}))[field]
    assert amount == expected
    assert str(amount) == str(expected)
    assert type(amount) is Decimal


MONEY = "must be a non-negative amount of at most 1000000000000."


@pytest.mark.parametrize(
    "value", [-1, Decimal("-0.01"), True, "0.014", Decimal("1e13"), float("nan")]
)
def test_invalid_money_is_refused(value: Any) -> None:
    assert field_errors(call(estimated_cost_eur=value)) == [
        (0, "properties.estimated_cost_eur", MONEY)
    ]


def test_cost_amount_and_currency_go_together() -> None:
    properties = props(call(cost_amount=Decimal("0.02"), cost_currency="usd"))
    assert (properties["cost_amount"], properties["cost_currency"]) == (Decimal("0.02"), "USD")
    assert field_errors(call(cost_amount=Decimal("0.02"))) == [
        (0, "properties.cost_currency", "is required with cost_amount.")
    ]
    assert field_errors(call(cost_currency="EUR")) == [
        (0, "properties.cost_amount", "is required with cost_currency.")
    ]


@pytest.mark.parametrize("value", ["EURO", "E1R", "€UR", "", 978])
def test_cost_currency_must_be_three_letters(value: Any) -> None:
    assert field_errors(call(cost_amount=1, cost_currency=value)) == [
        (0, "properties.cost_currency", "must be a 3-letter ISO 4217 currency code.")
    ]


def test_null_ai_fields_mean_absent() -> None:
    properties = props(call(estimated_cost_eur=None, input_tokens=None, workflow_id=None))
    assert properties == {
        "feature": "f",
        "provider": "openai",
        "model": "gpt-5.4-mini",
        "success": True,
    }


def test_unknown_properties_of_ai_events_are_kept() -> None:
    assert props(call(customer_plan="pro", score=Decimal("0.5")))["score"] == Decimal("0.5")


# --- whole-request behaviour -----------------------------------------------------------------


def test_every_error_of_every_event_is_reported() -> None:
    payload = {
        "batch": [
            call(),
            {"event": "ai_call_completed", "properties": {"feature": "f", "input_tokens": 1.5}},
            "nope",
            {"event": "", "timestamp": "soon", "colour": "red"},
        ]
    }
    assert errors_of(payload) == [
        {"index": 1, "field": "properties.provider", "message": "is required."},
        {"index": 1, "field": "properties.model", "message": "is required."},
        {"index": 1, "field": "properties.input_tokens", "message": COUNT},
        {"index": 2, "field": None, "message": "An event must be a JSON object."},
        {
            "index": 3,
            "field": "colour",
            "message": "is not an event field (custom data goes under 'properties').",
        },
        {"index": 3, "field": "event", "message": "must not be empty."},
        {"index": 3, "field": "timestamp", "message": FORMAT},
    ]


def test_the_validation_error_body_is_the_contracts() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate({"user_hash": "u"})
    assert caught.value.status == 400
    assert caught.value.body() == {
        "error": "validation_error",
        "errors": [{"index": 0, "field": "event", "message": "is required."}],
    }


def test_private_content_appears_in_no_event_and_no_error() -> None:
    transcript = [{"role": "user", "content": MARKER}, {"role": "assistant", "content": MARKER}]
    leaky: dict[str, Any] = {
        "event": "ai_call_completed",
        "prompt": MARKER,
        "messages": transcript,
        "properties": {
            "feature": "f",
            "provider": "openai",
            "model": "gpt-5.4-mini",
            "completion": MARKER,
            "output": {"text": MARKER},
            "response_text": MARKER,
            "ai": {"prompt": MARKER, "history": transcript},
            "debug": {"steps": [{"turns": transcript}]},
        },
    }
    [event] = validate(leaky)
    assert MARKER not in repr(event)
    assert event.properties == {
        "feature": "f",
        "provider": "openai",
        "model": "gpt-5.4-mini",
        "debug": {"steps": [{}]},
        "success": True,
    }

    broken = {
        **leaky,
        "event_id": MARKER * 20,
        "timestamp": MARKER,
        "properties": {
            **leaky["properties"],
            "model": MARKER * 20,
            "input_tokens": MARKER,
            "latency_ms": MARKER,
            "cost_currency": MARKER,
        },
    }
    with pytest.raises(ValidationFailed) as caught:
        validate({"batch": [leaky, broken]})
    assert len(caught.value.errors) == 7
    assert MARKER not in repr(caught.value.errors)
    assert MARKER not in str(caught.value)
    assert MARKER not in json.dumps(caught.value.body())


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.decimals(allow_nan=False)
    | st.text(max_size=8)
    | st.sampled_from(["ai_call_completed", "ai_output_edited", "2026-01-01T00:00:00Z"]),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "event",
                    "batch",
                    "properties",
                    "ai",
                    "timestamp",
                    "feature",
                    "input_tokens",
                    "cost_amount",
                    "cost_currency",
                    "latency_ms",
                    "edit_ratio",
                    "role",
                    "content",
                    "prompt",
                ]
            )
            | st.text(max_size=5),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300)
@given(JSON_VALUES)
def test_validate_request_raises_nothing_but_ingest_errors(payload: Any) -> None:
    with contextlib.suppress(IngestError):
        validate(payload)
