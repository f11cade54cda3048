from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import strawberry

from app.graphql.node import Node, NodeKey
from app.pricing.service import CatalogEntry, PriceView


def time_key(value: datetime) -> str:
    """A `validFrom` as a part of a node key: UTC, to the microsecond."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@strawberry.type(description="Unit prices in EUR per 1M tokens, in force from `validFrom` on.")
class UnitPrice:
    valid_from: datetime = strawberry.field(description="In force from this instant on (UTC).")
    input_per_million_eur: Decimal = strawberry.field(description="EUR per 1M input tokens.")
    output_per_million_eur: Decimal = strawberry.field(description="EUR per 1M output tokens.")
    cached_input_per_million_eur: Decimal | None = strawberry.field(
        description="EUR per 1M cached input tokens; null: cached tokens cost the input price."
    )

    @classmethod
    def of(cls, view: PriceView) -> UnitPrice:
        return cls(
            valid_from=view.valid_from,
            input_per_million_eur=view.input_per_million_eur,
            output_per_million_eur=view.output_per_million_eur,
            cached_input_per_million_eur=view.cached_input_per_million_eur,
        )


@strawberry.type(description="A (provider, model) string as events send it.")
class ModelString:
    provider: str = strawberry.field(description="e.g. 'azure_openai'.")
    model: str = strawberry.field(description="e.g. 'gpt-4o-2024-08-06'.")


@strawberry.type(
    description=(
        "A model of the global catalog, with its price in force now. Its `id` stands for the "
        "catalog key."
    )
)
class CatalogModel(Node):
    canonical_model_key: str = strawberry.field(
        description="The catalog key, e.g. 'openai/gpt-5.4'."
    )
    provider: str = strawberry.field(description="The provider string that matches exactly.")
    model: str = strawberry.field(description="The model string that matches exactly.")
    price: UnitPrice | None = strawberry.field(
        description="The global price in force now; null when the model has none yet."
    )
    aliases: list[ModelString] = strawberry.field(
        description="Other (provider, model) strings that resolve to this key."
    )

    @classmethod
    def of(cls, entry: CatalogEntry) -> CatalogModel:
        return cls(
            canonical_model_key=entry.canonical_key,
            provider=entry.provider,
            model=entry.model,
            price=UnitPrice.of(entry.price) if entry.price else None,
            aliases=[ModelString(provider=p, model=m) for p, m in entry.aliases],
        )

    def node_key(self) -> NodeKey:
        return (self.canonical_model_key,)


@strawberry.type(
    description=(
        "The workspace's own unit price for a model, used before the global catalog for its "
        "events from `validFrom` on (events already stored keep their cost). Its `id` stands "
        "for the workspace's price of that model key: setCustomerPrice answers the same id "
        "with the new figures."
    )
)
class CustomerPrice(UnitPrice, Node):
    canonical_model_key: str = strawberry.field(
        description="The catalog key or 'local:' model string the price applies to."
    )
    workspace_id: strawberry.Private[UUID]

    @classmethod
    def of_view(cls, view: PriceView, *, workspace_id: UUID) -> CustomerPrice:
        return cls(
            canonical_model_key=view.canonical_key,
            valid_from=view.valid_from,
            input_per_million_eur=view.input_per_million_eur,
            output_per_million_eur=view.output_per_million_eur,
            cached_input_per_million_eur=view.cached_input_per_million_eur,
            workspace_id=workspace_id,
        )

    def node_key(self) -> NodeKey:
        return (str(self.workspace_id), self.canonical_model_key)
