"""`make_graphql_app(settings)`: the ASGI app mounted at /graphql."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.graphql.context import Context
from app.graphql.schema import make_schema
from app.settings import Environment, Settings

# Where the request's context waits to be closed once the response is sent.
_CONTEXT_KEY = "saas_tracker.graphql_context"
# Worker threads GraphQL may use at once, of anyio's default 40 that ingest shares: slow
# analytics queries then queue up here instead of delaying every ingest request's enqueue.
GRAPHQL_THREADS = 16


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view with a per-request `Context` closed after each response."""

    _limiter: anyio.CapacityLimiter | None = None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            request=request,
            runtime=request.app.state.runtime,
            response=response,
            limiter=self._limiter,
        )
        request.scope[_CONTEXT_KEY] = context
        return context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limiter is None:
            # Made on the first request: the limiter binds to the event loop serving the app.
            self._limiter = anyio.CapacityLimiter(GRAPHQL_THREADS)
        try:
            await super().__call__(scope, receive, send)
        finally:
            context: Context | None = scope.pop(_CONTEXT_KEY, None)
            if context is not None:
                await context.close()


def make_graphql_app(settings: Settings) -> GraphQLApp:
    """GraphiQL only in development; introspection and field suggestions off in production."""
    production = settings.env == Environment.production
    return GraphQLApp(
        make_schema(production=production),
        graphql_ide="graphiql" if settings.env == Environment.development else None,
        # No subscriptions: refuse WebSocket upgrades rather than keep idle connections.
        subscription_protocols=(),
    )
