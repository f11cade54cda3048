from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts import api_keys
from app.errors import BadUserInput
from app.graphql.api_keys.types import ApiKey, ApiKeyScope, CreatedApiKey
from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceAdmin


def _key_id(value: strawberry.ID) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise BadUserInput("'id' is not the id of an API key.", field="id") from None


@strawberry.type
class ApiKeysMutation:
    @strawberry.mutation(
        description=(
            "Create an API key (workspace admin). Returns the key, shown this once (stored as "
            "a digest). BAD_USER_INPUT for an empty name or an expiry in the past. Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def create_api_key(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="What the key is for.")],
        scope: Annotated[ApiKeyScope, strawberry.argument(description="READ or ADMIN.")],
        expires_at: Annotated[
            datetime | None,
            strawberry.argument(description="It stops working then; omit: it does not expire."),
        ] = None,
    ) -> CreatedApiKey:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        view, key = await context.write(
            lambda session: api_keys.create_api_key(
                session,
                workspace_id=workspace_id,
                name=name,
                scope=scope.scope,
                expires_at=expires_at,
                actor=principal.actor,
                created_by_user_id=principal.user_id,
            )
        )
        return CreatedApiKey(key=key, api_key=ApiKey.of(view))

    @strawberry.mutation(
        description=(
            "Revoke an API key of the workspace (workspace admin): it stops working at once. "
            "Revoking a revoked key changes nothing. NOT_FOUND for another workspace's key. "
            "Audited."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def revoke_api_key(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="Its id.")]
    ) -> ApiKey:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        key_id = _key_id(id)
        view = await context.write(
            lambda session: api_keys.revoke_api_key(
                session, workspace_id=workspace_id, key_id=key_id, actor=principal.actor
            )
        )
        return ApiKey.of(view)
