"""Custom scalars: exact decimals as strings, counts wider than GraphQL's 32-bit `Int`,
RFC 3339 date-times within what the analytics store can hold, and UUIDs.

Each names the specification of its text form with `@specifiedBy`, and its description says
exactly what is sent and what is accepted: a client in any language can format and parse them
without reading this code.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, NewType
from uuid import UUID

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode

from app.db import as_utc
from app.errors import BadUserInput

# The JSON number grammar (RFC 8259 §6), which Decimal and BigInt follow.
JSON_NUMBER_SPEC = "https://www.rfc-editor.org/rfc/rfc8259#section-6"
# RFC 3339's `date-time` production.
DATETIME_SPEC = "https://www.rfc-editor.org/rfc/rfc3339#section-5.6"
UUID_SPEC = "https://www.rfc-editor.org/rfc/rfc9562#section-4"

# A decimal written by a client has no business being longer: it bounds the parsing work.
_MAX_DECIMAL_LENGTH = 64
# RFC 3339 with nanoseconds and an offset is 35 characters.
_MAX_DATETIME_LENGTH = 64
# The range of ClickHouse's DateTime64, which every date-time argument may end up compared
# with: outside it, a query fails in ClickHouse instead of being refused here.
EARLIEST_DATETIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(2299, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
# BigInt inputs: the signed 64-bit range of the columns they are compared with.
BIG_INT_MIN = -(2**63)
BIG_INT_MAX = 2**63 - 1

# RFC 8259's number without exponent: no leading zeros, no '+', no bare '.5' or '5.'.
_DECIMAL = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?")
# RFC 3339 §5.6 `date-time` ("T" and "Z" may be lower-case, §5.6 note).
_DATETIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<offset_hour>[0-9]{2}):(?P<offset_minute>[0-9]{2}))"
)
# The canonical 8-4-4-4-12 hexadecimal form (RFC 9562 §4), either case.
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

BigInt = NewType("BigInt", int)


def serialize_decimal(value: Decimal) -> str:
    """Plain notation without trailing zeros: Decimal("0.014000000000") is "0.014"."""
    if not isinstance(value, Decimal):
        raise TypeError(f"Decimal expected, got {type(value).__name__}")
    return format(value.normalize(), "f")


def parse_decimal(value: Any) -> Decimal:
    # Numbers are refused, not converted: a JSON number may already have passed through a
    # binary float on its way here, and money must not.
    if not isinstance(value, str):
        raise BadUserInput('Send decimal amounts as strings, e.g. "2.50".')
    if len(value) > _MAX_DECIMAL_LENGTH:
        raise BadUserInput(f"A decimal amount is at most {_MAX_DECIMAL_LENGTH} characters long.")
    if _DECIMAL.fullmatch(value) is None:
        raise BadUserInput(
            f"'{value}' is not a decimal number: write digits with an optional '-' and "
            'fraction, e.g. "2.50" (no exponent, spaces or leading zeros).'
        )
    return Decimal(value)


def parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    if isinstance(node, StringValueNode):
        return parse_decimal(node.value)
    raise BadUserInput('Send decimal amounts as strings, e.g. "2.50".')


def serialize_big_int(value: int) -> int:
    return int(value)


def parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUserInput("A whole number is expected, as a JSON number.")
    if not BIG_INT_MIN <= value <= BIG_INT_MAX:
        raise BadUserInput("A whole number must lie within the signed 64-bit range.")
    return value


def parse_big_int_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int:
    if isinstance(node, IntValueNode):
        return parse_big_int(int(node.value))
    raise BadUserInput("A whole number is expected, as a JSON number.")


DECIMAL = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number written as a JSON string, e.g. "0.014" or "-2.5": the JSON '
        "number grammar without exponent (an optional '-', digits without leading zeros, an "
        "optional '.' and digits). Money is in EUR. Sent without trailing zeros; inputs must "
        "be strings of at most 64 characters too: numbers are refused so that amounts never "
        "pass through binary floating point."
    ),
    specified_by_url=JSON_NUMBER_SPEC,
    serialize=serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)

BIG_INT = strawberry.scalar(
    name="BigInt",
    description=(
        "A whole number that may exceed GraphQL's 32-bit Int (token counts), sent as a JSON "
        "number without fraction or exponent. Inputs lie within the signed 64-bit range; "
        "JavaScript's JSON.parse reads values above 2^53 - 1 inexactly."
    ),
    specified_by_url=JSON_NUMBER_SPEC,
    serialize=serialize_big_int,
    parse_value=parse_big_int,
    parse_literal=parse_big_int_literal,
)


def serialize_datetime(value: datetime) -> str:
    """RFC 3339 in UTC with exactly three fraction digits, as JavaScript's `toISOString()`:
    '2026-11-02T09:30:00.000Z'. Milliseconds, because the analytics store keeps every event
    time to the millisecond (DateTime64(3)): finer digits would claim a precision no event
    has, whole seconds would lose what it has. Truncated, never rounded up into the next
    millisecond. A naive value is UTC (SQLite hands them back)."""
    utc = as_utc(value)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


def parse_datetime(value: Any) -> datetime:
    """An RFC 3339 date-time (offset required) from 1900-01-01 to 2299-12-31, in UTC, cut to
    the millisecond like every date-time the API sends (so that one read and sent back
    compares equal)."""
    if not isinstance(value, str):
        raise BadUserInput("A date-time is expected, as an RFC 3339 string.")
    if len(value) > _MAX_DATETIME_LENGTH:
        raise BadUserInput(f"A date-time is at most {_MAX_DATETIME_LENGTH} characters long.")
    match = _DATETIME.fullmatch(value)
    if match is None:
        raise BadUserInput(
            f"'{value}' is not an RFC 3339 date-time: write e.g. '2026-11-02T09:30:00Z' or "
            "'2026-11-02T10:30:00.250+01:00' (the offset is required)."
        )
    part = match.group
    if part("utc"):
        zone = UTC
    else:
        hours, minutes = int(part("offset_hour")), int(part("offset_minute"))
        if hours > 23 or minutes > 59:
            raise BadUserInput(f"'{value}' has no valid offset: from -23:59 to +23:59.")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if part("sign") == "-" else offset)
    milliseconds = int((part("fraction") or "0")[:3].ljust(3, "0"))
    try:
        written = datetime(
            int(part("year")),
            int(part("month")),
            int(part("day")),
            int(part("hour")),
            int(part("minute")),
            int(part("second")),
            milliseconds * 1000,
            tzinfo=zone,
        )
    except ValueError:  # day 31 of April, hour 24, a leap second, year 0
        raise BadUserInput(f"'{value}' is not a valid date and time.") from None
    try:
        parsed = written.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted out of Python's range
        parsed = None
    if parsed is None or not EARLIEST_DATETIME <= parsed <= LATEST_DATETIME:
        raise BadUserInput(
            "A date-time must lie from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59Z."
        )
    return parsed


def parse_datetime_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> datetime:
    if isinstance(node, StringValueNode):
        return parse_datetime(node.value)
    raise BadUserInput("A date-time is expected, as an RFC 3339 string.")


DATETIME = strawberry.scalar(
    name="DateTime",
    description=(
        "An instant as an RFC 3339 date-time string. Sent in UTC with millisecond precision, "
        "exactly as JavaScript's Date.toISOString() writes it: '2026-11-02T09:30:00.000Z'. "
        "Accepted with 'Z' or a numeric offset (required), any number of fraction digits "
        "(cut to the millisecond), from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59.999Z: "
        "'2026-11-02T09:30:00Z', '2026-11-02T10:30:00.250+01:00'."
    ),
    specified_by_url=DATETIME_SPEC,
    serialize=serialize_datetime,
    parse_value=parse_datetime,
    parse_literal=parse_datetime_literal,
)


def parse_uuid(value: Any) -> UUID:
    if not isinstance(value, str):
        raise BadUserInput("A UUID is expected, as a string.")
    if _UUID.fullmatch(value) is None:
        raise BadUserInput(
            f"'{value[:64]}' is not a UUID: write it as 8-4-4-4-12 hexadecimal digits."
        )
    return UUID(value)


def parse_uuid_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> UUID:
    if isinstance(node, StringValueNode):
        return parse_uuid(node.value)
    raise BadUserInput("A UUID is expected, as a string.")


UUID_SCALAR = strawberry.scalar(
    name="UUID",
    description=(
        "A UUID in its canonical text form: 32 hexadecimal digits in groups of 8-4-4-4-12 "
        "separated by hyphens, e.g. '0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f'. Sent in lower "
        "case; accepted in either case."
    ),
    specified_by_url=UUID_SPEC,
    serialize=str,
    parse_value=parse_uuid,
    parse_literal=parse_uuid_literal,
)

SCALAR_MAP: dict[object, Any] = {
    Decimal: DECIMAL,
    BigInt: BIG_INT,
    UUID: UUID_SCALAR,
    datetime: DATETIME,
}
