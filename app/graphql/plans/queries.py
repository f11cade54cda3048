from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts import subscriptions
from app.accounts.service import get_workspace
from app.db import as_utc
from app.errors import BadUserInput
from app.graphql.connections import AfterArgument, Connection, check_first, first_argument
from app.graphql.context import Info
from app.graphql.events.cursor import decode_cursor, encode_cursor
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.permissions import IsAuthenticated, IsSuperuser
from app.graphql.plans.types import PlanDetails, WorkspaceSubscription


@node_loader(WorkspaceSubscription)
async def load_workspace(info: Info, key: NodeKey) -> WorkspaceSubscription:
    """A workspace as operators see it (FORBIDDEN, hence null, for any other credential)."""
    await info.context.superuser()
    workspace_id = key_uuid(key[0])
    summary = await info.context.read(
        lambda session: subscriptions.summarize(session, [get_workspace(session, workspace_id)])[0]
    )
    return WorkspaceSubscription.of(summary)


MAX_WORKSPACES = 500
DEFAULT_WORKSPACES = 100
# Bump the version when the position's encoding changes: old cursors are then refused.
_WORKSPACE_CURSOR = "workspaces.v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

SearchArgument = Annotated[
    str | None,
    strawberry.argument(description="Part of the name (any case), or an exact id."),
]


def workspace_cursor(workspace: WorkspaceSubscription) -> str:
    microseconds = (as_utc(workspace.created_at) - _EPOCH) // _MICROSECOND
    return encode_cursor(_WORKSPACE_CURSOR, microseconds, str(workspace.workspace_id))


def workspace_position(cursor: str) -> subscriptions.WorkspacePosition:
    """The position an `after` cursor names; BAD_USER_INPUT (field `after`) if it is not one."""
    parts = decode_cursor(_WORKSPACE_CURSOR, cursor)
    refused = BadUserInput(
        "'after' is not a cursor of the workspaces: pass a cursor they returned.", field="after"
    )
    if len(parts) != 2 or not isinstance(parts[0], int) or not isinstance(parts[1], str):
        raise refused
    try:
        return subscriptions.WorkspacePosition(_EPOCH + parts[0] * _MICROSECOND, UUID(parts[1]))
    except (ValueError, OverflowError):
        raise refused from None


@strawberry.type
class PlansQuery:
    @strawberry.field(
        description=(
            "Every plan with its price, default limits and features, cheapest first (any "
            "token: the Billing / Plan page and upgrade prompts)."
        ),
        permission_classes=[IsAuthenticated],
    )
    async def plans(self, info: Info) -> list[PlanDetails]:
        rows = await info.context.read(subscriptions.list_plans)
        return [PlanDetails.of(row) for row in rows]

    @strawberry.field(
        description=(
            "Operators only: workspaces with their plan, overrides, effective limits and "
            "usage, oldest first."
        ),
        permission_classes=[IsSuperuser],
    )
    async def workspaces(
        self,
        info: Info,
        search: SearchArgument = None,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many, 1 to {MAX_WORKSPACES}.")
        ] = DEFAULT_WORKSPACES,
        offset: Annotated[int, strawberry.argument(description="Skip this many first.")] = 0,
    ) -> list[WorkspaceSubscription]:
        context = info.context
        await context.superuser()
        if not 1 <= limit <= MAX_WORKSPACES:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_WORKSPACES}.", field="limit")
        if offset < 0:
            raise BadUserInput("'offset' must be 0 or more.", field="offset")
        summaries = await context.read(
            lambda session: subscriptions.summarize(
                session,
                subscriptions.list_workspaces(session, search=search, limit=limit, offset=offset),
            )
        )
        return [WorkspaceSubscription.of(summary) for summary in summaries]

    @strawberry.field(
        description=(
            "Operators only: the workspaces of `workspaces` as a cursor connection, oldest "
            "first: `search`, `first` and `after`."
        ),
        permission_classes=[IsSuperuser],
    )
    async def workspaces_connection(
        self,
        info: Info,
        search: SearchArgument = None,
        first: Annotated[int, first_argument(MAX_WORKSPACES)] = DEFAULT_WORKSPACES,
        after: AfterArgument = None,
    ) -> Connection[WorkspaceSubscription]:
        context = info.context
        await context.superuser()
        check_first(first, MAX_WORKSPACES)
        position = workspace_position(after) if after is not None else None
        summaries = await context.read(
            lambda session: subscriptions.summarize(
                session,
                subscriptions.list_workspaces(
                    session, search=search, limit=first + 1, after=position
                ),
            )
        )
        return Connection.of(
            [WorkspaceSubscription.of(summary) for summary in summaries[:first]],
            workspace_cursor,
            has_next_page=len(summaries) > first,
        )
