"""The event stream (`events`, `eventsPage`) and what ingest received (`ingestStatus`).

`events` keeps the contract's shape, a plain list, and gains `after`: pass the last item's
`cursor` to continue. `eventsPage` is the same stream with `nextCursor`/`hasMore` for clients
that page. Both are one ClickHouse statement a page, scoped to the token's workspace.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts.service import get_app
from app.db import as_utc, utcnow
from app.errors import BadUserInput
from app.events import stream as event_stream
from app.graphql.connections import AfterArgument, Connection, first_argument
from app.graphql.context import Context, Info
from app.graphql.events.types import Event, EventPage, IngestStatus, event_cursor, event_position
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.permissions import IsWorkspaceMember
from app.graphql.ranges import retained_optional_range, retention_floor

DEFAULT_LIMIT = 50
MAX_LIMIT = event_stream.MAX_PAGE_SIZE
# Filter values longer than any value ingest stores cannot match: refused, not sent to ClickHouse.
MAX_FILTER_LENGTH = 200
INGEST_STATUS_WINDOW = timedelta(hours=24)
MAX_INGEST_STATUS_WINDOW = timedelta(days=31)

AppUuidArg = Annotated[
    UUID | None,
    strawberry.argument(description="Only this app's events; NOT_FOUND if not the workspace's."),
]
EnvironmentArg = Annotated[
    str | None,
    strawberry.argument(
        description="Only this environment, e.g. 'production' (exact, case-sensitive)."
    ),
]
EventNameArg = Annotated[
    str | None, strawberry.argument(description="Only events of this name (exact).")
]
LimitArg = Annotated[int, strawberry.argument(description=f"Page size, 1 to {MAX_LIMIT}.")]
CustomerArg = Annotated[
    str | None,
    strawberry.argument(description="Only this customer organization's (case-sensitive)."),
]
FromArg = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Events whose timestamp is at or after this."),
]
ToArg = Annotated[
    datetime | None, strawberry.argument(description="Events whose timestamp is before this.")
]
AfterArg = Annotated[
    str | None,
    strawberry.argument(
        description=(
            "Continue after this position: an event's `cursor` or a page's `nextCursor`. "
            "BAD_USER_INPUT if it is not one."
        )
    ),
]


def filter_text(name: str, value: str | None) -> str | None:
    if value is not None and len(value) > MAX_FILTER_LENGTH:
        raise BadUserInput(f"'{name}' is longer than {MAX_FILTER_LENGTH} characters.", field=name)
    return value


async def check_workspace_app(context: Context, workspace_id: UUID, app_uuid: UUID | None) -> None:
    if app_uuid is not None:
        # Another workspace's app is NOT_FOUND, exactly like an app that does not exist.
        await context.read(
            lambda session: get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)
        )


@node_loader(Event, arity=2)
async def load_event(info: Info, key: NodeKey) -> Event | None:
    """An event of the caller's workspace within its retention (as the stream shows it)."""
    context = info.context
    app_uuid, event_id = key_uuid(key[0]), key[1]
    workspace_id = await context.workspace_id()
    not_before = await retention_floor(context, workspace_id)
    stored = await context.analytics(
        event_stream.find_event,
        workspace_id=workspace_id,
        app_id=app_uuid,
        event_id=event_id,
        not_before=not_before,
    )
    return None if stored is None else Event.of(stored)


async def _page(
    info: Info,
    *,
    app_uuid: UUID | None,
    environment: str | None,
    event: str | None,
    customer_org_id: str | None,
    from_: datetime | None,
    to: datetime | None,
    limit: int,
    after: str | None,
    limit_argument: str = "limit",
) -> event_stream.EventPage:
    context = info.context
    workspace_id = await context.workspace_id()
    if not 1 <= limit <= MAX_LIMIT:
        raise BadUserInput(
            f"'{limit_argument}' must be between 1 and {MAX_LIMIT}.", field=limit_argument
        )
    start, end = await retained_optional_range(context, workspace_id, from_, to)
    selection = event_stream.EventFilter(
        workspace_id=workspace_id,
        app_id=app_uuid,
        environment=filter_text("environment", environment),
        event=filter_text("event", event),
        customer_org_id=filter_text("customerOrgId", customer_org_id),
        start=start,
        end=end,
    )
    position = event_position(after) if after is not None else None
    await check_workspace_app(context, workspace_id, app_uuid)
    return await context.analytics(event_stream.list_events, selection, limit=limit, after=position)


