from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry

from app.pricing.models import ModelAlias as ModelAliasRow
from app.pricing.unmapped import UnmappedModel as UnmappedRow


@strawberry.type(
    description=(
        "A (provider, model) string whose events resolved to unknown_model, across all "
        "workspaces; map it to the catalog with `createModelAlias` (new events only)."
    )
)
class UnmappedModel:
    provider: str = strawberry.field(description="The provider string as sent.")
    model: str = strawberry.field(description="The model string as sent.")
    count: int = strawberry.field(description="How many events carried it.")
    first_seen: datetime = strawberry.field(description="Its first event (UTC).")
    last_seen: datetime = strawberry.field(description="Its latest event (UTC).")
    example_apps: list[UUID] = strawberry.field(description="A few apps that sent it.")

    @classmethod
    def of(cls, row: UnmappedRow) -> UnmappedModel:
        return cls(
            provider=row.provider,
            model=row.model,
            count=row.count,
            first_seen=row.first_seen,
            last_seen=row.last_seen,
            example_apps=list(row.example_app_ids),
        )


@strawberry.type(description="Another (provider, model) string mapped to a catalog key.")
class ModelAlias:
    provider: str = strawberry.field(description="The provider string events send.")
    model: str = strawberry.field(description="The model string events send.")
    canonical_model_key: str = strawberry.field(description="The catalog key it resolves to.")
    created_at: datetime = strawberry.field(description="When the alias was created (UTC).")

    @classmethod
    def of(cls, row: ModelAliasRow) -> ModelAlias:
        return cls(
            provider=row.provider,
            model=row.model,
            canonical_model_key=row.canonical_key,
            created_at=row.created_at,
        )
