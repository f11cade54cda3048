from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from app.errors import BadUserInput
from app.graphql.connections import AfterArgument, Connection, check_first, first_argument
from app.graphql.context import Context, Info
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.organizations.types import (
    HealthModelConfig,
    Organization,
    OrganizationOrderBy,
    SortDirection,
)
from app.graphql.permissions import IsWorkspaceMember
from app.graphql.ranges import retained_range, retention_floor
from app.organizations import queries, service

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_SEARCH_LENGTH = 200

_RANGE_DESCRIPTION = (
    "Over [from, to) (default: the last 30 days), clamped to the workspace's retention: "
    "older raw data is not shown. "
)
_GATE_DESCRIPTION = (
    "UPGRADE_REQUIRED (feature 'organizations', starter plan or above) otherwise. Scores use "
    "the workspace's health model (see healthModelConfig)."
)

FromArgument = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Start (inclusive); default: `to` - 30 days."),
]
ToArgument = Annotated[
    datetime | None, strawberry.argument(description="End (exclusive); default: now.")
]
EnvironmentArgument = Annotated[
    str | None, strawberry.argument(description="Only this environment; default: all.")
]
SearchArgument = Annotated[
    str | None,
    strawberry.argument(description="Only ids containing this text (case-insensitive match)."),
]
OrderByArgument = Annotated[OrganizationOrderBy, strawberry.argument(description="The sort key.")]
DirectionArgument = Annotated[SortDirection, strawberry.argument(description="The sort direction.")]


def _checked_search(search: str | None) -> str | None:
    if search is not None and len(search) > MAX_SEARCH_LENGTH:
        raise BadUserInput(f"'search' is at most {MAX_SEARCH_LENGTH} characters.", field="search")
    return search or None


async def _page(
    context: Context,
    *,
    workspace_id: UUID,
    start: datetime | None,
    end: datetime | None,
    environment: str | None,
    page: queries.Page,
    search: str | None = None,
    customer_org_id: str | None = None,
) -> list[Organization]:
    view = await context.read(
        lambda session: service.organizations_model(session, workspace_id=workspace_id)
    )
    range_start, range_end = await retained_range(context, workspace_id, start, end)
    scope = queries.OrganizationScope(
        workspace_id=workspace_id,
        start=range_start,
        end=range_end,
        retained_from=await retention_floor(context, workspace_id),
        environment=environment,
        search=search,
        customer_org_id=customer_org_id,
    )
    rows = await context.analytics(
        queries.list_organizations, scope=scope, model=view.scoring_model, page=page
    )
    return [Organization.of(row, view, workspace_id=workspace_id) for row in rows]


async def find_organization(
    context: Context, workspace_id: UUID, customer_org_id: str
) -> Organization | None:
    """The organization over the default range and every environment; None without events."""
    found = await _page(
        context,
        workspace_id=workspace_id,
        start=None,
        end=None,
        environment=None,
        page=queries.Page(limit=1),
        customer_org_id=customer_org_id,
    )
    return found[0] if found else None


@node_loader(Organization, arity=2)
async def load_organization(info: Info, key: NodeKey) -> Organization | None:
    """The organization if it is the caller's workspace's, over the default range."""
    context = info.context
    workspace_id = await context.workspace_id()
    if key_uuid(key[0]) != workspace_id:
        return None
    return await find_organization(context, workspace_id, key[1])


@node_loader(HealthModelConfig)
async def load_health_model_config(info: Info, key: NodeKey) -> HealthModelConfig | None:
    """The caller's workspace's health model (any member may read it)."""
    context = info.context
    workspace_id = await context.workspace_id()
    if key_uuid(key[0]) != workspace_id:
        return None
    view = await context.read(
        lambda session: service.health_model(session, workspace_id=workspace_id)
    )
    return HealthModelConfig.of(view, workspace_id=workspace_id)


