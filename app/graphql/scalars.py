"""Custom scalars: exact decimals as strings, and counts wider than GraphQL's 32-bit `Int`."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any, NewType
from uuid import UUID

import strawberry
from graphql import IntValueNode, StringValueNode, ValueNode

from app.errors import BadUserInput

# A decimal written by a client has no business being longer: it bounds the parsing work.
_MAX_DECIMAL_LENGTH = 64

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

SCALAR_MAP: dict[object, Any] = {Decimal: DECIMAL, BigInt: BIG_INT, UUID: UUID_SCALAR}
