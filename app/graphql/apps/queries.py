from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts.service import get_app, list_apps
from app.graphql.apps.types import App
from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceMember


@strawberry.type
class AppsQuery:
    @strawberry.field(
        description="The workspace's apps, oldest first, deactivated ones included.",
        permission_classes=[IsWorkspaceMember],
    )
    async def apps(self, info: Info) -> list[App]:
        workspace_id = await info.context.workspace_id()
        return await info.context.read(
            lambda session: [App.of(row) for row in list_apps(session, workspace_id)]
        )

    @strawberry.field(
        description="One app of the workspace; NOT_FOUND for an unknown app or another's.",
        permission_classes=[IsWorkspaceMember],
    )
    async def app(
        self, info: Info, uuid: Annotated[UUID, strawberry.argument(description="The app's UUID.")]
    ) -> App:
        workspace_id = await info.context.workspace_id()
        return await info.context.read(
            lambda session: App.of(get_app(session, workspace_id=workspace_id, app_uuid=uuid))
        )
