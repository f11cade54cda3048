"""The `events` table and the `ai_usage_events` table derived from it: their names, the insert
form of a queued row (app/event_types.py), and how the typed AI columns are read from an event.

`to_insert_row` presents a queued row as typed Python values for the store (lazily, see
`InsertRow`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any
from uuid import UUID

from app.event_types import QueuedRow, format_timestamp, parse_timestamp

EVENTS_TABLE = "events"


def _cost(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# The columns whose queued JSON form differs from their typed form.
_TYPED: dict[str, Callable[[Any], Any]] = {
    "workspace_id": UUID,
    "app_id": UUID,
    "timestamp": parse_timestamp,
    "received_at": parse_timestamp,
    "estimated_cost_eur": _cost,
}


class InsertRow(Mapping[str, Any]):
    """A queued row seen through typed values, converted when read (`row["timestamp"]` is a
    datetime): what a store sending typed values (the native protocol) needs. A store that
    sends text (chdb's JSONEachRow) sends `.queued` as it is instead, which the queue already
    holds in ClickHouse's input format: no parsing into Python types and back per row."""

    __slots__ = ("queued",)

    def __init__(self, queued: QueuedRow) -> None:
        self.queued = queued

    def __getitem__(self, key: str) -> Any:
        convert = _TYPED.get(key)
        value = self.queued[key]
        return value if convert is None else convert(value)

    def __iter__(self) -> Iterator[str]:
        return iter(self.queued)

    def __len__(self) -> int:
        return len(self.queued)


def to_insert_row(row: QueuedRow) -> InsertRow:
    return InsertRow(row)


def to_queued_row(row: dict[str, Any]) -> QueuedRow:
    """The inverse of `to_insert_row`: typed values back to the queue's JSON form."""
    cost = row["estimated_cost_eur"]
    return {
        **row,
        "workspace_id": str(row["workspace_id"]),
        "app_id": str(row["app_id"]),
        "timestamp": format_timestamp(row["timestamp"]),
        "received_at": format_timestamp(row["received_at"]),
        "estimated_cost_eur": None if cost is None else format(Decimal(cost), "f"),
    }


def row_key(row: QueuedRow) -> tuple[str, str]:
    """Events are unique by (app, event_id)."""
    return row["app_id"], row["event_id"]


AI_USAGE_TABLE = "ai_usage_events"

# How each typed column of `ai_usage_events` is read from an `events` row. Properties were
# normalised at ingest (token counts are integers, `success` a bool), so these extractions are
# exact; absent fields read as '' / 0 and an absent edit_ratio as NULL.
AI_USAGE_EXPRESSIONS: tuple[tuple[str, str], ...] = (
    ("workspace_id", "workspace_id"),
    ("app_id", "app_id"),
    ("event_id", "event_id"),
    ("event", "event"),
    ("timestamp", "timestamp"),
    ("environment", "environment"),
    ("customer_org_id", "customer_org_id"),
    ("user_hash", "user_hash"),
    ("customer_plan", "JSONExtractString(properties, 'customer_plan')"),
    ("feature", "JSONExtractString(properties, 'feature')"),
    ("provider", "JSONExtractString(properties, 'provider')"),
    ("model", "JSONExtractString(properties, 'model')"),
    ("request_type", "JSONExtractString(properties, 'request_type')"),
    ("ai_call_id", "JSONExtractString(properties, 'ai_call_id')"),
    ("workflow_id", "JSONExtractString(properties, 'workflow_id')"),
    ("input_tokens", "JSONExtractUInt(properties, 'input_tokens')"),
    ("output_tokens", "JSONExtractUInt(properties, 'output_tokens')"),
    ("cached_input_tokens", "JSONExtractUInt(properties, 'cached_input_tokens')"),
    ("total_tokens", "JSONExtractUInt(properties, 'total_tokens')"),
    ("latency_ms", "JSONExtractFloat(properties, 'latency_ms')"),
    ("success", "toUInt8(JSONExtractBool(properties, 'success'))"),
    ("error_code", "JSONExtractString(properties, 'error_code')"),
    ("value_signal", "JSONExtractString(properties, 'value_signal')"),
    ("edit_ratio", "JSONExtract(properties, 'edit_ratio', 'Nullable(Float64)')"),
    ("ai_cost_status", "ai_cost_status"),
    ("ai_pricing_source", "ai_pricing_source"),
    ("ai_canonical_model_key", "ai_canonical_model_key"),
    ("estimated_cost_eur", "estimated_cost_eur"),
)
