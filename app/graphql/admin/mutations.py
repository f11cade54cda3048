"""The admin portal's changes (operators only): model aliases, the catalog and FX rates.

Each change is audited by the pricing service and, once committed, reloads this process's
pricing snapshot (`after_commit`), so the very next event ingested here is priced with it;
other processes pick it up through the pricing version within `pricing_refresh_s`. Events
already stored keep their cost: history is never recalculated (CONTRACT §3).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import anyio.to_thread
import strawberry
from sqlmodel import Session

from app.db import as_utc
from app.errors import BadUserInput
from app.graphql.admin.types import CatalogPrice, FxRate, ModelAlias
from app.graphql.context import Info
from app.graphql.permissions import IsSuperuser
from app.graphql.pricing.types import CatalogModel
from app.pricing import fx_rates, service

# Dead letters replayed by one request: each is a queued row held in memory meanwhile.
MAX_REPLAY = 10_000


@strawberry.type
class AdminMutation:
    @strawberry.mutation(
        description=(
            "Operators only: queue the `limit` oldest dead-lettered events again, once their "
            "cause is fixed; returns how many. Each is stored once (one already stored is "
            "skipped); one still refused is parked again. Audited."
        ),
        permission_classes=[IsSuperuser],
    )
    async def replay_dead_letters(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description=f"At most this many (1 to {MAX_REPLAY}).")
        ] = 1000,
    ) -> int:
        context = info.context
        principal = await context.superuser()
        if not 1 <= limit <= MAX_REPLAY:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_REPLAY}.", field="limit")
        runtime = context.runtime
        return await anyio.to_thread.run_sync(
            lambda: runtime.dead_letters.replay(
                runtime.queue.put, actor=principal.actor, limit=limit
            ),
            limiter=context.limiter,
        )

    @strawberry.mutation(
        description=(
            "Operators only: map a (provider, model) string to a catalog key. New events "
            "resolve through it at once; stored events keep their cost (no backfill). "
            "BAD_USER_INPUT when the string is already mapped or the key is unknown."
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
            after_commit=context.runtime.pricing.load,
        )

    @strawberry.mutation(
        description=(
            "Operators only: add a model to the global catalog; its exact (provider, model) "
            "string resolves to it from now on. Price it with `setCatalogPrice` (until then its "
            "events are missing_price). BAD_USER_INPUT for a key or string already known."
        ),
        permission_classes=[IsSuperuser],
    )
    async def create_catalog_model(
        self,
        info: Info,
        provider: Annotated[
            str, strawberry.argument(description="The provider string events send, e.g. 'openai'.")
        ],
        model: Annotated[
            str, strawberry.argument(description="The model string events send, e.g. 'gpt-5.5'.")
        ],
        canonical_model_key: Annotated[
            str | None,
            strawberry.argument(description="The catalog key; default 'provider/model'."),
        ] = None,
    ) -> CatalogModel:
        context = info.context
        principal = await context.superuser()

        def create(session: Session) -> CatalogModel:
            row = service.create_catalog_model(
                session,
                actor=principal.actor,
                provider=provider,
                model=model,
                canonical_key=canonical_model_key,
            )
            return CatalogModel(
                canonical_model_key=row.canonical_key,
                provider=row.provider,
                model=row.model,
                price=None,
                aliases=[],
            )

        return await context.write(create, after_commit=context.runtime.pricing.load)

    @strawberry.mutation(
        description=(
            "Operators only: the global price of a catalog model from `validFrom` on (the same "
            "`validFrom` again corrects that row). Events ingested from now on use it when their "
            "timestamp is at or after `validFrom`; stored events keep their cost. Audited with "
            "the price in force before."
        ),
        permission_classes=[IsSuperuser],
    )
    async def set_catalog_price(
        self,
        info: Info,
        canonical_model_key: Annotated[
            str, strawberry.argument(description="A catalog key, e.g. 'openai/gpt-5.4-mini'.")
        ],
        valid_from: Annotated[
            datetime,
            strawberry.argument(description="In force from this instant on."),
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
    ) -> CatalogPrice:
        context = info.context
        principal = await context.superuser()
        return await context.write(
            lambda session: CatalogPrice.of_view(
                service.set_catalog_price(
                    session,
                    actor=principal.actor,
                    canonical_key=canonical_model_key,
                    valid_from=valid_from,
                    input_per_million_eur=input_per_million_eur,
                    output_per_million_eur=output_per_million_eur,
                    cached_input_per_million_eur=cached_input_per_million_eur,
                )
            ),
            after_commit=context.runtime.pricing.load,
        )

    @strawberry.mutation(
        description=(
            "Operators only: the EUR value of one unit of `currency` from `validFrom` on (the "
            "same `validFrom` again corrects that row). Converts explicit event costs of events "
            "ingested from now on; stored events keep their cost. Audited."
        ),
        permission_classes=[IsSuperuser],
    )
    async def set_fx_rate(
        self,
        info: Info,
        currency: Annotated[
            str, strawberry.argument(description="ISO 4217 code, e.g. 'USD' (not EUR).")
        ],
        valid_from: Annotated[
            datetime,
            strawberry.argument(description="In force from this instant on."),
        ],
        rate_to_eur: Annotated[
            Decimal, strawberry.argument(description='EUR per one unit, e.g. "0.86"; > 0.')
        ],
    ) -> FxRate:
        context = info.context
        principal = await context.superuser()

        def set_rate(session: Session) -> FxRate:
            row = service.set_fx_rate(
                session,
                actor=principal.actor,
                currency=currency,
                valid_from=valid_from,
                rate_to_eur=rate_to_eur,
            )
            # Whether it is the rate in force now depends on the currency's other rows.
            history = fx_rates.list_fx_rates(session, currency=row.currency)
            [view] = [v for v in history if v.valid_from == as_utc(row.valid_from)]
            return FxRate.of_view(view)

        return await context.write(set_rate, after_commit=context.runtime.pricing.load)
