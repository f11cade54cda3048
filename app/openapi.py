"""The OpenAPI 3.1 document of `POST /v1/ingest` (CONTRACT §2), served at `GET /openapi.json`.

Built once at import: the event schemas are generated from the model the server decodes
requests with (app/ingest/model.py, msgspec), the limits are the defaults of Settings, so
that the document and the server cannot drift. The schemas describe what the server accepts
as precisely as JSON Schema allows; rules across fields that it cannot express (a timestamp
at most one day ahead, `cached_input_tokens` <= `input_tokens`, the byte limits) are stated
in descriptions and answered by the documented 400 and 413.
"""

from __future__ import annotations

from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.event_types import AI_CALL_COMPLETED, AI_CALL_FAILED, AI_EVENTS
from app.ingest.encoding import GZIP
from app.ingest.model import (
    AI_FIELDS,
    EARLIEST_TIMESTAMP,
    PRIVATE_FIELDS,
    REQUIRED_AI_FIELDS,
    AiFields,
    Batch,
    Event,
)
from app.ingest.signature import APP_UUID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from app.settings import Settings

API_VERSION = "1.0.0"


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


MAX_REQUEST_BYTES: int = _default("max_request_bytes")
MAX_EVENT_BYTES: int = _default("max_event_bytes")
MAX_BATCH_EVENTS: int = _default("max_batch_events")
TIMESTAMP_TOLERANCE_S: int = _default("timestamp_tolerance_s")
EARLIEST_EPOCH_MS = int(EARLIEST_TIMESTAMP.timestamp() * 1000)

_NON_BLANK = r"\S"  # at least one character that is not white space
_REF = "#/components/schemas/{name}"

# The schemas of the model (app/ingest/model.py), as msgspec generates them.
_, _MODEL_SCHEMAS = msgspec.json.schema_components([Event, Batch, AiFields], ref_template=_REF)


def _ai_event(*required: str) -> dict[str, Any]:
    """An AI event's properties: the typed AI fields, with `required` directly under
    properties or all under properties.ai (flattened at ingest)."""
    non_blank = {name: {"type": "string", "pattern": _NON_BLANK} for name in required}
    return {
        "required": ["properties"],
        "properties": {
            "properties": {
                "$ref": "#/components/schemas/AiProperties",
                "anyOf": [
                    {"required": list(required), "properties": non_blank},
                    {
                        "required": ["ai"],
                        "properties": {"ai": {"required": list(required), "properties": non_blank}},
                    },
                ],
            }
        },
    }


def _ai_requirements() -> list[dict[str, Any]]:
    """One `if event is …, then …` per set of required AI fields (REQUIRED_AI_FIELDS)."""
    by_fields: dict[tuple[str, ...], list[str]] = {}
    for name in AI_EVENTS:
        by_fields.setdefault(REQUIRED_AI_FIELDS[name], []).append(name)
    return [
        {
            "if": {"properties": {"event": {"enum": names}}, "required": ["event"]},
            "then": _ai_event(*fields),
        }
        for fields, names in by_fields.items()
    ]


AI_FIELDS_SCHEMA: dict[str, Any] = _MODEL_SCHEMAS["AiFields"]
AI_PROPERTIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "The properties of an AI event: the fields of AiFields are checked (the seed "
        "document's field reference); any other key is kept as custom data. "
        "`properties.ai.*` is flattened into `properties.*` (the same key in both places "
        "with different values is a 400). Private keys (`prompt`, `messages`, `completion`, "
        "`output`, `response_text`, compared after Unicode NFKC normalization and case "
        "folding, ignoring separators and format characters) and their variants holding "
        "text (`system_prompt`, `user_prompt`, `prompts`, …; `prompt_tokens` and other "
        "counts are kept), message objects under a `message` key, and chat transcripts "
        "(lists of role/content messages) are dropped wherever they appear and never stored."
    ),
    "allOf": [{"$ref": _REF.format(name="AiFields")}],
    "properties": {
        "ai": {
            "description": "Nested AI fields, flattened into properties at ingest.",
            "anyOf": [{"$ref": _REF.format(name="AiFields")}, {"type": "null"}],
        },
    },
    "dependentRequired": {"cost_amount": ["cost_currency"], "cost_currency": ["cost_amount"]},
    "additionalProperties": True,
}

EVENT_SCHEMA: dict[str, Any] = {
    **_MODEL_SCHEMAS["Event"],
    "description": (
        f"{_MODEL_SCHEMAS['Event']['description']} Its compact JSON, after privacy "
        f"stripping, may take at most {MAX_EVENT_BYTES} bytes (413 beyond)."
    ),
    "allOf": _ai_requirements(),
}

