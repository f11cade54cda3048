"""`make_graphql_app(settings)`: the ASGI app mounted at /graphql.

What bounds the work one request can ask for: the body size (here), then the document's
tokens, depth and aliases (the schema's extensions, `app.graphql.schema`), then each field's
own `limit` arguments.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.errors import BadUserInput
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


class BodyRefused(Exception):
    """A request body refused before GraphQL sees it, answered as a GraphQL error."""

    def __init__(self, status_code: int, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.extensions = extensions

    def response(self) -> Response:
        error = {
            "message": self.message,
            "extensions": {
                "code": BadUserInput.code,
                "status": BadUserInput.status,
                **self.extensions,
            },
        }
        return JSONResponse({"data": None, "errors": [error]}, status_code=self.status_code)


def _too_large() -> BodyRefused:
    return BodyRefused(
        413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", maxBytes=MAX_BODY_BYTES
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

    def decode_json(self, data: str | bytes) -> object:
        """The request body (or a GET's `variables`) as JSON, or `BodyRefused`.

        IMPORTANT: the json module parses nesting by recursion, so a body nested about 1,000
        levels deep raises RecursionError: it is the client's fault, not a server error.
        """
        try:
            return json.loads(data)
        except RecursionError:
            raise BodyRefused(400, "The request's JSON is nested too deeply.") from None
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError of undecodable bytes
            raise BodyRefused(400, "The request's JSON is not valid.") from None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limiter is None:
            # Made on the first request: the limiter binds to the event loop serving the app.
            self._limiter = anyio.CapacityLimiter(GRAPHQL_THREADS)
        if scope["type"] == "http" and scope["method"] == "POST":
            body = await _read_body(receive, MAX_BODY_BYTES)
            if body is None:
                await _too_large().response()(scope, receive, send)
                return
            receive = _replay(body, receive)
        try:
            await super().__call__(scope, receive, send)
        except BodyRefused as refused:
            # Raised while the body is parsed, before anything of the response is sent.
            await refused.response()(scope, receive, send)
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
