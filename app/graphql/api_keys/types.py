from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from app.accounts.api_keys import ApiKeyView, Scope
from app.graphql.viewer.types import User


@strawberry.enum(description="What an API key may do.")
class ApiKeyScope(Enum):
    READ = strawberry.enum_value(
        "read", description="Every query of its workspace; every mutation is FORBIDDEN."
    )
    ADMIN = strawberry.enum_value(
        "admin", description="Everything a workspace admin may do (apps, prices, members, keys)."
    )

    @property
    def scope(self) -> Scope:
        return Scope.read if self is ApiKeyScope.READ else Scope.admin


@strawberry.type(
    description=(
        "A key an integrator sends as 'Authorization: Bearer <key>'. Only its digest is "
        "stored: the key itself is shown once, by `createApiKey`."
    )
)
class ApiKey:
    id: strawberry.ID = strawberry.field(description="The key's id (not the key).")
    name: str = strawberry.field(description="What it is for, e.g. 'BI export'.")
    scope: ApiKeyScope = strawberry.field(description="READ or ADMIN.")
    created_at: datetime = strawberry.field(description="When it was created (UTC).")
    last_used_at: datetime | None = strawberry.field(
        description="When it last authenticated a request (UTC, to the minute); null: never."
    )
    expires_at: datetime | None = strawberry.field(
        description="It stops working then (UTC); null: it does not expire."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked (UTC); null while it is not."
    )
    created_by: User | None = strawberry.field(
        description="The person who created it; null for keys made by the CLI."
    )

    @classmethod
    def of(cls, view: ApiKeyView) -> ApiKey:
        return cls(
            id=strawberry.ID(str(view.id)),
            name=view.name,
            scope=ApiKeyScope(view.scope.value),
            created_at=view.created_at,
            last_used_at=view.last_used_at,
            expires_at=view.expires_at,
            revoked_at=view.revoked_at,
            created_by=None if view.created_by_email is None else User(email=view.created_by_email),
        )


@strawberry.type(description="A new API key: store `key` now, it is never shown again.")
class CreatedApiKey:
    key: str = strawberry.field(description="The key, shown this once.")
    api_key: ApiKey = strawberry.field(description="The key's description.")
