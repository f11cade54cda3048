from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts.service import get_app, list_apps
from app.graphql.apps.types import App, TrackingSnippet
from app.graphql.context import Info
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.permissions import IsWorkspaceMember
from app.snippets import PRIVACY_NOTE, tracking_snippets


@node_loader(App)
async def load_app(info: Info, key: NodeKey) -> App:
    """An app of the caller's workspace (NOT_FOUND, hence null, for another's)."""
    app_uuid = key_uuid(key[0])
    workspace_id = await info.context.workspace_id()
    return await info.context.read(
        lambda session: App.of(get_app(session, workspace_id=workspace_id, app_uuid=app_uuid))
    )


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

    @strawberry.field(
        description=(
            "Tracking snippets for the app (or a placeholder UUID when none is given), with the "
            "privacy note. NOT_FOUND for another workspace's app."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def tracking_snippet(
        self,
        info: Info,
        app_uuid: Annotated[
            UUID | None, strawberry.argument(description="The app the snippet signs for.")
        ] = None,
    ) -> TrackingSnippet:
        workspace_id = await info.context.workspace_id()
        if app_uuid is not None:
            await info.context.read(
                lambda session: get_app(session, workspace_id=workspace_id, app_uuid=app_uuid)
            )
        snippets = tracking_snippets(
            info.context.settings.public_url, None if app_uuid is None else str(app_uuid)
        )
        return TrackingSnippet(
            python=snippets["python"],
            curl=snippets["curl"],
            javascript=snippets["javascript"],
            privacy_note=PRIVACY_NOTE,
        )
