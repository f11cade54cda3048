"""Strict JSON for request bodies: one meaning per body, or InvalidJson.

Python's json module is lenient where ambiguity is dangerous for us: it guesses encodings,
accepts NaN and Infinity, keeps the last of duplicate keys (a signed body could then say two
things to two parsers), and accepts lone surrogate escapes that cannot be stored as UTF-8.
Messages give positions, never the submitted content (it may hold a prompt).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, NoReturn

from app.ingest.errors import InvalidJson

# The C scanner's messages are fixed texts; anything else (the pure-Python fallback quotes the
# offending character) is replaced by a generic message.
_SAFE_DECODER_MESSAGES = frozenset(
    {
        "Expecting value",
        "Expecting ',' delimiter",
        "Expecting ':' delimiter",
        "Expecting property name enclosed in double quotes",
        "Unterminated string starting at",
        "Invalid control character at",
        "Invalid \\escape",
        "Invalid \\uXXXX escape",
        "Extra data",
    }
)


def _reject_constant(_name: str) -> NoReturn:
    raise InvalidJson("NaN, Infinity and -Infinity are not JSON numbers.")


def _unique_keys_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise InvalidJson("An object has the same key twice.")
    return obj


_DECODER = json.JSONDecoder(
    parse_float=Decimal,  # money stays exact; ints stay int (the default)
    parse_constant=_reject_constant,
    object_pairs_hook=_unique_keys_object,
)


# Integers are stored as 64-bit numbers (signed, or unsigned above the signed range).
_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


def _check_tree(value: Any, *, max_depth: int, check_surrogates: bool) -> None:
    """Depth limit, lone surrogates and integers past 64 bits, iteratively (no recursion on
    hostile input).

    Depth counts containers: a scalar body has depth 0, `{"a": 1}` depth 1.
    """
    if check_surrogates and isinstance(value, str):
        _check_string(value)
    if not isinstance(value, dict | list):
        return
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            raise InvalidJson(f"The JSON is nested deeper than {max_depth} levels.")
        children: Iterable[Any] = container
        if isinstance(container, dict):
            if check_surrogates:
                for key in container:
                    _check_string(key)
            children = container.values()
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif check_surrogates and isinstance(child, str):
                _check_string(child)
            elif type(child) is int and not _INT_MIN <= child <= _INT_MAX:
                raise InvalidJson(
                    "An integer is outside the 64-bit range; send such a value as a string."
                )


def _check_string(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("A string holds a lone UTF-16 surrogate escape.") from None


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    """Parse a request body; raise InvalidJson, never anything else.

    Rejects: invalid UTF-8 (and a byte order mark), NaN/Infinity, duplicate keys at any
    level, nesting deeper than `max_depth`, lone surrogate escapes, trailing data. Floats
    come back as Decimal, integers as int.
    """
    try:
        # Strict UTF-8, decoded here: json.loads(bytes) would guess UTF-16/32 from the bytes.
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidJson(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    if text.startswith("\ufeff"):
        raise InvalidJson("The body starts with a byte order mark; send UTF-8 without one.")
    if not text.strip():
        raise InvalidJson("The body is empty.")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        reason = exc.msg if exc.msg in _SAFE_DECODER_MESSAGES else "Invalid JSON"
        raise InvalidJson(f"{reason} (line {exc.lineno}, column {exc.colno}).") from None
    except RecursionError:
        raise InvalidJson(f"The JSON is nested deeper than {max_depth} levels.") from None
    except ValueError:
        # Integers longer than Python's int limit (4300 digits) end up here.
        raise InvalidJson("A number is too long.") from None
    # A lone surrogate can only come from a \uD800-\uDFFF escape (strict UTF-8 decoding
    # refuses encoded ones), so bodies without such an escape skip the string scan.
    check_surrogates = b"\\ud" in raw or b"\\uD" in raw
    _check_tree(value, max_depth=max_depth, check_surrogates=check_surrogates)
    return value