@strawberry.type
class OrganizationsQuery:
    @strawberry.field(
        description=(
            "The workspace's customer organizations, built from event data: every "
            "customer_org_id (case-sensitive) with events in the range; events without one "
            "belong to none. " + _RANGE_DESCRIPTION + "One page of at most `limit`, ordered by "
            "`orderBy` then customerOrgId; pass the last item's `cursor` as `after` for the "
            "next page. " + _GATE_DESCRIPTION
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def organizations(
        self,
        info: Info,
        from_: FromArgument = None,
        to: ToArgument = None,
        environment: EnvironmentArgument = None,
        search: SearchArgument = None,
        order_by: OrderByArgument = OrganizationOrderBy.EVENT_COUNT,
        direction: DirectionArgument = SortDirection.DESC,
        limit: Annotated[
            int, strawberry.argument(description=f"Page size, 1 to {MAX_LIMIT}.")
        ] = DEFAULT_LIMIT,
        after: Annotated[
            str | None,
            strawberry.argument(description="The `cursor` of the last organization seen."),
        ] = None,
    ) -> list[Organization]:
        context = info.context
        workspace_id = await context.workspace_id()
        if not 1 <= limit <= MAX_LIMIT:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_LIMIT}.", field="limit")
        search = _checked_search(search)
        page = queries.Page(
            order=queries.OrderField[order_by.name],
            descending=direction is SortDirection.DESC,
            limit=limit,
            after=after,
        )
        return await _page(
            context,
            workspace_id=workspace_id,
            start=from_,
            end=to,
            environment=environment,
            page=page,
            search=search,
        )

    @strawberry.field(
        description=(
            "The organizations of `organizations` as a cursor connection: the same range, "
            "filters and order, `first` and `after` (an organization's `cursor` continues it "
            "too, with the same orderBy and direction). " + _GATE_DESCRIPTION
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def organizations_connection(
        self,
        info: Info,
        from_: FromArgument = None,
        to: ToArgument = None,
        environment: EnvironmentArgument = None,
        search: SearchArgument = None,
        order_by: OrderByArgument = OrganizationOrderBy.EVENT_COUNT,
        direction: DirectionArgument = SortDirection.DESC,
        first: Annotated[int, first_argument(MAX_LIMIT)] = DEFAULT_LIMIT,
        after: AfterArgument = None,
    ) -> Connection[Organization]:
        context = info.context
        workspace_id = await context.workspace_id()
        check_first(first, MAX_LIMIT)
        search = _checked_search(search)
        # One more than the page: whether another follows.
        page = queries.Page(
            order=queries.OrderField[order_by.name],
            descending=direction is SortDirection.DESC,
            limit=first + 1,
            after=after,
        )
        found = await _page(
            context,
            workspace_id=workspace_id,
            start=from_,
            end=to,
            environment=environment,
            page=page,
            search=search,
        )
        return Connection.of(
            found[:first], lambda node: node.cursor, has_next_page=len(found) > first
        )

    @strawberry.field(
        description=(
            "One organization by its exact (case-sensitive) id; null when it has no events "
            "in the range. " + _RANGE_DESCRIPTION + _GATE_DESCRIPTION
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def organization(
        self,
        info: Info,
        customer_org_id: Annotated[
            str, strawberry.argument(description="The id exactly as the events carry it.")
        ],
        from_: FromArgument = None,
        to: ToArgument = None,
        environment: EnvironmentArgument = None,
    ) -> Organization | None:
        context = info.context
        workspace_id = await context.workspace_id()
        found = await _page(
            context,
            workspace_id=workspace_id,
            start=from_,
            end=to,
            environment=environment,
            page=queries.Page(limit=1),
            customer_org_id=customer_org_id,
        )
        return found[0] if found else None

    @strawberry.field(
        description=(
            "The organization health model in force for the workspace (any member may read "
            "it, on every plan; `editable` tells whether the plan allows configuring it)."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def health_model_config(self, info: Info) -> HealthModelConfig:
        context = info.context
        workspace_id = await context.workspace_id()
        view = await context.read(
            lambda session: service.health_model(session, workspace_id=workspace_id)
        )
        return HealthModelConfig.of(view, workspace_id=workspace_id)
