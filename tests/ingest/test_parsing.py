"""Strict JSON parsing of request bodies: app/ingest/parsing.py."""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.ingest.errors import InvalidJson, ValidationFailed
from app.ingest.parsing import parse_json

MARKER = "SECRET-PROMPT-MARKER"
DEPTH = 32


def message_of(raw: bytes, max_depth: int = DEPTH) -> str:
    with pytest.raises(InvalidJson) as caught:
        parse_json(raw, max_depth=max_depth)
    return caught.value.message


def test_floats_are_decimals_and_ints_stay_ints() -> None:
    value = parse_json(b'{"cost": 0.014, "tokens": 1200, "big": 1e3, "n": -0}', max_depth=DEPTH)
    assert value == {"cost": Decimal("0.014"), "tokens": 1200, "big": Decimal("1E+3"), "n": 0}
    assert type(value["tokens"]) is int
    assert type(value["cost"]) is Decimal
    assert str(value["cost"]) == "0.014"


def test_a_scalar_body_parses() -> None:
    assert parse_json(b' "ok" ', max_depth=DEPTH) == "ok"


def test_invalid_json_is_a_validation_error_with_one_entry() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json(b"{", max_depth=DEPTH)
    assert caught.value.errors == [
        {
            "index": None,
            "field": None,
            "message": "Expecting property name enclosed in double quotes (line 1, column 2).",
        }
    ]


def test_invalid_utf8_is_refused_with_its_byte_offset() -> None:
    assert message_of(b'{"event": "\xff"}') == "The body is not valid UTF-8 (byte 11)."


def test_an_encoded_surrogate_is_invalid_utf8() -> None:
    assert message_of(b'"\xed\xa0\x80"') == "The body is not valid UTF-8 (byte 1)."


def test_utf16_is_not_guessed() -> None:
    # json.loads(bytes) would detect UTF-16 and accept this body.
    assert json.loads('{"a": 1}'.encode("utf-16")) == {"a": 1}
    assert message_of('{"a": 1}'.encode("utf-16")).startswith("The body is not valid UTF-8")


def test_a_byte_order_mark_is_refused() -> None:
    assert message_of(b'\xef\xbb\xbf{"a": 1}') == (
        "The body starts with a byte order mark; send UTF-8 without one."
    )


@pytest.mark.parametrize("raw", [b"", b"  \n\t"], ids=["empty", "whitespace"])
def test_an_empty_body_is_refused(raw: bytes) -> None:
    assert message_of(raw) == "The body is empty."


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_constants_are_refused(constant: str) -> None:
    assert message_of(f'{{"a": {{"b": [{constant}]}}}}'.encode()) == (
        "NaN, Infinity and -Infinity are not JSON numbers."
    )


@pytest.mark.parametrize(
    "raw",
    [b'{"event": "a", "event": "b"}', b'{"p": {"x": 1, "y": 2, "x": 1}}', b'[{"k": 1, "k": 1}]'],
    ids=["top-level", "nested", "in-list"],
)
def test_duplicate_keys_are_refused_at_any_level(raw: bytes) -> None:
    assert message_of(raw) == "An object has the same key twice."


def test_nesting_up_to_the_limit_parses() -> None:
    raw = b'{"a":' * 3 + b"[1]" + b"}" * 3
    assert parse_json(raw, max_depth=4) == {"a": {"a": {"a": [1]}}}


def test_nesting_beyond_the_limit_is_refused() -> None:
    raw = b'{"a":' * 4 + b"[1]" + b"}" * 4
    assert message_of(raw, max_depth=4) == "The JSON is nested deeper than 4 levels."


def test_nesting_beyond_the_recursion_limit_is_invalid_json_not_recursion_error() -> None:
    assert message_of(b"[" * 100_000 + b"]" * 100_000) == (
        "The JSON is nested deeper than 32 levels."
    )


@pytest.mark.parametrize(
    "raw",
    [b'{"a": "\\ud800"}', b'{"a": "x\\uDFFFy"}', b'{"\\udbff": 1}', b'["\\ud83d\\u0041"]'],
    ids=["high", "low-upper-case", "in-key", "high-then-non-low"],
)
def test_lone_surrogate_escapes_are_refused(raw: bytes) -> None:
    assert message_of(raw) == "A string holds a lone UTF-16 surrogate escape."


def test_a_surrogate_pair_escape_is_one_character() -> None:
    assert parse_json(b'{"e": "\\ud83d\\ude00"}', max_depth=DEPTH) == {"e": "\U0001f600"}


def test_trailing_data_is_refused() -> None:
    assert message_of(b'{"a": 1} {"b": 2}') == "Extra data (line 1, column 10)."


def test_an_integer_beyond_pythons_digit_limit_is_refused() -> None:
    assert message_of(b"1" * 5000) == "A number is too long."


@pytest.mark.parametrize(
    "raw", [b'{"v": 18446744073709551616}', b'{"a": [{"v": -9223372036854775809}]}']
)
def test_an_integer_outside_64_bits_is_refused(raw: bytes) -> None:
    assert message_of(raw) == (
        "An integer is outside the 64-bit range; send such a value as a string."
    )


def test_the_64_bit_integer_bounds_parse() -> None:
    raw = b'{"a": [18446744073709551615, -9223372036854775808]}'
    assert parse_json(raw, max_depth=32) == {"a": [2**64 - 1, -(2**63)]}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"prompt": "SECRET-PROMPT-MARKER"',
        b'{"prompt": "SECRET-PROMPT-MARKER\x01"}',
        b'{"prompt": "SECRET-PROMPT-MARKER\\q"}',
        b'{"prompt": SECRET-PROMPT-MARKER}',
        b'{"prompt": "SECRET-PROMPT-MARKER", "prompt": 1}',
        b'{"prompt": "SECRET-PROMPT-MARKER\xff"}',
        b'{"prompt": "SECRET-PROMPT-MARKER"} SECRET-PROMPT-MARKER',
        b'{"SECRET-PROMPT-MARKER": "\\ud800"}',
    ],
    ids=[
        "unterminated",
        "control",
        "escape",
        "bare",
        "duplicate",
        "utf8",
        "trailing",
        "surrogate",
    ],
)
def test_messages_never_quote_the_body(raw: bytes) -> None:
    assert MARKER not in message_of(raw)


@given(st.binary(max_size=200))
def test_parse_json_raises_nothing_but_invalid_json_on_bytes(raw: bytes) -> None:
    with contextlib.suppress(InvalidJson):
        parse_json(raw, max_depth=4)


JSON_TOKENS = st.sampled_from(
    [*'{}[]":,0123456789.eE+-tfnaulrsINy \\', "\\u", "\\ud800", "\\udc00", "NaN", "true"]
)


@given(st.lists(JSON_TOKENS, max_size=60).map("".join))
def test_parse_json_raises_nothing_but_invalid_json_on_json_like_text(text: str) -> None:
    try:
        value: Any = parse_json(text.encode("utf-8", "surrogatepass"), max_depth=4)
    except InvalidJson:
        return
    # Whatever parses must be storable: no lone surrogates, no floats.
    json.dumps(value, default=str, ensure_ascii=False).encode("utf-8")