@strawberry.type
class EventsQuery:
    @strawberry.field(
        description=(
            "The workspace's event stream, newest first (ties: by event id, then app). Every "
            "filter is optional; the time range is on the event's timestamp, half-open "
            "[from, to). To page, pass the last item's `cursor` as `after`, or use "
            "`eventsPage`. NOT_FOUND when `appUuid` is not an app of the workspace."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def events(
        self,
        info: Info,
        app_uuid: AppUuidArg = None,
        environment: EnvironmentArg = None,
        event: EventNameArg = None,
        limit: LimitArg = DEFAULT_LIMIT,
        customer_org_id: CustomerArg = None,
        from_: FromArg = None,
        to: ToArg = None,
        after: AfterArg = None,
    ) -> list[Event]:
        page = await _page(
            info,
            app_uuid=app_uuid,
            environment=environment,
            event=event,
            customer_org_id=customer_org_id,
            from_=from_,
            to=to,
            limit=limit,
            after=after,
        )
        return [Event.of(stored) for stored in page.events]

    @strawberry.field(
        description=(
            "The event stream as pages: the filters of `events`, plus `nextCursor` and "
            "`hasMore`. Walking the pages lists every matching event exactly once."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def events_page(
        self,
        info: Info,
        app_uuid: AppUuidArg = None,
        environment: EnvironmentArg = None,
        event: EventNameArg = None,
        limit: LimitArg = DEFAULT_LIMIT,
        customer_org_id: CustomerArg = None,
        from_: FromArg = None,
        to: ToArg = None,
        after: AfterArg = None,
    ) -> EventPage:
        page = await _page(
            info,
            app_uuid=app_uuid,
            environment=environment,
            event=event,
            customer_org_id=customer_org_id,
            from_=from_,
            to=to,
            limit=limit,
            after=after,
        )
        items = [Event.of(stored) for stored in page.events]
        next_cursor = event_cursor(page.events[-1].position) if page.has_more else None
        return EventPage(items=items, next_cursor=next_cursor, has_more=page.has_more)

    @strawberry.field(
        description=(
            "The event stream as a cursor connection (newest first): the filters of `events`, "
            "`first` and `after`. Cursors are the stream's own (an event's `cursor`, "
            "`eventsPage.nextCursor`). NOT_FOUND when `appUuid` is not an app of the workspace."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def events_connection(
        self,
        info: Info,
        app_uuid: AppUuidArg = None,
        environment: EnvironmentArg = None,
        event: EventNameArg = None,
        customer_org_id: CustomerArg = None,
        from_: FromArg = None,
        to: ToArg = None,
        first: Annotated[int, first_argument(MAX_LIMIT)] = DEFAULT_LIMIT,
        after: AfterArgument = None,
    ) -> Connection[Event]:
        page = await _page(
            info,
            app_uuid=app_uuid,
            environment=environment,
            event=event,
            customer_org_id=customer_org_id,
            from_=from_,
            to=to,
            limit=first,
            after=after,
            limit_argument="first",
        )
        return Connection.of(
            [Event.of(stored) for stored in page.events],
            lambda node: node.cursor,
            has_next_page=page.has_more,
        )

    @strawberry.field(
        description=(
            "What ingest stored for the workspace in a window of received time (default: the "
            "last 24 hours, at most 31 days): event names and environments for the Event "
            "stream's filters, counts and timestamps per (app, environment, event name). "
            "NOT_FOUND when `appUuid` is not an app of the workspace."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def ingest_status(
        self,
        info: Info,
        app_uuid: AppUuidArg = None,
        received_from: Annotated[
            datetime | None,
            strawberry.argument(description="Window start (default: 24 hours before its end)."),
        ] = None,
        received_to: Annotated[
            datetime | None,
            strawberry.argument(description="Window end, exclusive (default: now)."),
        ] = None,
    ) -> IngestStatus:
        context = info.context
        workspace_id = await context.workspace_id()
        end = as_utc(received_to) if received_to is not None else utcnow()
        start = as_utc(received_from) if received_from is not None else end - INGEST_STATUS_WINDOW
        if start >= end:
            raise BadUserInput("'receivedFrom' must be before 'receivedTo'.", field="receivedFrom")
        if end - start > MAX_INGEST_STATUS_WINDOW:
            raise BadUserInput(
                f"The window may span at most {MAX_INGEST_STATUS_WINDOW.days} days.",
                field="receivedFrom",
            )
        await check_workspace_app(context, workspace_id, app_uuid)
        seen = await context.analytics(
            event_stream.seen_events,
            workspace_id=workspace_id,
            received_from=start,
            received_to=end,
            app_id=app_uuid,
        )
        return IngestStatus.of(seen, received_from=start, received_to=end)
