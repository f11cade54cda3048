"""The admin portal's reads (operators only): unmapped models, FX rates and the audit log."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from app.errors import BadUserInput
from app.graphql.admin import reads
from app.graphql.admin.types import (
    AuditEntry,
    AuditLogPage,
    FxRate,
    UnmappedModel,
    audit_cursor,
    audit_position,
)
from app.graphql.context import Info
from app.graphql.permissions import IsSuperuser
from app.pricing.unmapped import MAX_LIMIT, unmapped_models

MAX_AUDIT_PAGE = 200


@strawberry.type
class AdminQuery:
    @strawberry.field(
        description=(
            "Operators only: (provider, model) strings that resolved to unknown_model and are "
            "still unmapped, most frequent first, with counts, first and last seen and example "
            "apps."
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
        rows = await context.analytics(
            lambda store: unmapped_models(store, context.runtime.pricing.snapshot, limit)
        )
        return [UnmappedModel.of(row) for row in rows]

    @strawberry.field(
        description=(
            "Operators only: the FX rate history, by currency, newest first; `inForce` marks "
            "each currency's rate now."
        ),
        permission_classes=[IsSuperuser],
    )
    async def fx_rates(
        self,
        info: Info,
        currency: Annotated[
            str | None, strawberry.argument(description="Only this ISO 4217 currency code.")
        ] = None,
    ) -> list[FxRate]:
        views = await info.context.read(
            lambda session: reads.list_fx_rates(session, currency=currency)
        )
        return [FxRate.of_view(view) for view in views]

    @strawberry.field(
        description=(
            "Operators only: every audited change (catalog, aliases, FX rates, workspace "
            "prices, plans, …), newest first. Pass `nextCursor` as `after` for the next page."
        ),
        permission_classes=[IsSuperuser],
    )
    async def audit_log(
        self,
        info: Info,
        limit: Annotated[
            int, strawberry.argument(description=f"Page size, 1 to {MAX_AUDIT_PAGE}.")
        ] = 50,
        after: Annotated[
            str | None,
            strawberry.argument(description="A `nextCursor` of a previous page."),
        ] = None,
        action: Annotated[
            str | None,
            strawberry.argument(description="Only this action, e.g. 'catalog.set_price'."),
        ] = None,
        workspace_id: Annotated[
            UUID | None, strawberry.argument(description="Only changes of this workspace.")
        ] = None,
    ) -> AuditLogPage:
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_AUDIT_PAGE}.", field="limit")
        position = audit_position(after) if after is not None else None
        page = await info.context.read(
            lambda session: reads.list_audit_entries(
                session, limit=limit, after=position, action=action, workspace_id=workspace_id
            )
        )
        return AuditLogPage(
            items=[AuditEntry.of(entry, page.actors.get(entry.actor)) for entry in page.entries],
            next_cursor=audit_cursor(page.entries[-1]) if page.has_more else None,
            has_more=page.has_more,
        )
