"""The custom scalars name their specification (`@specifiedBy`) and keep to it: DateTime is
RFC 3339 in UTC to the millisecond, Decimal and BigInt follow JSON's number grammar, UUID its
canonical text form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from app.errors import BadUserInput
from app.graphql.export_schema import schema_sdl
from app.graphql.scalars import (
    parse_big_int,
    parse_datetime,
    parse_decimal,
    parse_uuid,
    serialize_datetime,
)
from tests.graphql.conftest import Api, Tenant

PLUS_ONE = timezone(timedelta(hours=1))
SPECIFIED_BY = {
    "DateTime": "https://www.rfc-editor.org/rfc/rfc3339#section-5.6",
    "Decimal": "https://www.rfc-editor.org/rfc/rfc8259#section-6",
    "BigInt": "https://www.rfc-editor.org/rfc/rfc8259#section-6",
    "UUID": "https://www.rfc-editor.org/rfc/rfc9562#section-4",
}


def test_every_custom_scalar_names_its_specification_in_the_sdl() -> None:
    sdl = schema_sdl()
    for name, url in SPECIFIED_BY.items():
        assert f'scalar {name} @specifiedBy(url: "{url}")' in sdl


def test_introspection_shows_the_specification_and_the_format(api: Api) -> None:
    query = " ".join(
        f'{name}: __type(name: "{name}") {{ specifiedByURL description }}' for name in SPECIFIED_BY
    )
    data = api.data(f"{{ {query} }}", token=None)
    assert {name: found["specifiedByURL"] for name, found in data.items()} == SPECIFIED_BY
    assert "'2026-11-02T09:30:00.000Z'" in data["DateTime"]["description"]
    assert "RFC 3339" in data["DateTime"]["description"]


# --- DateTime ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC), "2026-12-07T18:11:55.000Z"),
        (datetime(2026, 12, 7, 18, 11, 55, 250_999, tzinfo=UTC), "2026-12-07T18:11:55.250Z"),
        (datetime(2026, 12, 7, 19, 11, 55, tzinfo=PLUS_ONE), "2026-12-07T18:11:55.000Z"),
        (datetime(2026, 12, 7, 18, 11, 55), "2026-12-07T18:11:55.000Z"),  # naive: UTC (SQLite)
        (datetime(1900, 1, 1, tzinfo=UTC), "1900-01-01T00:00:00.000Z"),
        (datetime(107, 4, 10, 5, 18, 5, tzinfo=UTC), "0107-04-10T05:18:05.000Z"),
    ],
)  # fmt: skip
def test_a_date_time_is_sent_in_utc_to_the_millisecond(value: datetime, text: str) -> None:
    assert serialize_datetime(value) == text
    # What JavaScript's Date.prototype.toISOString() writes, for the same instant.
    assert text == value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-12-07T18:11:55Z", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        ("2026-12-07t18:11:55z", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        ("2026-12-07T18:11:55.000Z", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        ("2026-12-07T19:41:55+01:30", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        ("2026-12-07T13:11:55-05:00", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        ("2026-12-07T18:11:55-00:00", datetime(2026, 12, 7, 18, 11, 55, tzinfo=UTC)),
        # Cut to the millisecond, never rounded up.
        ("2026-12-07T18:11:55.2509999Z", datetime(2026, 12, 7, 18, 11, 55, 250_000, tzinfo=UTC)),
        ("2026-12-07T18:11:55.5Z", datetime(2026, 12, 7, 18, 11, 55, 500_000, tzinfo=UTC)),
        ("2299-12-31T23:59:59.999999Z", datetime(2299, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)),
    ],
)
def test_an_rfc_3339_date_time_is_accepted_with_its_offset(text: str, instant: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == instant
    assert parsed.tzinfo is UTC


RANGE = "A date-time must lie from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59Z."
NOT_RFC_3339 = (
    "is not an RFC 3339 date-time: write e.g. '2026-11-02T09:30:00Z' or "
    "'2026-11-02T10:30:00.250+01:00' (the offset is required)."
)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-12-07T18:11:55", f"'2026-12-07T18:11:55' {NOT_RFC_3339}"),
        ("2026-12-07 18:11:55Z", f"'2026-12-07 18:11:55Z' {NOT_RFC_3339}"),
        ("2026-12-07", f"'2026-12-07' {NOT_RFC_3339}"),
        ("2026-04-31T00:00:00Z", "'2026-04-31T00:00:00Z' is not a valid date and time."),
        ("2026-12-07T24:00:00Z", "'2026-12-07T24:00:00Z' is not a valid date and time."),
        (
            "2026-12-07T18:11:55+24:00",
            "'2026-12-07T18:11:55+24:00' has no valid offset: from -23:59 to +23:59.",
        ),
        ("1899-12-31T23:59:59Z", RANGE),
        ("9999-12-31T23:00:00-05:00", RANGE),
        (1_700_000_000, "A date-time is expected, as an RFC 3339 string."),
    ],
)
def test_anything_else_is_refused_with_what_to_write(value: object, message: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        parse_datetime(value)
    assert refused.value.message == message


SET_FX = """
mutation ($validFrom: DateTime!) {
  setFxRate(currency: "GBP", validFrom: $validFrom, rateToEur: "1.15") { validFrom }
}
"""


def test_a_date_time_read_and_sent_back_names_the_same_instant(api: Api) -> None:
    operator = api.superuser_token()
    first = api.data(SET_FX, {"validFrom": "2026-01-01T01:00:00.123456+01:00"}, token=operator)
    sent = first["setFxRate"]["validFrom"]
    assert sent == "2026-01-01T00:00:00.123Z"
    # The same `validFrom` corrects that row: the value as read compares equal.
    api.data(SET_FX, {"validFrom": sent}, token=operator)
    rates = api.data('{ fxRates(currency: "GBP") { validFrom } }', token=operator)["fxRates"]
    assert rates == [{"validFrom": "2026-01-01T00:00:00.123Z"}]


def test_a_date_time_without_offset_is_bad_user_input(api: Api, tenant: Tenant) -> None:
    query = '{ aiCost(from: "2026-11-02T00:00:00") { calls } }'
    error = api.error(query, token=tenant.admin_token)
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "status": 400}
    assert "(the offset is required)" in error["message"]


# --- Decimal, BigInt, UUID --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", "0"), ("2.50", "2.50"), ("-0.014", "-0.014"), ("1000000", "1000000")],
)
def test_a_decimal_is_the_json_number_grammar_without_exponent(text: str, value: str) -> None:
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["1e3", "1E-2", "+1", "01", ".5", "5.", " 1", "1_000", "NaN", ""])
def test_other_decimal_spellings_are_refused(text: str) -> None:
    with pytest.raises(BadUserInput) as refused:
        parse_decimal(text)
    assert refused.value.message == (
        f"'{text}' is not a decimal number: write digits with an optional '-' and fraction, "
        'e.g. "2.50" (no exponent, spaces or leading zeros).'
    )


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 1.5, True, "1"])
def test_a_big_int_is_a_json_integer_within_64_bits(value: Any) -> None:
    with pytest.raises(BadUserInput):
        parse_big_int(value)
    assert parse_big_int(2**63 - 1) == 2**63 - 1


def test_a_uuid_is_its_canonical_text_form_in_either_case() -> None:
    text = "0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f"
    assert parse_uuid(text.upper()) == UUID(text)
    for other in (text.replace("-", ""), "{" + text + "}", "urn:uuid:" + text):
        with pytest.raises(BadUserInput) as refused:
            parse_uuid(other)
        assert refused.value.message.endswith("write it as 8-4-4-4-12 hexadecimal digits.")
