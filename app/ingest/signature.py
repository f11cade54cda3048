"""HMAC-SHA256 request signatures (CONTRACT §2), modelled on stripe-python's WebhookSignature.

The signature covers the exact raw body bytes (never re-serialised JSON), optionally prefixed
with `{x-timestamp}.` for replay protection. The signing helpers live beside the verifier so
that tests, the demo and clients sign exactly the way the server verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence

from app.ingest.errors import InvalidSignature

SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-timestamp"
APP_UUID_HEADER = "x-app-uuid"

_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_HEX_LENGTH = hashlib.sha256().digest_size * 2
# Unix seconds stay below 10**11 until the year 5138: a longer header is garbage, and bounding
# it keeps int() away from huge inputs.
_MAX_TIMESTAMP_DIGITS = 11


def _signed_payload(body: bytes, timestamp: str | None) -> bytes:
    if timestamp is None:
        return body
    return timestamp.encode("ascii") + b"." + body


def _digest(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Lower-case hex HMAC-SHA256 of `body` (of `f"{timestamp}." + body` with a timestamp)."""
    stamp = None if timestamp is None else str(int(timestamp))
    return _digest(secret, _signed_payload(body, stamp)).hex()


def sign_headers(
    secret: str, body: bytes, timestamp: int | None = None, *, app_uuid: str | None = None
) -> dict[str, str]:
    """The headers a client sends with `body`.

    Pure on purpose (no clock read): pass `timestamp=int(time.time())` to get replay
    protection; without it only `x-signature` is produced.
    """
    headers = {SIGNATURE_HEADER: sign(secret, body, timestamp)}
    if timestamp is not None:
        headers[TIMESTAMP_HEADER] = str(int(timestamp))
    if app_uuid is not None:
        headers[APP_UUID_HEADER] = app_uuid
    return headers


def _malformed_signature() -> InvalidSignature:
    return InvalidSignature(
        "The x-signature header is malformed: expected the lower-case hex HMAC-SHA256 "
        f"({_DIGEST_HEX_LENGTH} characters), optionally prefixed with 'sha256='."
    )


def _parse_signature(signature: str | None) -> bytes:
    if not signature:
        raise InvalidSignature("The x-signature header is missing.")
    candidate = signature.strip()
    # Prefix and hex digits are matched case-insensitively: the digest is the same.
    if candidate[: len(_PREFIX)].lower() == _PREFIX:
        candidate = candidate[len(_PREFIX) :]
    # Length and ASCII first: cheap, and they bound the work below (a non-ASCII character
    # such as the Kelvin sign would otherwise lower-case into an ASCII letter).
    if len(candidate) != _DIGEST_HEX_LENGTH or not candidate.isascii():
        raise _malformed_signature()
    candidate = candidate.lower()
    if not _HEX_DIGITS.issuperset(candidate):
        raise _malformed_signature()
    return bytes.fromhex(candidate)


def _parse_timestamp(timestamp: str) -> tuple[str, int]:
    stamp = timestamp.strip()
    # isdigit() alone accepts non-ASCII digits ("١٢"), which the signer cannot have meant.
    if not (0 < len(stamp) <= _MAX_TIMESTAMP_DIGITS and stamp.isascii() and stamp.isdigit()):
        raise InvalidSignature("The x-timestamp header is malformed: expected unix seconds.")
    return stamp, int(stamp)


def verify(
    *,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    secrets: Sequence[str],
    now: float,
    tolerance_s: int,
) -> bytes:
    """Check the signature headers of a request and return the signature (the raw digest);
    raise InvalidSignature, never anything else.

    `secrets` are the app's active secrets (the current one and, during the rotation grace
    period, the previous one): any of them verifies. When `timestamp` (the x-timestamp header)
    is present, the signature must cover `{timestamp}.{body}` and the timestamp must lie
    within `tolerance_s` of `now`. The signature is checked before the clock, so that a
    correctly signed but stale request is told so.

    The digest returned is the same however the header spelled it (case, `sha256=`), so it
    identifies the signed request: a replay of it carries the same one.
    """
    expected = _parse_signature(signature)
    stamp: str | None = None
    stamp_value = 0
    if timestamp is not None:
        stamp, stamp_value = _parse_timestamp(timestamp)
    payload = _signed_payload(body, stamp)
    # Each active secret in turn, compared in constant time on the raw digests; which secret
    # matched is no secret (a rotation has at most two).
    if not any(hmac.compare_digest(_digest(secret, payload), expected) for secret in secrets):
        raise InvalidSignature("The signature does not match the request body.")
    # Written so that a NaN clock fails closed.
    if stamp is not None and not (math.isfinite(now) and abs(now - stamp_value) <= tolerance_s):
        raise InvalidSignature(
            f"The x-timestamp header is more than {tolerance_s} s away from the server's clock."
        )
    return expected
