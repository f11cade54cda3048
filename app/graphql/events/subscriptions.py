"""`liveEvents`: the events of the workspace as the writer stores them, over WebSocket."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from app.events import stream as event_stream
from app.graphql.context import Info
from app.graphql.events.queries import (
    AppUuidArg,
    CustomerArg,
    EnvironmentArg,
    EventNameArg,
    check_workspace_app,
    filter_text,
)
from app.graphql.events.types import Event
from app.graphql.live_socket import close_too_slow
from app.graphql.permissions import IsWorkspaceMember
from app.live import EventMatch, SubscriberTooSlow


@strawberry.type(
    description=(
        "Live data over WebSocket, protocol graphql-transport-ws at /graphql: authenticate "
        'with the connection_init payload {"authorization": "Bearer <token>"} (optionally '
        '"x-workspace-id"), or with the upgrade request\'s Authorization header or session '
        "cookie. Refusals close the connection: 4401 without a valid credential, 4403 for a "
        "credential without a workspace, 4029 when the workspace has too many live "
        "connections, 4008 when the client reads too slowly; more subscriptions on one "
        "connection than allowed get an error with LIMIT_REACHED. Queries and mutations go "
        "over HTTP."
    )
)
class Subscription:
    @strawberry.subscription(
        description=(
            "The workspace's events as they become visible: each event the writer stores "
            "(not what ingest accepted and has yet to store), once, in the order stored, "
            "filtered like `events`. Live delivery is best effort: events stored while the "
            "client reconnects are not sent again — read them from `events`. NOT_FOUND when "
            "`appUuid` is not an app of the workspace."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def live_events(
        self,
        info: Info,
        app_uuid: AppUuidArg = None,
        environment: EnvironmentArg = None,
        event: EventNameArg = None,
        customer_org_id: CustomerArg = None,
    ) -> AsyncGenerator[Event, None]:
        context = info.context
        workspace_id = await context.workspace_id()
        match = EventMatch(
            app_id=app_uuid,
            environment=filter_text("environment", environment),
            event=filter_text("event", event),
            customer_org_id=filter_text("customerOrgId", customer_org_id),
        )
        await check_workspace_app(context, workspace_id, app_uuid)
        live = context.runtime.live
        with live.subscribe(
            workspace_id, match, max_queued=context.settings.live_max_queued_events
        ) as subscription:
            await live.listening(subscription)
            while True:
                try:
                    rows = await subscription.next_rows()
                except SubscriberTooSlow as exc:
                    await close_too_slow(info, exc)
                    return
                for row in rows:
                    yield Event.of(event_stream.from_queued(row))
