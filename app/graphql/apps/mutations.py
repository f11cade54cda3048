from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts import service
from app.graphql.apps.types import App, AppWithSecret
from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceAdmin

_AppUuid = Annotated[UUID, strawberry.argument(description="The app's UUID.")]


@strawberry.type
class AppsMutation:
    @strawberry.mutation(
        description=(
            "Create an app (workspace admin). Returns its API secret, shown this once. "
            "LIMIT_REACHED (limit 'apps_max', current, max) when the plan's active apps are "
            "all in use."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def create_app(
        self, info: Info, name: Annotated[str, strawberry.argument(description="Display name.")]
    ) -> AppWithSecret:
        workspace_id = await info.context.workspace_id(admin=True)
        return await info.context.write(
            lambda session: AppWithSecret.with_secret(
                service.create_app(session, workspace_id=workspace_id, name=name)
            )
        )

    @strawberry.mutation(
        description=(
            "Issue a new API secret for an app (workspace admin), shown this once. The previous "
            "secret keeps verifying for the grace period (24 h by default), so that clients "
            "can be redeployed."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def rotate_app_secret(self, info: Info, uuid: _AppUuid) -> AppWithSecret:
        context = info.context
        workspace_id = await context.workspace_id(admin=True)
        grace = timedelta(seconds=context.settings.secret_rotation_grace_s)
        app = await context.write(
            lambda session: AppWithSecret.with_secret(
                service.rotate_app_secret(
                    session, workspace_id=workspace_id, app_uuid=uuid, grace=grace
                )
            )
        )
        # This process verifies with the new secret at once; others notice the version bump.
        context.runtime.apps.invalidate(uuid)
        return app

    @strawberry.mutation(
        description=(
            "Deactivate an app (workspace admin): its events are refused from now on and it "
            "no longer counts against `appsMax`."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def deactivate_app(self, info: Info, uuid: _AppUuid) -> App:
        context = info.context
        workspace_id = await context.workspace_id(admin=True)
        app = await context.write(
            lambda session: App.of(
                service.deactivate_app(session, workspace_id=workspace_id, app_uuid=uuid)
            )
        )
        context.runtime.apps.invalidate(uuid)
        return app
