from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from app.graphql.context import Info
from app.graphql.permissions import IsWorkspaceAdmin
from app.graphql.pricing.types import CustomerPrice
from app.pricing import service


@strawberry.type
class PricingMutation:
    @strawberry.mutation(
        description=(
            "Set the workspace's own unit price for a model (workspace admin), in force from "
            "now on for new events; history is kept. BAD_USER_INPUT for an unknown key or a "
            "negative or malformed amount."
        ),
        permission_classes=[IsWorkspaceAdmin],
    )
    async def set_customer_price(
        self,
        info: Info,
        canonical_model_key: Annotated[
            str,
            strawberry.argument(description="A catalog key, or a 'local:' model string."),
        ],
        input_per_million_eur: Annotated[
            Decimal, strawberry.argument(description="EUR per 1M input tokens.")
        ],
        output_per_million_eur: Annotated[
            Decimal, strawberry.argument(description="EUR per 1M output tokens.")
        ],
        cached_input_per_million_eur: Annotated[
            Decimal | None,
            strawberry.argument(
                description="EUR per 1M cached input tokens; omit: they cost the input price."
            ),
        ] = None,
    ) -> CustomerPrice:
        context = info.context
        principal, workspace_id = await context.workspace_principal(admin=True)
        return await context.write(
            lambda session: CustomerPrice.of_view(
                service.set_customer_price(
                    session,
                    actor=principal.actor,
                    workspace_id=workspace_id,
                    canonical_key=canonical_model_key,
                    input_per_million_eur=input_per_million_eur,
                    output_per_million_eur=output_per_million_eur,
                    cached_input_per_million_eur=cached_input_per_million_eur,
                ),
                workspace_id=workspace_id,
            ),
            # Events ingested by this process from now on use the new price at once.
            after_commit=context.runtime.pricing.load,
        )
