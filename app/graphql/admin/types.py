"""The operators' admin portal types: unmapped models, aliases, catalog prices, FX rates and
the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from app.accounts.audit_log import Actor, AuditPosition
from app.audit import AuditEntry as AuditRow
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.events.cursor import decode_cursor, encode_cursor
from app.graphql.node import Node, NodeKey
from app.graphql.pricing.types import CatalogModel, UnitPrice, time_key
from app.pricing import service
from app.pricing.fx_rates import FxRateView
from app.pricing.models import ModelAlias as ModelAliasRow
from app.pricing.service import PriceView
from app.pricing.unmapped import UnmappedModel as UnmappedRow

_AUDIT_CURSOR = "audit.v1"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def audit_cursor(entry: AuditRow | AuditEntry) -> str:
    # Whole microseconds: both databases keep audit times to the microsecond.
    microseconds = (entry.at - _EPOCH) // _MICROSECOND
    entry_id = entry.entry_id if isinstance(entry, AuditEntry) else entry.id
    return encode_cursor(_AUDIT_CURSOR, microseconds, str(entry_id))


def audit_position(cursor: str) -> AuditPosition:
    """The position an `after` cursor names; BAD_USER_INPUT (field `after`) if it is not one."""
    parts = decode_cursor(_AUDIT_CURSOR, cursor)
    refused = BadUserInput(
        "'after' is not a cursor of the audit log: pass a `nextCursor` it returned.",
        field="after",
    )
    if len(parts) != 2 or not isinstance(parts[0], int) or not isinstance(parts[1], str):
        raise refused
    try:
        return AuditPosition(_EPOCH + parts[0] * _MICROSECOND, UUID(parts[1]))
    except (ValueError, OverflowError):
        raise refused from None


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


async def _catalog_model(info: Info, canonical_key: str) -> CatalogModel | None:
    entry = await info.context.read(lambda session: service.catalog_entry(session, canonical_key))
    return None if entry is None else CatalogModel.of(entry)


_CATALOG_MODEL = (
    "The catalog model it concerns, as `modelCatalog` lists it now (so that a client cache "
    "shows the change there); null for a 'local:' model, which has no catalog entry."
)


@strawberry.type(
    description=(
        "Another (provider, model) string mapped to a catalog key. Its `id` stands for the "
        "(provider, model) string."
    )
)
class ModelAlias(Node):
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

    def node_key(self) -> NodeKey:
        return (self.provider, self.model)

    @strawberry.field(description=_CATALOG_MODEL)
    async def catalog_model(self, info: Info) -> CatalogModel | None:
        return await _catalog_model(info, self.canonical_model_key)


@strawberry.type(
    description=(
        "A global catalog price of a model, in force from `validFrom` until the next one; "
        "events are priced with the one in force at their timestamp, when they are ingested. "
        "Its `id` stands for (catalog key, validFrom)."
    )
)
class CatalogPrice(UnitPrice, Node):
    canonical_model_key: str = strawberry.field(description="The catalog key it prices.")

    def node_key(self) -> NodeKey:
        return (self.canonical_model_key, time_key(self.valid_from))

    @strawberry.field(description=_CATALOG_MODEL)
    async def catalog_model(self, info: Info) -> CatalogModel | None:
        return await _catalog_model(info, self.canonical_model_key)

    @classmethod
    def of_view(cls, view: PriceView) -> CatalogPrice:
        return cls(
            canonical_model_key=view.canonical_key,
            valid_from=view.valid_from,
            input_per_million_eur=view.input_per_million_eur,
            output_per_million_eur=view.output_per_million_eur,
            cached_input_per_million_eur=view.cached_input_per_million_eur,
        )


@strawberry.type(
    description=(
        "The EUR value of one unit of a currency from `validFrom` on: converts explicit event "
        "costs in that currency at the event's time. Its `id` stands for (currency, "
        "validFrom)."
    )
)
class FxRate(Node):
    currency: str = strawberry.field(description="ISO 4217 code, e.g. 'USD'.")
    valid_from: datetime = strawberry.field(description="In force from this instant on (UTC).")
    rate_to_eur: Decimal = strawberry.field(description="EUR per one unit of the currency.")
    in_force: bool = strawberry.field(
        description="Whether this is the currency's rate now (a later row replaces it)."
    )

    @classmethod
    def of_view(cls, view: FxRateView) -> FxRate:
        return cls(
            currency=view.currency,
            valid_from=view.valid_from,
            rate_to_eur=view.rate_to_eur,
            in_force=view.in_force,
        )

    def node_key(self) -> NodeKey:
        return (self.currency, time_key(self.valid_from))


@strawberry.type(
    description=(
        "A change made by an operator or a workspace admin: who, when, what, and the value "
        "before and after."
    )
)
class AuditEntry(Node):
    entry_id: UUID = strawberry.field(
        description="The entry's own id (`id` is its global id, see Node)."
    )
    at: datetime = strawberry.field(description="When the change was made (UTC).")
    actor: str = strawberry.field(
        description=(
            "Who made it: 'token:<token id>' for an API token, 'user:<user id>' for a signed-in "
            "person, 'cli' for the CLI, 'anonymous' for a failed sign-in."
        )
    )
    actor_role: str | None = strawberry.field(
        description="The token's role: superuser, admin or member; null for the CLI."
    )
    actor_email: str | None = strawberry.field(
        description=(
            "The operator's e-mail for a superuser token, the person's for a signed-in person; "
            "null otherwise."
        )
    )
    workspace_id: UUID | None = strawberry.field(
        description="The workspace changed; null for installation-wide changes (catalog, FX)."
    )
    action: str = strawberry.field(
        description="What was done, e.g. 'catalog.set_price', 'pricing.set_fx_rate'."
    )
    before: JSON | None = strawberry.field(
        description="The value before the change; null when there was none."
    )
    after: JSON | None = strawberry.field(description="The value after the change.")

    @classmethod
    def of(cls, row: AuditRow, actor: Actor | None) -> AuditEntry:
        return cls(
            entry_id=row.id,
            at=row.at,
            actor=row.actor,
            actor_role=actor.role.value if actor is not None and actor.role else None,
            actor_email=actor.email if actor is not None else None,
            workspace_id=row.workspace_id,
            action=row.action,
            before=JSON(row.before) if row.before is not None else None,
            after=JSON(row.after) if row.after is not None else None,
        )

    def node_key(self) -> NodeKey:
        return (str(self.entry_id),)


@strawberry.type(description="One page of the audit log, newest first.")
class AuditLogPage:
    items: list[AuditEntry] = strawberry.field(description="The page's entries, newest first.")
    next_cursor: str | None = strawberry.field(
        description="The `after` of the next page; null on the last page."
    )
    has_more: bool = strawberry.field(description="Whether another page follows this one.")
