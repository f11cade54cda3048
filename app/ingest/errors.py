"""Expected failures of `POST /v1/ingest`, one class per response of CONTRACT §2.

Every message here is written by us: none quotes a header, a key's value or a byte of the
submitted body, because an event may carry a prompt the integrator should not have sent.
`body()` is the JSON response body the contract fixes; `status` is its HTTP status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from app.errors import SaasTrackerError

# One entry of a 400 response: `index` is the event's position in the request (0 for a single
# event), or None when the error is about the request as a whole; `field` is a dotted path.
FieldError = dict[str, Any]


class IngestError(SaasTrackerError):
    """Root of every expected ingest failure."""

    error: ClassVar[str] = "ingest_error"

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.message}


class InvalidSignature(IngestError):
    """The signature or timestamp header is missing, malformed, stale or wrong (401)."""

    code = "INVALID_SIGNATURE"
    status = 401
    error = "invalid_signature"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ValidationFailed(IngestError):
    """The request breaks the event schema; the whole request is rejected (400)."""

    code = "VALIDATION_ERROR"
    status = 400
    error = "validation_error"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors: list[FieldError] = list(errors)
        count = len(self.errors)
        super().__init__(f"The request has {count} validation error{'s' if count != 1 else ''}.")

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "errors": self.errors}


class InvalidJson(ValidationFailed):
    """The body is not strict JSON (400).

    A subclass of ValidationFailed so that clients see the one 400 shape of the contract
    (`validation_error` with an `errors` list) whatever went wrong.
    """

    def __init__(self, message: str) -> None:
        super().__init__([{"index": None, "field": None, "message": message}])
        self.message = message
        self.args = (message,)

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.message, "errors": self.errors}


class UnsupportedEncoding(IngestError):
    """The body is sent in a `Content-Encoding` the endpoint does not decode (415)."""

    code = "UNSUPPORTED_CONTENT_ENCODING"
    status = 415
    error = "unsupported_content_encoding"


class PayloadTooLarge(IngestError):
    """Too many events in a batch, or an event too large (413).

    `limit` names the limit ("batch_events", "event_bytes"), `maximum` its value and `indexes`
    the offending events (empty when the request as a whole is over).
    """

    code = "PAYLOAD_TOO_LARGE"
    status = 413
    error = "payload_too_large"

    def __init__(
        self, message: str, *, limit: str, maximum: int, indexes: Sequence[int] = ()
    ) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.indexes = list(indexes)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "error": self.error,
            "detail": self.message,
            "limit": self.limit,
            "max": self.maximum,
        }
        if self.indexes:
            body["indexes"] = self.indexes
        return body
