"""Custom scalars: exact decimals as strings, counts wider than GraphQL's 32-bit `Int`, and
date-times within what the analytics store can hold."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NewType
from uuid import UUID

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode

from app.db import as_utc
from app.errors import BadUserInput

# A decimal written by a client has no business being longer: it bounds the parsing work.
_MAX_DECIMAL_LENGTH = 64
# ISO 8601 with nanoseconds and an offset is 35 characters.
_MAX_DATETIME_LENGTH = 64
# The range of ClickHouse's DateTime64, which every date-time argument may end up compared
# with: outside it, a query fails in ClickHouse instead of being refused here.
EARLIEST_DATETIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_DATETIME = datetime(2299, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

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
    text = value.strip()
    if not text or len(text) > _MAX_DECIMAL_LENGTH:
        raise BadUserInput("A decimal amount must be a short decimal number written as a string.")
    try:
        parsed = Decimal(text)
    except InvalidOperation:
        raise BadUserInput(f"'{text}' is not a decimal number.") from None
    if not parsed.is_finite():
        raise BadUserInput("A decimal amount must be a finite number.")
    return parsed


def parse_decimal_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> Decimal:
    if isinstance(node, StringValueNode):
        return parse_decimal(node.value)
    raise BadUserInput('Send decimal amounts as strings, e.g. "2.50".')


def serialize_big_int(value: int) -> int:
    return int(value)


def parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadUserInput("A whole number is expected.")
    return value


def parse_big_int_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> int:
    if isinstance(node, IntValueNode):
        return int(node.value)
    raise BadUserInput("A whole number is expected.")


DECIMAL = strawberry.scalar(
    name="Decimal",
    description=(
        'An exact decimal number written as a string, e.g. "0.014". Money is in EUR. Inputs '
        "must be strings too: numbers are refused so that amounts never pass through binary "
        "floating point."
    ),
    serialize=serialize_decimal,
    parse_value=parse_decimal,
    parse_literal=parse_decimal_literal,
)

BIG_INT = strawberry.scalar(
    name="BigInt",
    description=(
        "A whole number that may exceed GraphQL's 32-bit Int (token counts), sent as a JSON number."
    ),
    serialize=serialize_big_int,
    parse_value=parse_big_int,
    parse_literal=parse_big_int_literal,
)


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 date-time (without offset: UTC) from 1900-01-01 to 2299-12-31, UTC."""
    if not isinstance(value, str):
        raise BadUserInput("A date-time is expected, as an ISO 8601 string.")
    text = value.strip()
    if len(text) > _MAX_DATETIME_LENGTH:
        raise BadUserInput(f"A date-time is at most {_MAX_DATETIME_LENGTH} characters long.")
    try:
        parsed = as_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        raise BadUserInput(f"'{text}' is not an ISO 8601 date-time.") from None
    if not EARLIEST_DATETIME <= parsed <= LATEST_DATETIME:
        raise BadUserInput(
            "A date-time must lie from 1900-01-01T00:00:00Z to 2299-12-31T23:59:59Z."
        )
    return parsed


def parse_datetime_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> datetime:
    if isinstance(node, StringValueNode):
        return parse_datetime(node.value)
    raise BadUserInput("A date-time is expected, as an ISO 8601 string.")


DATETIME = strawberry.scalar(
    name="DateTime",
    description=(
        "A date and time in ISO 8601, e.g. '2026-11-02T09:30:00Z' (without an offset: UTC), "
        "from 1900-01-01 to 2299-12-31."
    ),
    serialize=datetime.isoformat,
    parse_value=parse_datetime,
    parse_literal=parse_datetime_literal,
)


def parse_uuid(value: Any) -> UUID:
    if not isinstance(value, str):
        raise BadUserInput("A UUID is expected, as a string.")
    try:
        return UUID(value)
    except ValueError:
        raise BadUserInput(f"'{value[:64]}' is not a UUID.") from None


def parse_uuid_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> UUID:
    if isinstance(node, StringValueNode):
        return parse_uuid(node.value)
    raise BadUserInput("A UUID is expected, as a string.")


UUID_SCALAR = strawberry.scalar(
    name="UUID",
    description="A UUID in its canonical text form, e.g. '0d7e5a3c-2f1b-4c8d-9e6f-1a2b3c4d5e6f'.",
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
