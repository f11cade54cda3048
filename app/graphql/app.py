"""`make_graphql_app(settings)`: the ASGI app mounted at /graphql.

What bounds the work one request can ask for: the body size (here), then the document's
tokens, depth and aliases (the schema's extensions, `app.graphql.schema`), then each field's
own `limit` arguments.
"""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
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
# A request body larger than this is refused before it is parsed: the document's token limit
# bounds the query, this bounds the variables (JSON parsing cost and memory).
MAX_BODY_BYTES = 1024 * 1024


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it exceeds `limit` (whatever Content-Length
    claims: a chunked body has none)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            # A disconnect: what was received is all there is.
            return b"".join(chunks)
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the buffered body over once, then defers to the client's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _too_large() -> Response:
    return JSONResponse(
        {
            "data": None,
            "errors": [
                {
                    "message": f"The request body exceeds {MAX_BODY_BYTES} bytes.",
                    "extensions": {
                        "code": "BAD_USER_INPUT",
                        "status": 400,
                        "maxBytes": MAX_BODY_BYTES,
                    },
                }
            ],
        },
        status_code=413,
    )


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
        if scope["type"] == "http" and scope["method"] == "POST":
            body = await _read_body(receive, MAX_BODY_BYTES)
            if body is None:
                await _too_large()(scope, receive, send)
                return
            receive = _replay(body, receive)
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
