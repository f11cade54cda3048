from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.admin.types import UnmappedModel
from app.graphql.context import Info
from app.graphql.permissions import IsSuperuser
from app.pricing.unmapped import MAX_LIMIT, unmapped_models


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description=(
            "Operators only: (provider, model) strings that resolved to unknown_model and are "
            "still unmapped, most frequent first."
        ),
        permission_classes=[IsSuperuser],
    )
    async def unmapped_models(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many, 1 to {MAX_LIMIT}.")
        ] = 100,
    ) -> list[UnmappedModel]:
        context = info.context
        await context.superuser()
        rows = await context.analytics(
            lambda store: unmapped_models(store, context.runtime.pricing.snapshot, limit)
        )
        return [UnmappedModel.of(row) for row in rows]
