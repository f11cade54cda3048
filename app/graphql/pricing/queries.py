from __future__ import annotations

import strawberry

from app.graphql.context import Info
from app.graphql.permissions import IsAuthenticated, IsWorkspaceMember
from app.graphql.pricing.types import CatalogModel, CustomerPrice
from app.pricing import service


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
                CustomerPrice.of_view(view)
                for view in service.list_customer_prices(session, workspace_id=workspace_id)
            ]
        )