BATCH_SCHEMA: dict[str, Any] = {
    **_MODEL_SCHEMAS["Batch"],
    "description": f"Up to {MAX_BATCH_EVENTS} events, accepted or rejected together.",
}
BATCH_SCHEMA["properties"] = {
    "batch": {**BATCH_SCHEMA["properties"]["batch"], "maxItems": MAX_BATCH_EVENTS}
}
assert set(AI_FIELDS) == set(AI_FIELDS_SCHEMA["properties"])


def _error_schema(error: str, **properties: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", *properties],
        "properties": {"error": {"const": error}, **properties},
    }


_DETAIL = {"type": "string", "description": "What went wrong, in English."}

ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ValidationError": _error_schema(
        "validation_error",
        errors={
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["index", "field", "message"],
                "properties": {
                    "index": {
                        "type": ["integer", "null"],
                        "minimum": 0,
                        "description": "The event's position (0 for a single event); null "
                        "for the request as a whole.",
                    },
                    "field": {
                        "type": ["string", "null"],
                        "description": "Dotted path, e.g. properties.model; never a "
                        "submitted value.",
                    },
                    "message": {"type": "string"},
                },
            },
        },
    ),
    "InvalidSignature": _error_schema("invalid_signature", detail=_DETAIL),
    "UnknownApp": _error_schema("unknown_app", detail=_DETAIL),
    "PayloadTooLarge": _error_schema("payload_too_large", detail=_DETAIL),
    "UnsupportedEncoding": _error_schema("unsupported_content_encoding", detail=_DETAIL),
    "Unavailable": _error_schema("unavailable", detail=_DETAIL),
}

_SEED_USER_HASH = "a1b2c3d4e5f6789012345678901234567890123456789012345678901234abcd"
_EXAMPLE_CALL = {
    "event": AI_CALL_COMPLETED,
    "user_hash": _SEED_USER_HASH,
    "customer_org_id": "acme-corp",
    "properties": {
        "feature": "support_reply_generator",
        "provider": "openai",
        "model": "gpt-5.4-mini",
        "request_type": "generate",
        "input_tokens": 1200,
        "output_tokens": 350,
        "total_tokens": 1550,
        "estimated_cost_eur": 0.014,
        "latency_ms": 1420,
        "success": True,
        "workflow_id": "support-ticket-789",
        "ai_call_id": "call_01HV...",
    },
}
_EXAMPLE_EDITED = {
    "event": "ai_output_edited",
    "user_hash": _SEED_USER_HASH,
    "customer_org_id": "acme-corp",
    "properties": {
        "feature": "support_reply_generator",
        "provider": "openai",
        "model": "gpt-5.4-mini",
        "workflow_id": "support-ticket-789",
        "ai_call_id": "call_01HV...",
        "edit_ratio": 0.12,
    },
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "aiCallCompleted": {"summary": "An AI call with its usage and cost", "value": _EXAMPLE_CALL},
    "aiCallFailed": {
        "summary": "A failed AI call",
        "value": {
            "event": AI_CALL_FAILED,
            "user_hash": _SEED_USER_HASH,
            "customer_org_id": "acme-corp",
            "properties": {
                "feature": "support_reply_generator",
                "provider": "openai",
                "model": "gpt-5.4-mini",
                "latency_ms": 8500,
                "error_code": "rate_limited",
                "workflow_id": "support-ticket-789",
                "ai_call_id": "call_01HV...",
            },
        },
    },
    "batch": {
        "summary": "A call and the edit of its output, in one request",
        "value": {"batch": [_EXAMPLE_CALL, _EXAMPLE_EDITED]},
    },
}


def _json_response(description: str, schema: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
        **extra,
    }


