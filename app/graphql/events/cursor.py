"""Opaque pagination cursors: a position in a list's total order, base64url-encoded JSON.

A cursor names its kind, so that one list's cursor given to another is refused rather than
misread. Clients must treat cursors as opaque: the encoding may change (the kind then gets a
new version suffix and old cursors are refused with BAD_USER_INPUT, asking to start over).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

from app.errors import BadUserInput

# Positions are a timestamp, an id of at most a few hundred characters and a UUID: a longer
# cursor was not made here, and refusing it early bounds the decoding work.
MAX_CURSOR_LENGTH = 2048


def encode_cursor(kind: str, *parts: Any) -> str:
    raw = orjson.dumps([kind, *parts])
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(kind: str, cursor: str, *, field: str = "after") -> list[Any]:
    """The parts of a cursor of `kind`; BAD_USER_INPUT (with `field`) for anything else."""
    refused = BadUserInput(
        f"'{field}' is not a cursor of this list: pass a cursor this list returned.", field=field
    )
    if not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise refused
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = orjson.loads(raw)
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(decoded, list) or not decoded or decoded[0] != kind:
        raise refused
    return decoded[1:]
