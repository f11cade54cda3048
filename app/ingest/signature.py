"""HMAC-SHA256 request signatures (CONTRACT §2), modelled on stripe-python's WebhookSignature.

The signature covers the exact raw body bytes (never re-serialised JSON), optionally prefixed
with `{x-timestamp}.` for replay protection. The signing helpers are the client SDK's
(`saas_tracker_client.signature`, re-exported here) and the verifier builds its expected digest
with them, so that tests, the demo and clients sign exactly the way the server verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Sequence

# The signing side is the client SDK's (one source of truth): re-exported here for tests,
# the bench and the OpenAPI document, which name the headers from this module.
from saas_tracker_client.signature import (
    APP_UUID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    hmac_digest,
    sign,
    sign_headers,
    signed_payload,
)

from app.ingest.errors import InvalidSignature

_PREFIX = "sha256="
_HEX_DIGITS = frozenset("0123456789abcdef")
_DIGEST_HEX_LENGTH = hashlib.sha256().digest_size * 2
# Unix seconds stay below 10**11 until the year 5138: a longer header is garbage, and bounding
# it keeps int() away from huge inputs.
_MAX_TIMESTAMP_DIGITS = 11


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
    payload = signed_payload(body, stamp)
    # Each active secret in turn, compared in constant time on the raw digests; which secret
    # matched is no secret (a rotation has at most two).
    if not any(hmac.compare_digest(hmac_digest(secret, payload), expected) for secret in secrets):
        raise InvalidSignature("The signature does not match the request body.")
    # Written so that a NaN clock fails closed.
    if stamp is not None and not (math.isfinite(now) and abs(now - stamp_value) <= tolerance_s):
        raise InvalidSignature(
            f"The x-timestamp header is more than {tolerance_s} s away from the server's clock."
        )
    return expected


__all__ = [
    "APP_UUID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "sign",
    "sign_headers",
    "verify",
]
