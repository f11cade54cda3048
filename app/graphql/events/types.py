"""The event stream's types, and the cursor of a position in the stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.errors import BadUserInput
from app.events.stream import SeenEvents, StoredEvent, StreamPosition
from app.graphql.events.cursor import decode_cursor, encode_cursor
from app.graphql.node import Node, NodeKey
from app.graphql.scalars import BigInt

# Bump the version when the position's encoding changes: old cursors are then refused.
_EVENT_CURSOR = "events.v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)
# DateTime64(3)'s range: a position outside it was not made here.
_MIN_MS = (datetime(1900, 1, 1, tzinfo=UTC) - _EPOCH) // _MILLISECOND
_MAX_MS = (datetime(2300, 1, 1, tzinfo=UTC) - _EPOCH) // _MILLISECOND


def event_cursor(position: StreamPosition) -> str:
    # Whole milliseconds: the column is DateTime64(3), so the position round-trips exactly.
    milliseconds = (position.timestamp - _EPOCH) // _MILLISECOND
    return encode_cursor(_EVENT_CURSOR, milliseconds, position.event_id, str(position.app_id))


def event_position(cursor: str) -> StreamPosition:
    """The position an `after` cursor names; BAD_USER_INPUT (field `after`) if it is not one."""
    parts = decode_cursor(_EVENT_CURSOR, cursor)
    refused = BadUserInput(
        "'after' is not a cursor of the event stream: pass an `nextCursor` or `cursor` it "
        "returned.",
        field="after",
    )
    if len(parts) != 3:
        raise refused
    milliseconds, event_id, app_id = parts
    if (
        not isinstance(milliseconds, int)
        or isinstance(milliseconds, bool)
        or not _MIN_MS <= milliseconds <= _MAX_MS
        or not isinstance(event_id, str)
        or not isinstance(app_id, str)
    ):
        raise refused
    try:
        app_uuid = UUID(app_id)
    except ValueError:
        raise refused from None
    return StreamPosition(_EPOCH + milliseconds * _MILLISECOND, event_id, app_uuid)


def _or_none(value: str) -> str | None:
    return value or None


@strawberry.type(
    description=(
        "One stored event, as ingest accepted it: properties flattened (properties.ai.* "
        "lifted) and stripped of prompts and transcripts, AI cost resolved once at ingest. "
        "Its `id` stands for (app, eventId): events are unique by the two."
    )
)
class Event(Node):
    event_id: str = strawberry.field(
        description="The client's idempotency key, or the id ingest gave the event."
    )
    event: str = strawberry.field(description="The event name, e.g. 'ai_call_completed'.")
    timestamp: datetime = strawberry.field(
        description="When it happened (UTC): the event's own timestamp, else when it was received."
    )
    received_at: datetime = strawberry.field(
        description=(
            "When ingest accepted it (UTC). Far from `timestamp`? The client sends a wrong "
            "timestamp, and time-range filters (on `timestamp`) may hide the event."
        )
    )
    app_uuid: UUID = strawberry.field(description="The app that sent it.")
    environment: str = strawberry.field(description="e.g. 'production'.")
    customer_org_id: str | None = strawberry.field(
        description="Your customer's organization id (case-sensitive); null when not sent."
    )
    user_hash: str | None = strawberry.field(
        description="Pseudonymous user id; null when not sent."
    )
    properties: JSON = strawberry.field(
        description="The event's properties after flattening and privacy stripping."
    )
    ai_cost_status: str | None = strawberry.field(
        description=(
            "AI events: explicit_event_cost, calculated, unknown_model, missing_price, "
            "missing_tokens or missing_fx_rate; null for other events and value signals."
        )
    )
    ai_pricing_source: str | None = strawberry.field(
        description=(
            "AI events: event_explicit, customer_override, global_catalog or none; null for "
            "other events."
        )
    )
    ai_canonical_model_key: str | None = strawberry.field(
        description="The catalog key the model resolved to; null when none."
    )
    estimated_cost_eur: Decimal | None = strawberry.field(
        description=(
            "The event's cost in EUR; null when unknown (never 0 for unknown) or not an AI call."
        )
    )
    cursor: str = strawberry.field(
        description=(
            "This event's position in the stream (opaque): pass it as `after` to list the "
            "events that follow it."
        )
    )

    @classmethod
    def of(cls, stored: StoredEvent) -> Event:
        return cls(
            event_id=stored.event_id,
            event=stored.event,
            timestamp=stored.timestamp,
            received_at=stored.received_at,
            app_uuid=stored.app_id,
            environment=stored.environment,
            customer_org_id=_or_none(stored.customer_org_id),
            user_hash=_or_none(stored.user_hash),
            properties=JSON(stored.properties),
            ai_cost_status=_or_none(stored.ai_cost_status),
            ai_pricing_source=_or_none(stored.ai_pricing_source),
            ai_canonical_model_key=_or_none(stored.ai_canonical_model_key),
            estimated_cost_eur=stored.estimated_cost_eur,
            cursor=event_cursor(stored.position),
        )

    def node_key(self) -> NodeKey:
        return (str(self.app_uuid), self.event_id)


@strawberry.type(
    description=(
        "One page of the event stream, newest first. Pass `nextCursor` as `after` for the next "
        "page: each event is listed exactly once across pages, even while new events arrive "
        "(they are newer than the first page; reload from the top to see them)."
    )
)
class EventPage:
    items: list[Event] = strawberry.field(description="The page's events, newest first.")
    next_cursor: str | None = strawberry.field(
        description="The `after` of the next page; null on the last page."
    )
    has_more: bool = strawberry.field(description="Whether another page follows this one.")


@strawberry.type(
    description=(
        "Events of one (app, environment, event name) that ingest stored within the window, "
        "whatever their own timestamps."
    )
)
class SeenEventGroup:
    app_uuid: UUID = strawberry.field(description="The app that sent them.")
    environment: str = strawberry.field(
        description="Their environment: the Event stream's environment filter must match it."
    )
    event: str = strawberry.field(description="Their event name.")
    count: BigInt = strawberry.field(description="How many were stored in the window.")
    first_timestamp: datetime = strawberry.field(
        description="The earliest `timestamp` among them (UTC)."
    )
    last_timestamp: datetime = strawberry.field(
        description="The latest `timestamp` among them (UTC)."
    )
    last_received_at: datetime = strawberry.field(
        description="When ingest stored the latest of them (UTC)."
    )

    @classmethod
    def of(cls, seen: SeenEvents) -> SeenEventGroup:
        return cls(
            app_uuid=seen.app_id,
            environment=seen.environment,
            event=seen.event,
            count=BigInt(seen.count),
            first_timestamp=seen.first_timestamp,
            last_timestamp=seen.last_timestamp,
            last_received_at=seen.last_received_at,
        )


@strawberry.type(
    description=(
        "What ingest stored for the workspace recently, by received time: the event names and "
        "environments for the Event stream's filters, and the facts that explain \"events not "
        'appearing" (nothing received: check the URL, app UUID and signature; another '
        "environment; timestamps outside the filtered range)."
    )
)
class IngestStatus:
    received_from: datetime = strawberry.field(description="The window's start (UTC).")
    received_to: datetime = strawberry.field(description="The window's end, exclusive (UTC).")
    events_received: BigInt = strawberry.field(
        description="How many events were stored in the window."
    )
    last_received_at: datetime | None = strawberry.field(
        description="When the latest event was stored (UTC); null when none in the window."
    )
    environments: list[str] = strawberry.field(
        description="The environments seen in the window, sorted."
    )
    event_names: list[str] = strawberry.field(
        description="The event names seen in the window, sorted."
    )
    groups: list[SeenEventGroup] = strawberry.field(
        description=(
            "By (app, environment, event name), most recently received first (at most 1000)."
        )
    )

    @classmethod
    def of(
        cls, seen: list[SeenEvents], *, received_from: datetime, received_to: datetime
    ) -> IngestStatus:
        return cls(
            received_from=received_from,
            received_to=received_to,
            events_received=BigInt(sum(group.count for group in seen)),
            last_received_at=max((group.last_received_at for group in seen), default=None),
            environments=sorted({group.environment for group in seen}),
            event_names=sorted({group.event for group in seen}),
            groups=[SeenEventGroup.of(group) for group in seen],
        )
