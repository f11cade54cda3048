from __future__ import annotations

import strawberry

from app.accounts import api_keys
from app.graphql.api_keys.types import ApiKey
from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceMember


@strawberry.type
class ApiKeysQuery:
    @strawberry.field(
        description=(
            "The workspace's API keys, oldest first, revoked and expired ones included (never "
            "the keys themselves). Every credential of the workspace may read it; admins "
            "create and revoke keys."
        ),
        permission_classes=[IsWorkspaceMember],
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        workspace_id = await info.context.workspace_id()
        views = await info.context.read(
            lambda session: api_keys.list_api_keys(session, workspace_id)
        )
        return [ApiKey.of(view) for view in views]
