"""The event stream: a workspace's raw events, newest first, one keyset page per statement; and
what ingest received recently, for the "events not appearing" diagnosis.

IMPORTANT: every statement is scoped with `workspace_id = {workspace_id:UUID}`, bound from the
authenticated principal by the caller, never from user input; filters are bound parameters
and the SQL text only varies with which optional filters are present.

Order: `timestamp DESC, event_id DESC, app_id DESC`. An `event_id` is unique within an app
only, so the app breaks the last tie: the order is total and keyset pagination over it neither
repeats nor skips an event, however many share a millisecond. The filter on the page's
position starts with `timestamp <= …`, which the table's sort key `(workspace_id, timestamp)`
turns into a range read: a deep page costs no more than the first.

All functions block: call them off the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from app.event_types import QueuedRow, parse_timestamp
from app.store.interface import AnalyticsStore

MAX_PAGE_SIZE = 500
# The diagnosis lists (app, environment, event) groups; more than this many distinct groups in
# one window is not a list a person reads: the most recently received are kept.
MAX_SEEN_GROUPS = 1000

_COLUMNS = (
    "app_id, event_id, event, timestamp, received_at, environment, customer_org_id, user_hash,"
    " properties, ai_cost_status, ai_pricing_source, ai_canonical_model_key, estimated_cost_eur"
)
_ORDER = "timestamp DESC, event_id DESC, app_id DESC"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event of the `events` table as the event stream shows it."""

    event_id: str
    event: str
    timestamp: datetime
    received_at: datetime
    app_id: UUID
    environment: str
    customer_org_id: str
    user_hash: str
    properties: dict[str, Any]
    ai_cost_status: str
    ai_pricing_source: str
    ai_canonical_model_key: str
    estimated_cost_eur: Decimal | None

    @property
    def position(self) -> StreamPosition:
        return StreamPosition(self.timestamp, self.event_id, self.app_id)


@dataclass(frozen=True, slots=True)
class StreamPosition:
    """Where an event sits in the stream's order; a page "after" it starts just below it."""

    timestamp: datetime
    event_id: str
    app_id: UUID


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Which events of one workspace the stream shows; `None` filters nothing. `[start, end)`."""

    workspace_id: UUID
    app_id: UUID | None = None
    environment: str | None = None
    event: str | None = None
    customer_org_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def where(self) -> tuple[str, dict[str, Any]]:
        sql = "workspace_id = {workspace_id:UUID}"
        params: dict[str, Any] = {"workspace_id": self.workspace_id}
        optional: list[tuple[str, str, Any]] = [
            ("app_id = {app_id:UUID}", "app_id", self.app_id),
            ("environment = {environment:String}", "environment", self.environment),
            ("event = {event:String}", "event", self.event),
            ("customer_org_id = {customer_org_id:String}", "customer_org_id", self.customer_org_id),
            ("timestamp >= {start:DateTime64(3, 'UTC')}", "start", self.start),
            ("timestamp < {end:DateTime64(3, 'UTC')}", "end", self.end),
        ]
        for clause, name, value in optional:
            if value is not None:
                sql += f" AND {clause}"
                params[name] = value
        return sql, params


@dataclass(frozen=True, slots=True)
class EventPage:
    """Up to `limit` events, and whether the stream goes on after the last of them."""

    events: list[StoredEvent]
    has_more: bool


def list_events(
    store: AnalyticsStore,
    selection: EventFilter,
    *,
    limit: int,
    after: StreamPosition | None = None,
) -> EventPage:
    """One page of the stream, newest first, starting just after `after` (from the newest event
    when None). One statement: it reads one row more than `limit` to learn whether more follow."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    where, params = selection.where()
    if after is not None:
        where += (
            " AND timestamp <= {after_ts:DateTime64(3, 'UTC')}"
            " AND (timestamp < {after_ts:DateTime64(3, 'UTC')}"
            " OR event_id < {after_event_id:String}"
            " OR (event_id = {after_event_id:String} AND app_id < {after_app_id:UUID}))"
        )
        params.update(
            after_ts=after.timestamp, after_event_id=after.event_id, after_app_id=after.app_id
        )
    params["limit"] = limit + 1
    sql = f"SELECT {_COLUMNS} FROM events WHERE {where} ORDER BY {_ORDER} LIMIT {{limit:UInt32}}"
    rows = store.query(sql, params)
    return EventPage([_stored_event(row) for row in rows[:limit]], has_more=len(rows) > limit)


