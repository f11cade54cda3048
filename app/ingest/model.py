"""The event model of `POST /v1/ingest`, written once (CONTRACT §2, the seed "Tracking AI usage").

msgspec Structs: the request body is decoded and checked against them in C (types, lengths,
bounds, unknown top-level keys), and the OpenAPI document (app/openapi.py) is generated from
them. What a type cannot say is checked in Python (app/ingest/validation.py): private keys,
`properties.ai` flattening, the AI fields required per event, rules across fields, the
timestamp window, numbers a float cannot store, and the strictness of app/ingest/parsing.py
(duplicate keys, depth, 64-bit integers).

Decoding never reports errors to clients: msgspec stops at the first error and words it its
own way, while the contract lists every error of a request in our words. A body msgspec
refuses is therefore validated again by the reference validator, which reports the errors.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from app.event_types import AI_CALL_COMPLETED, AI_CALL_FAILED, AI_OUTPUT_EVENTS

DEFAULT_ENVIRONMENT = "production"
MAX_NAME_LENGTH = 200
MAX_ENVIRONMENT_LENGTH = 100
MAX_TIMESTAMP_LENGTH = 64
EARLIEST_TIMESTAMP = datetime(2000, 1, 1, tzinfo=UTC)
EARLIEST_EPOCH_MS = int(EARLIEST_TIMESTAMP.timestamp() * 1000)
# Token counts are UInt64 in ClickHouse; Int64's maximum keeps any later arithmetic signed-safe.
MAX_COUNT = 2**63 - 1
# Money is Decimal(38, 12) in ClickHouse and quantized with Decimal's default 28 digits:
# 13 integer digits + 12 decimals fit both (and no AI call costs a trillion).
MAX_MONEY = Decimal(10) ** 12
NON_BLANK = r"\S"  # at least one character that is not white space (as str.strip sees it)
CURRENCY_PATTERN = "^[A-Za-z]{3}$"

REQUIRED_AI_FIELDS: dict[str, tuple[str, ...]] = {
    AI_CALL_COMPLETED: ("feature", "provider", "model"),
    AI_CALL_FAILED: ("feature",),
    **{name: ("feature",) for name in AI_OUTPUT_EVENTS},
}
DEFAULT_SUCCESS = {AI_CALL_COMPLETED: True, AI_CALL_FAILED: False}
DEFAULT_VALUE_SIGNAL = {name: name.removeprefix("ai_output_") for name in AI_OUTPUT_EVENTS}


_MAX_MONEY_FLOAT = float(MAX_MONEY)
# Money is a float here for the check in C (bounds, finite); the amount itself is taken exactly,
# as a Decimal, from the parsed properties (app/ingest/validation.py).
Feature = Annotated[
    str,
    Meta(
        max_length=MAX_NAME_LENGTH,
        description="Stable name of the AI feature, e.g. support_reply_generator.",
    ),
]
Provider = Annotated[
    str, Meta(max_length=MAX_NAME_LENGTH, description="e.g. openai, anthropic, azure_openai.")
]
Model = Annotated[
    str,
    Meta(
        max_length=MAX_NAME_LENGTH,
        description="e.g. gpt-5.4-mini, claude-sonnet-4-6; matched to the catalog or an alias. "
        "`local:…` models are known but unpriced until the workspace sets a price.",
    ),
]
RequestType = Annotated[
    str,
    Meta(
        max_length=100,
        description="generate | summarize | classify | embed | chat | extract | other.",
    ),
]
Status = Annotated[
    str,
    Meta(max_length=100, description="e.g. failed: used with failed calls without token counts."),
]
ErrorCode = Annotated[
    str,
    Meta(
        max_length=100, description="Stable, short error category (not the raw provider message)."
    ),
]
ErrorMessage = Annotated[
    str,
    Meta(max_length=500, description="Short human description; no sensitive provider responses."),
]
WorkflowId = Annotated[
    str,
    Meta(
        max_length=MAX_NAME_LENGTH,
        description="Correlates calls and value signals (e.g. a ticket id).",
    ),
]
AiCallId = Annotated[
    str,
    Meta(
        max_length=MAX_NAME_LENGTH,
        description="Stable id of one AI call; output events name it to be joined to the call.",
    ),
]
ValueSignal = Annotated[
    str,
    Meta(
        max_length=100, description="Defaults to accepted, rejected or edited on the output events."
    ),
]
InputTokens = Annotated[int, Meta(ge=0, le=MAX_COUNT, description="Prompt/input tokens.")]
OutputTokens = Annotated[int, Meta(ge=0, le=MAX_COUNT, description="Completion/output tokens.")]
TotalTokens = Annotated[
    int, Meta(ge=0, le=MAX_COUNT, description="Defaults to input_tokens + output_tokens.")
]
CachedInputTokens = Annotated[
    int, Meta(ge=0, le=MAX_COUNT, description="Cached prompt tokens; at most input_tokens.")
]
EstimatedCostEur = Annotated[
    float,
    Meta(
        ge=0,
        le=_MAX_MONEY_FLOAT,
        description="Explicit cost in EUR (highest priority); 0 is a known zero, omit when "
        "unknown.",
    ),
]
EstimatedCostUsd = Annotated[
    float,
    Meta(
        ge=0,
        le=_MAX_MONEY_FLOAT,
        description="Explicit cost in USD, converted at the FX rate of the event's time.",
    ),
]
CostAmount = Annotated[
    float,
    Meta(ge=0, le=_MAX_MONEY_FLOAT, description="Explicit cost amount; requires cost_currency."),
]
CostCurrency = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=3,
        pattern=CURRENCY_PATTERN,
        description="ISO 4217 code (e.g. EUR, USD) of cost_amount; requires cost_amount.",
    ),
]
LatencyMs = Annotated[float, Meta(ge=0, description="End-to-end latency in milliseconds.")]
Success = Annotated[
    bool, Meta(description="Defaults to true on ai_call_completed, false on ai_call_failed.")
]
EditRatio = Annotated[
    float,
    Meta(
        ge=0, le=1, description="On ai_output_edited: the fraction of the output that was changed."
    ),
]


class AiFields(msgspec.Struct):
    """The AI fields of the seed document's field reference, as `properties.*` (or
    `properties.ai.*`) of an AI event. `null` means not sent. Other keys are custom data."""

    feature: Feature | None = None
    provider: Provider | None = None
    model: Model | None = None
    request_type: RequestType | None = None
    status: Status | None = None
    error_code: ErrorCode | None = None
    error_message: ErrorMessage | None = None
    workflow_id: WorkflowId | None = None
    ai_call_id: AiCallId | None = None
    value_signal: ValueSignal | None = None
    input_tokens: InputTokens | None = None
    output_tokens: OutputTokens | None = None
    total_tokens: TotalTokens | None = None
    cached_input_tokens: CachedInputTokens | None = None
    estimated_cost_eur: EstimatedCostEur | None = None
    estimated_cost_usd: EstimatedCostUsd | None = None
    cost_amount: CostAmount | None = None
    cost_currency: CostCurrency | None = None
    latency_ms: LatencyMs | None = None
    success: Success | None = None
    edit_ratio: EditRatio | None = None


AI_FIELDS: tuple[str, ...] = AiFields.__struct_fields__


def _string_lengths() -> dict[str, int]:
    lengths: dict[str, int] = {}
    info = msgspec.inspect.type_info(AiFields)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        for option in getattr(field.type, "types", ()):
            if isinstance(option, msgspec.inspect.Metadata):
                option = option.type
            if isinstance(option, msgspec.inspect.StrType) and option.pattern is None:
                lengths[field.name] = option.max_length or 0
    return lengths


# The free-text fields and their maximum lengths (for the reference validator), as declared
# above (cost_currency, with its pattern, is checked on its own).
AI_STRING_FIELDS: dict[str, int] = _string_lengths()
COUNT_FIELDS = ("input_tokens", "output_tokens", "total_tokens", "cached_input_tokens")
MONEY_FIELDS = ("estimated_cost_eur", "estimated_cost_usd", "cost_amount")

_EVENT_DESCRIPTION = (
    "The event name. The AI events are ai_call_completed, ai_call_failed, "
    "ai_output_accepted, ai_output_rejected and ai_output_edited."
)
_EVENT_ID_DESCRIPTION = (
    "Client idempotency key: an event_id repeated within an app is stored once, so retries "
    "are safe. Default: a UUID derived from the request's signature and the event's position "
    "in it, so the same signed request sent again is stored once too; two events meant to be "
    "distinct but sent with identical bytes (and x-timestamp) need event_ids of their own."
)
_TIMESTAMP_DESCRIPTION = (
    "ISO 8601 (without offset: UTC) or integral epoch milliseconds; from 2000-01-01 to one "
    "day after the server's clock. Default: time received."
)
PRIVATE_FIELDS = ("prompt", "messages", "completion", "output", "response_text")
_PROPERTIES_DESCRIPTION = (
    "Custom data, free-form on product events; on the AI events see AiProperties. Private "
    "keys are dropped wherever they appear: "
    + ", ".join(PRIVATE_FIELDS)
    + ", their variants holding text, and chat transcripts. Every number, at any depth, must "
    "be one a 64-bit float holds (finite, at most about 1.8e308 in magnitude, and not so "
    "close to 0 that it would become 0 unless written as 0): 400 otherwise."
)

Timestamp = (
    Annotated[str, Meta(max_length=MAX_TIMESTAMP_LENGTH, extra_json_schema={"format": "date-time"})]
    | Annotated[int, Meta(ge=EARLIEST_EPOCH_MS)]
    | None
)


class Event(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One event: an unknown top-level key is a 400, a private one is dropped (not refused)."""

    # UNSET (absent) is told apart from null so that the keys of the object can be counted
    # (app/ingest/validation.py: duplicate keys).
    event: Annotated[
        str,
        Meta(
            min_length=1,
            max_length=MAX_NAME_LENGTH,
            pattern=NON_BLANK,
            description=_EVENT_DESCRIPTION,
        ),
    ]
    event_id: (
        Annotated[
            Annotated[str, Meta(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NON_BLANK)]
            | None,
            Meta(description=_EVENT_ID_DESCRIPTION),
        ]
        | UnsetType
    ) = UNSET
    timestamp: Annotated[Timestamp, Meta(description=_TIMESTAMP_DESCRIPTION)] | UnsetType = UNSET
    environment: (
        Annotated[
            Annotated[str, Meta(min_length=1, max_length=MAX_ENVIRONMENT_LENGTH, pattern=NON_BLANK)]
            | None,
            Meta(
                description="e.g. production or staging.",
                extra_json_schema={"default": DEFAULT_ENVIRONMENT},
            ),
        ]
        | UnsetType
    ) = UNSET
    customer_org_id: (
        Annotated[
            Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] | None,
            Meta(description="Your customer's organization (case-sensitive)."),
        ]
        | UnsetType
    ) = UNSET
    user_hash: (
        Annotated[
            Annotated[str, Meta(max_length=MAX_NAME_LENGTH)] | None,
            Meta(description="A hash of your user's id, never an e-mail address."),
        ]
        | UnsetType
    ) = UNSET
    properties: (
        Annotated[
            dict[str, Any] | None,
            Meta(
                description=_PROPERTIES_DESCRIPTION,
                extra_json_schema={
                    "properties": {
                        "ai": {
                            "type": ["object", "null"],
                            "description": "Fields lifted into properties at ingest, on "
                            "every event.",
                        }
                    }
                },
            ),
        ]
        | UnsetType
    ) = UNSET


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    """Events accepted or rejected together."""

    batch: Annotated[list[Event], Meta(min_length=1)]
