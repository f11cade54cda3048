"""The admin portal's reads (operators only): unmapped models, FX rates and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import strawberry

from app.accounts import audit_log
from app.db import as_utc
from app.errors import BadUserInput, NotFound
from app.graphql.admin.types import (
    AuditEntry,
    AuditLogPage,
    CatalogPrice,
    FxRate,
    ModelAlias,
    UnmappedModel,
    audit_cursor,
    audit_position,
)
from app.graphql.connections import AfterArgument, Connection, check_first, first_argument
from app.graphql.context import Info
from app.graphql.node import NodeKey, key_uuid, node_loader
from app.graphql.permissions import IsSuperuser
from app.pricing import fx_rates, service
from app.pricing.unmapped import MAX_LIMIT, unmapped_models


def _key_time(text: str) -> datetime:
    """The `validFrom` part of a key; NotFound (null from `node`) if it is not one."""
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise NotFound("Unknown id.") from None


# The operators' things: FORBIDDEN (null from `node`) for any other credential.


@node_loader(ModelAlias, arity=2)
async def load_model_alias(info: Info, key: NodeKey) -> ModelAlias | None:
    await info.context.superuser()
    row = await info.context.read(
        lambda session: service.model_alias(session, provider=key[0], model=key[1])
    )
    return None if row is None else ModelAlias.of(row)


@node_loader(CatalogPrice, arity=2)
async def load_catalog_price(info: Info, key: NodeKey) -> CatalogPrice | None:
    await info.context.superuser()
    valid_from = _key_time(key[1])
    view = await info.context.read(
        lambda session: service.catalog_price(session, canonical_key=key[0], valid_from=valid_from)
    )
    return None if view is None else CatalogPrice.of_view(view)


@node_loader(FxRate, arity=2)
async def load_fx_rate(info: Info, key: NodeKey) -> FxRate | None:
    await info.context.superuser()
    valid_from = _key_time(key[1])
    view = await info.context.read(
        lambda session: fx_rates.fx_rate(session, currency=key[0], valid_from=valid_from)
    )
    return None if view is None else FxRate.of_view(view)


@node_loader(AuditEntry)
async def load_audit_entry(info: Info, key: NodeKey) -> AuditEntry | None:
    await info.context.superuser()
    entry_id = key_uuid(key[0])
    found = await info.context.read(lambda session: audit_log.audit_entry(session, entry_id))
    return None if found is None else AuditEntry.of(*found)


MAX_AUDIT_PAGE = 200
DEFAULT_AUDIT_PAGE = 50

ActionArgument = Annotated[
    str | None, strawberry.argument(description="Only this action, e.g. 'catalog.set_price'.")
]
WorkspaceIdArgument = Annotated[
    UUID | None, strawberry.argument(description="Only changes of this workspace.")
]


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
            lambda session: fx_rates.list_fx_rates(session, currency=currency)
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
        ] = DEFAULT_AUDIT_PAGE,
        after: Annotated[
            str | None,
            strawberry.argument(description="A `nextCursor` of a previous page."),
        ] = None,
        action: ActionArgument = None,
        workspace_id: WorkspaceIdArgument = None,
    ) -> AuditLogPage:
        if not 1 <= limit <= MAX_AUDIT_PAGE:
            raise BadUserInput(f"'limit' must be between 1 and {MAX_AUDIT_PAGE}.", field="limit")
        position = audit_position(after) if after is not None else None
        page = await info.context.read(
            lambda session: audit_log.list_audit_entries(
                session, limit=limit, after=position, action=action, workspace_id=workspace_id
            )
        )
        return AuditLogPage(
            items=[AuditEntry.of(entry, page.actors.get(entry.actor)) for entry in page.entries],
            next_cursor=audit_cursor(page.entries[-1]) if page.has_more else None,
            has_more=page.has_more,
        )

    @strawberry.field(
        description=(
            "Operators only: the audit log as a cursor connection, newest first: `action`, "
            "`workspaceId`, `first` and `after` (an `auditLog` page's `nextCursor` "
            "continues it too)."
        ),
        permission_classes=[IsSuperuser],
    )
    async def audit_log_connection(
        self,
        info: Info,
        action: ActionArgument = None,
        workspace_id: WorkspaceIdArgument = None,
        first: Annotated[int, first_argument(MAX_AUDIT_PAGE)] = DEFAULT_AUDIT_PAGE,
        after: AfterArgument = None,
    ) -> Connection[AuditEntry]:
        check_first(first, MAX_AUDIT_PAGE)
        position = audit_position(after) if after is not None else None
        page = await info.context.read(
            lambda session: audit_log.list_audit_entries(
                session, limit=first, after=position, action=action, workspace_id=workspace_id
            )
        )
        return Connection.of(
            [AuditEntry.of(entry, page.actors.get(entry.actor)) for entry in page.entries],
            audit_cursor,
            has_next_page=page.has_more,
        )
