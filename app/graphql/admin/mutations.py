from __future__ import annotations

from typing import Annotated

import strawberry

from app.graphql.admin.types import ModelAlias
from app.graphql.context import Info
from app.graphql.permissions import IsSuperuser
from app.pricing import service


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description=(
            "Operators only: map a (provider, model) string to a catalog key. New events "
            "resolve through it at once; stored events keep their cost (no backfill)."
        ),
        permission_classes=[IsSuperuser],
    )
    async def create_model_alias(
        self,
        info: Info,
        provider: Annotated[str, strawberry.argument(description="The provider string as sent.")],
        model: Annotated[str, strawberry.argument(description="The model string as sent.")],
        canonical_model_key: Annotated[
            str, strawberry.argument(description="The catalog key (or 'local:' model) to map to.")
        ],
    ) -> ModelAlias:
        context = info.context
        principal = await context.superuser()
        return await context.write(
            lambda session: ModelAlias.of(
                service.create_model_alias(
                    session,
                    actor=principal.actor,
                    provider=provider,
                    model=model,
                    canonical_key=canonical_model_key,
                )
            ),
            # Events ingested by this process from now on resolve through the alias at once.
            after_commit=context.runtime.pricing.load,
        )
