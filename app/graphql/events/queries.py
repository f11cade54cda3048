from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts.service import get_app
from app.analytics import queries
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.events.types import Event
from app.graphql.permissions import IsWorkspaceMember
from app.graphql.ranges import optional_range

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@strawberry.type
class EventsQuery:
    @strawberry.field(
        description=(
            "The workspace's event stream, newest first. Every filter is optional; the range "
            "is half-open, [from, to). NOT_FOUND when `appUuid` is not an app of the workspace."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def events(
        self,
        info: Info,
        app_uuid: Annotated[
            UUID | None, strawberry.argument(description="Only this app's events.")
        ] = None,
        environment: Annotated[
            str | None, strawberry.argument(description="Only this environment, e.g. 'production'.")
        ] = None,
        event: Annotated[
            str | None, strawberry.argument(description="Only events of this name.")
        ] = None,
        limit: Annotated[
            int, strawberry.argument(description=f"How many events, 1 to {MAX_LIMIT}.")
        ] = DEFAULT_LIMIT,
        customer_org_id: Annotated[
            str | None, strawberry.argument(description="Only this customer organization's.")
        ] = None,
        from_: Annotated[
            datetime | None,
            strawberry.argument(name="from", description="Events at or after this instant."),
        ] = None,
        to: Annotated[
            datetime | None, strawberry.argument(description="Events before this instant.")
        ] = None,
    ) -> list[Event]:
        context = info.context
        workspace_id = await context.workspace_id()
        if not 1 <= limit <= MAX_LIMIT:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_LIMIT}.", field="limit")
        start, end = optional_range(from_, to)
        if app_uuid is not None:
            # Another workspace's app is NOT_FOUND, exactly like an app that does not exist.
            await context.read(
                lambda session: get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)
            )
        stored = await context.analytics(
            queries.list_events,
            workspace_id=workspace_id,
            limit=limit,
            app_id=app_uuid,
            environment=environment,
            event=event,
            customer_org_id=customer_org_id,
            start=start,
            end=end,
        )
        return [Event.of(row) for row in stored]
