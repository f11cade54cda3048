"""The root schema, composed from the feature Query and Mutation classes (as pycon's)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from app.graphql.admin.mutations import AdminMutation
from app.graphql.admin.queries import AdminQuery
from app.graphql.ai_cost.queries import AiCostQuery
from app.graphql.apps.mutations import AppsMutation
from app.graphql.apps.queries import AppsQuery
from app.graphql.errors import TranslateErrors, is_expected
from app.graphql.events.queries import EventsQuery
from app.graphql.organizations.mutations import OrganizationsMutation
from app.graphql.organizations.queries import OrganizationsQuery
from app.graphql.plans.mutations import PlansMutation
from app.graphql.plans.queries import PlansQuery
from app.graphql.pricing.mutations import PricingMutation
from app.graphql.pricing.queries import PricingQuery
from app.graphql.scalars import SCALAR_MAP
from app.graphql.viewer.queries import ViewerQuery

# Each alias of an expensive field (aiCost, events) is one more ClickHouse query.
MAX_ALIASES = 20
# The schema nests 2 levels today; the limit guards against cycles added later (an app's
# events' app's events …). Introspection fields are not counted (GraphiQL works).
MAX_DEPTH = 8
# Tokens of the document, counted while parsing: a huge document is refused before it is
# built. GraphiQL's introspection query is under 500; a dashboard page's a few hundred.
MAX_TOKENS = 2000


@strawberry.type(description="Reads: every query is scoped to the token's workspace.")
class Query(
    ViewerQuery,
    AppsQuery,
    EventsQuery,
    AiCostQuery,
    PricingQuery,
    AdminQuery,
    OrganizationsQuery,
    PlansQuery,
):
    pass


@strawberry.type(description="Changes: refused with FORBIDDEN unless the token's role allows them.")
class Mutation(AppsMutation, PricingMutation, AdminMutation, OrganizationsMutation, PlansMutation):
    pass


class SaasTrackerSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Refusals the client is told about are not server faults: log only the unexpected,
        # in full (the client sees them masked).
        for error in errors:
            if not is_expected(error):
                StrawberryLogger.error(error, execution_context)


def make_schema(*, production: bool) -> strawberry.Schema:
    """In production, no introspection and no "did you mean" suggestions in error messages."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        TranslateErrors,
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
    ]
    if production:
        extensions.append(DisableIntrospection)
    return SaasTrackerSchema(
        query=Query,
        mutation=Mutation,
        extensions=extensions,
        config=StrawberryConfig(scalar_map=SCALAR_MAP, disable_field_suggestions=production),
    )
