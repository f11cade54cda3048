"""What a request may cost, reckoned from its document before any resolver runs.

The depth, alias and token limits bound the document, not the work: twenty aliases of an
hourly series split fifty ways over two months each ask for ~90,000 result rows, all within
them. Here every field counts the result objects it can return — its own, times those of its
sub-fields — from its arguments, variables included:

- a field with a `limit` argument returns at most `limit` items, and a connection with a
  `first` argument at most `first` edges (counted on the connection: its edges, their nodes
  and its pageInfo are each `first` objects at most — an upper bound);
- `series` returns one point per bucket of its range (at most `MAX_SERIES_POINTS`: a longer
  series is refused by the resolver anyway), each with `top + 1` rows when split `by`;
- `editRatioDistribution` has its ten buckets; any other field returns one object.

Aliases add up, so the cost grows with range, granularity, split, rows and aliases. Above
`QUERY_BUDGET` the request is refused whole with `QUERY_TOO_COSTLY` (extensions `cost` and
`budget`) before any SQL runs. The budget is one HTTP request's, however many operations it
holds: the operations of a batch draw on one `CostLedger` in their order, and one that would
take the batch's sum above the budget is refused (extensions `cost`, `budget` and
`batchCost`), so batching cannot multiply what one request may cost.

The reckoning is an upper bound: the range is taken before the workspace's retention shortens
it, and a split counts `top` keys whether or not the data has that many.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension

from app.ai_cost import reports as ai_cost
from app.ai_cost.figures import EDIT_RATIO_BUCKETS
from app.errors import BadUserInput, QueryTooCostly
from app.graphql.context import Context
from app.graphql.ranges import resolve_range
from app.store import time_split

# Result objects one request may ask for. A dashboard page asks for a few thousand (30 days
# by day split ten ways, with latency and edit ratios: ≈ 4,300; a week by hour: ≈ 24,000);
# the request that stalled the server asked for ≈ 22 million.
QUERY_BUDGET = 100_000

# Where the HTTP view keeps each request's `CostLedger` (its ASGI scope).
LEDGER_KEY = "saas_tracker.cost_ledger"

# Sub-fields whose item count the reckoning knows, by (type, field) of the schema.
_SERIES = ("AiCostReport", "series")
_SPLIT_ROWS = ("AiCostPoint", "rows")
# On every type of AI figures (report, row, point).
_EDIT_RATIOS = "editRatioDistribution"


@dataclass(frozen=True)
class _Scope:
    """What enclosing fields tell their sub-fields: the range, and the rows of a split point."""

    start: datetime | None = None
    end: datetime | None = None
    split_rows: int = 0


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    variables: VariableValues

    def selection_cost(
        self, parent: GraphQLObjectType, selections: SelectionSetNode, scope: _Scope
    ) -> int:
        return sum(
            self.field_cost(parent, node, scope) for node in self._fields(parent, selections)
        )

    def _fields(
        self, parent: GraphQLObjectType, selections: SelectionSetNode
    ) -> Iterator[FieldNode]:
        """The fields of a selection set, fragments inlined (whatever @skip/@include say: the
        reckoning is an upper bound)."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(parent, selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    yield from self._fields(parent, fragment.selection_set)

    def field_cost(self, parent: GraphQLObjectType, node: FieldNode, scope: _Scope) -> int:
        definition = parent.fields.get(node.name.value)
        if definition is None:  # __typename, introspection
            return 0
        field_type = get_named_type(definition.type)
        if not isinstance(field_type, GraphQLObjectType) or node.selection_set is None:
            return 0  # scalars and enums are part of the object that holds them
        args = get_argument_values(definition, node, self.variables)
        items, inner = self._items(parent.name, node.name.value, args, scope)
        return items * (1 + self.selection_cost(field_type, node.selection_set, inner))

    def _items(
        self, parent: str, name: str, args: Mapping[str, Any], scope: _Scope
    ) -> tuple[int, _Scope]:
        """How many objects the field returns at most, and the scope of its sub-fields."""
        if "from" in args and "to" in args:
            scope = _with_range(scope, args["from"], args["to"])
        if (parent, name) == _SERIES:
            split = args.get("by") is not None
            scope = replace(scope, split_rows=int(args.get("top", 0)) + 1 if split else 0)
            return _points(scope, time_split.Granularity[args["granularity"].name]), scope
        if (parent, name) == _SPLIT_ROWS:
            return scope.split_rows, scope
        if name == _EDIT_RATIOS:
            return EDIT_RATIO_BUCKETS, scope
        limit = args.get("limit", args.get("first"))
        return (max(int(limit), 1) if isinstance(limit, int) else 1), scope


def _with_range(scope: _Scope, start: datetime | None, end: datetime | None) -> _Scope:
    try:
        start, end = resolve_range(start, end)
    except BadUserInput:
        return scope  # refused by the resolver before it runs anything
    return replace(scope, start=start, end=end)


def _points(scope: _Scope, granularity: time_split.Granularity) -> int:
    if scope.start is None or scope.end is None:
        return 1
    count = ai_cost.bucket_count(scope.start, scope.end, granularity)
    # A longer series is refused (BAD_USER_INPUT) before it runs: at most this many points.
    return max(1, min(count, ai_cost.MAX_SERIES_POINTS))


def request_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> int | None:
    """The cost of the operation the request runs; None when it will not run (no such
    operation, invalid variables: execution reports those errors itself)."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return None
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables or {})
    if isinstance(coerced, list):
        return None
    root = schema.get_root_type(operation.operation)
    if root is None:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    walk = _Walk(schema, fragments, coerced)
    return walk.selection_cost(root, operation.selection_set, _Scope())


@dataclass
class CostLedger:
    """The cost admitted so far for the operations of one HTTP request (one, or a batch's)."""

    budget: int = QUERY_BUDGET
    spent: int = 0

    def admit(self, cost: int) -> QueryTooCostly | None:
        """Charge `cost`, or the refusal when it does not fit in what is left (then nothing is
        charged)."""
        if self.spent + cost <= self.budget:
            self.spent += cost
            return None
        if self.spent == 0 or cost > self.budget:
            return QueryTooCostly(
                f"This request would cost {cost} (result objects) and the budget of one "
                f"request is {self.budget}: ask for a shorter range, a coarser "
                "granularity, fewer split keys or rows, or fewer aliases.",
                cost=cost,
                budget=self.budget,
            )
        return QueryTooCostly(
            f"This operation would cost {cost} (result objects) and the operations of the "
            f"batch before it {self.spent}: together they exceed the budget of one request, "
            f"{self.budget}. Send it in a request of its own, or ask for less.",
            cost=cost,
            budget=self.budget,
            batchCost=self.spent + cost,
        )


def request_ledger(context: object) -> CostLedger:
    """The ledger of the HTTP request `context` serves; a ledger of its own otherwise (an
    operation executed outside the HTTP view)."""
    if isinstance(context, Context):
        ledger = context.request.scope.get(LEDGER_KEY)
        if isinstance(ledger, CostLedger):
            return ledger
    return CostLedger()


class CostBudget(SchemaExtension):
    """Refuses an operation whose cost exceeds what is left of its request's budget
    (`QUERY_BUDGET`), after validation (the document is then known to be valid) and before
    execution."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None and context.result is None:
            cost = request_cost(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
            )
            refused = None if cost is None else request_ledger(context.context).admit(cost)
            if refused is not None:
                # A result set before execution makes strawberry skip it.
                context.result = ExecutionResult(
                    data=None, errors=[GraphQLError(refused.message, original_error=refused)]
                )
        yield