def find_event(
    store: AnalyticsStore,
    *,
    workspace_id: UUID,
    app_id: UUID,
    event_id: str,
    not_before: datetime | None = None,
) -> StoredEvent | None:
    """One event of the workspace by its key (events are unique by app and event id), or None;
    `not_before`: the retention start, before which events are not shown. The event-id bloom
    filter (migration 004) skips the granules that cannot hold it."""
    sql = (
        f"SELECT {_COLUMNS} FROM events WHERE workspace_id = {{workspace_id:UUID}}"
        " AND app_id = {app_id:UUID} AND event_id = {event_id:String}"
    )
    params: dict[str, Any] = {"workspace_id": workspace_id, "app_id": app_id, "event_id": event_id}
    if not_before is not None:
        sql += " AND timestamp >= {not_before:DateTime64(3, 'UTC')}"
        params["not_before"] = not_before
    rows = store.query(sql + " LIMIT 1", params)
    return _stored_event(rows[0]) if rows else None


def _milliseconds(value: datetime) -> datetime:
    # The table's times are DateTime64(3): what a reader of the stream sees.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def from_queued(row: QueuedRow) -> StoredEvent:
    """An event as the writer stored it (its queued form), as the stream will show it."""
    cost = row["estimated_cost_eur"]
    return _stored_event(
        {
            **row,
            "timestamp": _milliseconds(parse_timestamp(row["timestamp"])),
            "received_at": _milliseconds(parse_timestamp(row["received_at"])),
            "estimated_cost_eur": None if cost is None else Decimal(cost),
        }
    )


def _stored_event(row: Mapping[str, Any]) -> StoredEvent:
    properties = orjson.loads(row["properties"]) if row["properties"] else {}
    return StoredEvent(
        event_id=row["event_id"],
        event=row["event"],
        timestamp=row["timestamp"],
        received_at=row["received_at"],
        app_id=UUID(str(row["app_id"])),
        environment=row["environment"],
        customer_org_id=row["customer_org_id"],
        user_hash=row["user_hash"],
        properties=properties if isinstance(properties, dict) else {},
        ai_cost_status=row["ai_cost_status"],
        ai_pricing_source=row["ai_pricing_source"],
        ai_canonical_model_key=row["ai_canonical_model_key"],
        estimated_cost_eur=row["estimated_cost_eur"],
    )


@dataclass(frozen=True, slots=True)
class SeenEvents:
    """Events of one (app, environment, event name) that ingest received in a window."""

    app_id: UUID
    environment: str
    event: str
    count: int
    first_timestamp: datetime
    last_timestamp: datetime
    last_received_at: datetime


def seen_events(
    store: AnalyticsStore,
    *,
    workspace_id: UUID,
    received_from: datetime,
    received_to: datetime,
    app_id: UUID | None = None,
) -> list[SeenEvents]:
    """What ingest stored for the workspace with `received_at` in `[received_from, received_to)`,
    by (app, environment, event name), most recently received first; one statement.

    The window is on `received_at`, not `timestamp`: an event sent with a wrong timestamp (a
    clock off, epoch seconds instead of milliseconds) falls outside the stream's time filter,
    and this is where it shows up, its `timestamp` far from its `received_at`.

    The table is sorted by (workspace_id, timestamp); the window on `received_at` is narrowed
    by a min-max index (migration 010), which skips the granules received outside it.
    """
    sql = """
        SELECT
            app_id,
            environment,
            event,
            count() AS n,
            min(timestamp) AS first_timestamp,
            max(timestamp) AS last_timestamp,
            max(received_at) AS last_received_at
        FROM events
        WHERE workspace_id = {workspace_id:UUID}
          AND received_at >= {received_from:DateTime64(3, 'UTC')}
          AND received_at < {received_to:DateTime64(3, 'UTC')}
    """
    params: dict[str, Any] = {
        "workspace_id": workspace_id,
        "received_from": received_from,
        "received_to": received_to,
        "limit": MAX_SEEN_GROUPS,
    }
    if app_id is not None:
        sql += " AND app_id = {app_id:UUID}"
        params["app_id"] = app_id
    sql += """
        GROUP BY app_id, environment, event
        ORDER BY last_received_at DESC, environment, event, app_id
        LIMIT {limit:UInt32}
    """
    return [
        SeenEvents(
            app_id=UUID(str(row["app_id"])),
            environment=row["environment"],
            event=row["event"],
            count=int(row["n"]),
            first_timestamp=row["first_timestamp"],
            last_timestamp=row["last_timestamp"],
            last_received_at=row["last_received_at"],
        )
        for row in store.query(sql, params)
    ]