INGEST_DESCRIPTION = f"""\
Send one event, or `{{"batch": [event, …]}}`, signed with the app's API secret.

**Signature.** `x-signature` is the lower-case hex HMAC-SHA256 of the exact raw request body
(before compression, see below), keyed with the app's API secret (a `sha256=` prefix is
accepted). With `x-timestamp` (unix seconds) the HMAC covers `{{timestamp}}.{{raw body}}` and a
timestamp more than {TIMESTAMP_TOLERANCE_S} s away from the server's clock is refused (replay
protection). Build the body once, compute the HMAC over that exact string, send that exact
string: re-serialised JSON (other spacing or key order) does not match. After a secret
rotation the previous secret stays valid for a grace period.

**Compression.** A body may be sent gzipped with `Content-Encoding: {GZIP}`. The signature
is computed over the JSON before compression (the body the server reads once it has
decompressed it), not over the compressed bytes. The request limit applies to the body both
as sent and decompressed (413 beyond); any other `Content-Encoding` is a 415.

**Replays.** The signature identifies a request: an event without `event_id` gets an id
derived from the request's signature and its position in the batch, so the same signed
bytes sent again are answered with the same `event_ids` and stored once. Send `x-timestamp`,
so that a captured request can be replayed for {TIMESTAMP_TOLERANCE_S} s at most, and your own
`event_id`s, so that two distinct events sent with identical bytes stay two events.

**Privacy.** Do not send `{"`, `".join(PRIVATE_FIELDS)}` or chat transcripts: they are
dropped wherever they appear, never stored, logged or queued.

**Limits** (defaults): {MAX_REQUEST_BYTES} bytes a request, {MAX_EVENT_BYTES} bytes an event,
{MAX_BATCH_EVENTS} events a batch. Over the plan's monthly events ingest is not blocked.

**Retries.** 202 is a promise: the events will be stored, each exactly once. Retrying with the
same `event_id`s is always safe (a 503 accepted nothing; a lost 202 is deduplicated), so set
`event_id` on the client before the first attempt. 4xx answers are final.
"""

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "SaaS Tracker ingest API",
        "version": API_VERSION,
        "description": (
            "Signed events in, exact AI costs out. Analytics are served by the GraphQL API "
            "at /graphql."
        ),
    },
    "servers": [{"url": "/"}],
    "paths": {
        "/v1/ingest": {
            "post": {
                "operationId": "ingest",
                "summary": "Ingest signed events",
                "description": INGEST_DESCRIPTION,
                "parameters": [
                    {
                        "name": APP_UUID_HEADER,
                        "in": "header",
                        "required": True,
                        "description": "The app's UUID (404 when unknown or deactivated).",
                        "schema": {"type": "string", "format": "uuid"},
                    },
                    {
                        "name": SIGNATURE_HEADER,
                        "in": "header",
                        "required": True,
                        "description": "Hex HMAC-SHA256 of the raw body (or of "
                        "`{x-timestamp}.{raw body}`), keyed with the app's API secret.",
                        "schema": {"type": "string", "pattern": "^(sha256=)?[0-9a-fA-F]{64}$"},
                    },
                    {
                        "name": TIMESTAMP_HEADER,
                        "in": "header",
                        "required": False,
                        "description": "Unix seconds; when sent, it is signed with the body "
                        f"and must be within {TIMESTAMP_TOLERANCE_S} s of the server's clock.",
                        "schema": {"type": "string", "pattern": "^[0-9]{1,11}$"},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/IngestRequest"},
                            "examples": EXAMPLES,
                        }
                    },
                },
                "responses": {
                    "202": _json_response(
                        "Accepted: queued durably; every event will be stored exactly once.",
                        "Accepted",
                    ),
                    "400": _json_response(
                        "Invalid JSON (or gzip data) or schema: the whole request is rejected, "
                        "nothing is stored. `errors` lists every problem of the request.",
                        "ValidationError",
                    ),
                    "401": _json_response(
                        "Signature missing, malformed or wrong, or timestamp out of tolerance.",
                        "InvalidSignature",
                    ),
                    "404": _json_response("Unknown or inactive app UUID.", "UnknownApp"),
                    "413": _json_response(
                        "The request (as sent or decompressed), an event or the batch is over "
                        "its limit.",
                        "PayloadTooLarge",
                    ),
                    "415": _json_response(
                        "A Content-Encoding other than gzip or identity: nothing is decoded.",
                        "UnsupportedEncoding",
                    ),
                    "503": _json_response(
                        "The queue is unavailable: nothing was accepted. Retry after "
                        "`Retry-After` seconds with the same body.",
                        "Unavailable",
                        headers={
                            "Retry-After": {
                                "required": True,
                                "description": "Seconds to wait before retrying.",
                                "schema": {"type": "integer", "minimum": 0},
                            }
                        },
                    ),
                },
            }
        }
    },
    "components": {
        "schemas": {
            "IngestRequest": {
                "oneOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {"$ref": "#/components/schemas/Batch"},
                ]
            },
            "Event": EVENT_SCHEMA,
            "Batch": BATCH_SCHEMA,
            "AiProperties": AI_PROPERTIES_SCHEMA,
            "AiFields": AI_FIELDS_SCHEMA,
            "Accepted": {
                "type": "object",
                "required": ["accepted", "event_ids"],
                "properties": {
                    "accepted": {"type": "integer", "minimum": 1},
                    "event_ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The events' ids in request order (client-sent or "
                        "server-generated).",
                    },
                },
            },
            **ERROR_SCHEMAS,
        }
    },
}


async def openapi_json(request: Request) -> JSONResponse:
    """`GET /openapi.json`: the document above."""
    return JSONResponse(OPENAPI, headers={"cache-control": "public, max-age=300"})
