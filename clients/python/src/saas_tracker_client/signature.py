"""HMAC-SHA256 request signatures (CONTRACT §2): how a client signs a request to /v1/ingest.

The signature covers the exact raw body bytes (never re-serialised JSON), optionally prefixed
with `{x-timestamp}.` for replay protection. The server's verifier (`app.ingest.signature`)
builds its expected digest with `signed_payload` and `hmac_digest` from here, so that clients,
tests, the demo and the server cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "x-signature"
TIMESTAMP_HEADER = "x-timestamp"
APP_UUID_HEADER = "x-app-uuid"


def signed_payload(body: bytes, timestamp: str | None) -> bytes:
    """The bytes the signature covers: `body`, or `{timestamp}.{body}` with a timestamp."""
    if timestamp is None:
        return body
    return timestamp.encode("ascii") + b"." + body


def hmac_digest(secret: str, payload: bytes) -> bytes:
    """The raw HMAC-SHA256 digest of `payload` keyed with `secret` (UTF-8)."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """Lower-case hex HMAC-SHA256 of `body` (of `f"{timestamp}." + body` with a timestamp)."""
    stamp = None if timestamp is None else str(int(timestamp))
    return hmac_digest(secret, signed_payload(body, stamp)).hex()


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


__all__ = [
    "APP_UUID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "hmac_digest",
    "sign",
    "sign_headers",
    "signed_payload",
]
