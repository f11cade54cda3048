"""`POST /v1/ingest` (CONTRACT §2).

The order of checks is the contract's: size, app, signature, JSON, schema (a gzip body is
decompressed before its signature is checked: app/ingest/encoding.py); nothing is queued
unless the whole request is valid, and 202 is sent only once the queue holds every event.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any
from uuid import UUID

import anyio.to_thread
import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from app.db import utcnow
from app.errors import QueueUnavailable
from app.event_types import format_timestamp
from app.ingest.encoding import decode_body
from app.ingest.errors import (
    InvalidJson,
    InvalidSignature,
    PayloadTooLarge,
    UnsupportedEncoding,
    ValidationFailed,
)
from app.ingest.event_ids import replayable_event_id
from app.ingest.parts import IngestParts
from app.ingest.rejections import RejectionLog, request_id
from app.ingest.rows import build_row
from app.ingest.signature import verify
from app.ingest.validation import decode_request
from app.metrics import EVENTS_ACCEPTED, EVENTS_REJECTED, INGEST_REQUESTS, UNKNOWN_MODEL_EVENTS
from app.pricing.resolution import CostStatus

log = logging.getLogger(__name__)
_ACCEPTED_REQUESTS = INGEST_REQUESTS.labels("202")  # bound once: labels() locks and hashes


def _invalid_json(exc: InvalidJson) -> JSONResponse:
    return _error(
        400, "validation_error", errors=[{"index": None, "field": None, "message": exc.message}]
    )


class _Refusal(JSONResponse):
    """An error answer, keeping what it says for the rejection log."""

    def __init__(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None):
        super().__init__(payload, status_code=status, headers=headers)
        self.payload = payload


def _error(status: int, error: str, **body: Any) -> JSONResponse:
    INGEST_REQUESTS.labels(str(status)).inc()
    EVENTS_REJECTED.labels(error).inc()
    headers = {"Retry-After": str(body.pop("retry_after"))} if "retry_after" in body else None
    return _Refusal(status, {"error": error, **body}, headers)


_REJECTIONS = RejectionLog()


async def ingest(request: Request) -> Response:
    """The request answered, with its request id (the client's `x-request-id` if plain); a
    refusal is logged once (app/ingest/rejections.py)."""
    answer = await _ingest(request)
    rid = request_id(request.headers.get("x-request-id"))
    answer.headers["x-request-id"] = rid
    if isinstance(answer, _Refusal):
        app = request.headers.get("x-app-uuid", "")[:64]
        _REJECTIONS.rejected(status=answer.status_code, error=answer.payload, app=app, request=rid)
    return answer


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it exceeds `limit` (never buffered past it)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _ingest(request: Request) -> Response:
    runtime: IngestParts = request.app.state.runtime
    settings = runtime.settings
    backlog = runtime.backlog
    if backlog is not None and backlog.full:
        # Refused before any work: the CPU is the writer's, which is behind.
        return _error(
            503,
            "unavailable",
            detail=(
                f"The event queue is full ({backlog.depth:.0f} waiting to be written); nothing "
                "was accepted. Retry later."
            ),
            retry_after=settings.retry_after_s,
        )
    try:
        body = await _read_body(request, settings.max_request_bytes)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return _error(
            413,
            "payload_too_large",
            detail=f"A request may carry at most {settings.max_request_bytes} bytes.",
        )

    try:
        app_uuid = UUID(request.headers.get("x-app-uuid", ""))
    except ValueError:
        return _error(404, "unknown_app", detail="x-app-uuid is missing or not a known app UUID.")
    hit, app = runtime.apps.peek(app_uuid)
    if not hit:
        app = await anyio.to_thread.run_sync(runtime.apps.load, app_uuid)
    if app is None or not app.active:
        return _error(404, "unknown_app", detail="Unknown or inactive app UUID.")

    try:
        body = decode_body(
            body, request.headers.get("content-encoding"), limit=settings.max_request_bytes
        )
    except UnsupportedEncoding as exc:
        return _error(415, "unsupported_content_encoding", detail=exc.message)
    except PayloadTooLarge as exc:
        return _error(413, "payload_too_large", detail=exc.message)
    except InvalidJson as exc:
        return _invalid_json(exc)

    now = utcnow()
    try:
        signature = verify(
            body=body,
            signature=request.headers.get("x-signature"),
            timestamp=request.headers.get("x-timestamp"),
            secrets=app.secrets(now),
            now=now.timestamp(),
            tolerance_s=settings.timestamp_tolerance_s,
        )
    except InvalidSignature as exc:
        return _error(401, "invalid_signature", detail=exc.detail)

    try:
        events = decode_request(
            body,
            now=now,
            max_batch_events=settings.max_batch_events,
            max_event_bytes=settings.max_event_bytes,
            max_depth=settings.max_json_depth,
            new_event_id=partial(replayable_event_id, app.uuid, signature),
        )
    except InvalidJson as exc:
        return _invalid_json(exc)
    except PayloadTooLarge as exc:
        return _error(413, "payload_too_large", detail=exc.message)
    except ValidationFailed as exc:
        return _error(400, "validation_error", errors=exc.errors)

    received_at = format_timestamp(now)
    rows = []
    for event in events:
        resolution = runtime.pricing.resolve(app.workspace_id, event)
        if resolution is not None and resolution.status is CostStatus.unknown_model:
            UNKNOWN_MODEL_EVENTS.inc()
        rows.append(build_row(app, event, resolution, received_at))
    try:
        await runtime.enqueuer.put(rows)
    except QueueUnavailable as exc:
        log.warning("the queue refused events: %s", exc.message)
        return _error(
            503,
            "unavailable",
            detail="The event queue is unavailable; nothing was accepted. Retry later.",
            retry_after=settings.retry_after_s,
        )
    _ACCEPTED_REQUESTS.inc()
    EVENTS_ACCEPTED.inc(len(events))
    return Response(
        orjson.dumps({"accepted": len(events), "event_ids": [e.event_id for e in events]}),
        status_code=202,
        media_type="application/json",
    )
