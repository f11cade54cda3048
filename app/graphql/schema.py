"""The root schema, composed from the feature Query and Mutation classes (as pycon's)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache, partial
from typing import Any

import strawberry
from graphql import GraphQLError, validate
from graphql.execution import Executor
from strawberry.extensions import (
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from app.graphql.admin.mutations import AdminMutation
from app.graphql.admin.queries import AdminQuery
from app.graphql.ai_cost.queries import AiCostQuery
from app.graphql.api_keys.mutations import ApiKeysMutation
from app.graphql.api_keys.queries import ApiKeysQuery
from app.graphql.apps.mutations import AppsMutation
from app.graphql.apps.queries import AppsQuery
from app.graphql.cost import CostBudget
from app.graphql.errors import TranslateErrors, is_expected
from app.graphql.events.queries import EventsQuery
from app.graphql.events.subscriptions import Subscription
from app.graphql.live_socket import SubscriptionsOverWebSocket
from app.graphql.node import NodeQuery
from app.graphql.organizations.mutations import OrganizationsMutation
from app.graphql.organizations.queries import OrganizationsQuery
from app.graphql.people.mutations import PeopleMutation
from app.graphql.people.queries import PeopleQuery
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
    PeopleQuery,
    ApiKeysQuery,
    NodeQuery,
):
    pass


@strawberry.type(description="Changes: refused with FORBIDDEN unless the token's role allows them.")
class Mutation(
    AppsMutation,
    PricingMutation,
    AdminMutation,
    OrganizationsMutation,
    PlansMutation,
    PeopleMutation,
    ApiKeysMutation,
):
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


class ValidateWithoutSuggestions(SchemaExtension):
    """Validation with graphql-core's `hide_suggestions`: no "Did you mean …?" naming a field,
    argument, type or enum value of the schema.

    strawberry's own `disable_field_suggestions` only trims unknown *fields*; this runs the
    rules strawberry would run (its own two, and those the other extensions added when the
    operation started) with the option, and strawberry skips its own validation when the
    errors are already there (as with its `ValidationCache`).
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = validate(
            context.schema._schema,
            context.graphql_document,
            (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule),
            hide_suggestions=True,
        )
        yield


class ExecutorWithoutSuggestions(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor, coercing variables with `hide_suggestions` (an enum value or
    input field sent in a variable is checked there, not by validation)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> list[GraphQLError] | Executor[Any]:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})


@cache
def make_schema(*, production: bool) -> strawberry.Schema:
    """In production, no introspection and no "did you mean" suggestions in error messages:
    they would spell out the schema that introspection hides.

    Built once per process and flavour (it holds no state of an app or a request): building
    it costs about 50 ms, which each app made in a process would pay again."""
    extensions: list[type[SchemaExtension] | Callable[[], SchemaExtension]] = [
        TranslateErrors,
        partial(MaxAliasesLimiter, max_alias_count=MAX_ALIASES),
        partial(QueryDepthLimiter, max_depth=MAX_DEPTH),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        # After them: what the valid document asks for, before it runs (app/graphql/cost.py).
        CostBudget,
        SubscriptionsOverWebSocket,
    ]
    if production:
        extensions += [DisableIntrospection, ValidateWithoutSuggestions]
    schema = SaasTrackerSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        execution_context_class=ExecutorWithoutSuggestions if production else None,
        config=StrawberryConfig(scalar_map=SCALAR_MAP),
    )
    subscription = schema._schema.subscription_type
    assert subscription is not None
    for field in subscription.fields.values():
        # strawberry resolves each value a subscription yields with `lambda event, *_, **__`,
        # which the arguments are passed to by name: an argument named `event` (liveEvents'
        # filter, as the event stream's) collides with it.
        field.resolve = _yielded
    return schema


def _yielded(value: object, *_: object, **__: object) -> object:
    """The value a subscription yielded, as its field's result."""
    return value
