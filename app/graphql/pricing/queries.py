from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.permissions import IsAuthenticated, IsWorkspaceMember
from app.graphql.pricing.types import CatalogModel, CustomerPrice
from app.pricing import service


@node_loader(CatalogModel)
async def load_catalog_model(info: Info, key: NodeKey) -> CatalogModel | None:
    """A catalog model: any credential may read the catalog."""
    entry = await info.context.read(lambda session: service.catalog_entry(session, key[0]))
    return None if entry is None else CatalogModel.of(entry)


@node_loader(CustomerPrice, arity=2)
async def load_customer_price(info: Info, key: NodeKey) -> CustomerPrice | None:
    """The caller's workspace's own price of a model key, in force now."""
    workspace_id = await info.context.workspace_id()
    if key_uuid(key[0]) != workspace_id:
        return None
    view = await info.context.read(
        lambda session: service.customer_price(
            session, workspace_id=workspace_id, canonical_key=key[1]
        )
    )
    return None if view is None else CustomerPrice.of_view(view, workspace_id=workspace_id)


@strawberry.type
class PricingQuery:
    @strawberry.field(
        description="The global model catalog with the prices in force now, by key.",
        permission_classes=[IsAuthenticated],
    )
    async def model_catalog(self, info: Info) -> list[CatalogModel]:
        return await info.context.read(
            lambda session: [CatalogModel.of(entry) for entry in service.list_catalog(session)]
        )

    @strawberry.field(
        description="The workspace's own unit prices in force now, by model key.",
        permission_classes=[IsWorkspaceMember],
    )
    async def customer_prices(self, info: Info) -> list[CustomerPrice]:
        workspace_id = await info.context.workspace_id()
        return await info.context.read(
            lambda session: [
                CustomerPrice.of_view(view, workspace_id=workspace_id)
                for view in service.list_customer_prices(session, workspace_id=workspace_id)
            ]
        )
