"""`make_graphql_app(settings)`: the ASGI app mounted at /graphql.

What bounds the work one request can ask for: the body size (here), then the document's
tokens, depth and aliases (the schema's extensions, `app.graphql.schema`), then the cost of
what it asks for (`app.graphql.cost`), then each ClickHouse statement's time and memory
(`app.graphql.context.STATEMENT_LIMITS`). What bounds the analytics work running at once: a few
analytics threads for all requests, a few analytics requests per token (`app.graphql.throttle`).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.errors import BadUserInput
from app.graphql.context import Context
from app.graphql.schema import make_schema
from app.graphql.throttle import PrincipalGate
from app.settings import Environment, Settings

T = TypeVar("T")

# Where the request's context waits to be closed once the response is sent.
_CONTEXT_KEY = "saas_tracker.graphql_context"
# Worker threads GraphQL may use at once, of anyio's default 40 that ingest shares: slow
# analytics queries then queue up here instead of delaying every ingest request's enqueue.
GRAPHQL_THREADS = 16
# Of those, threads that may run ClickHouse queries and convert their results at once: as
# many as the embedded engine has sessions (more would only wait for one). Converting a big
# result is Python work holding the GIL, which the event loop serving ingest and /healthz
# needs too: more such threads at once means a slower loop, not more answers.
ANALYTICS_THREADS = 3
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


class _ExecutionLoop:
    """One event loop in a thread of its own, where every GraphQL request executes.

    IMPORTANT: graphql-core completes a result on the loop that executes it, field by field,
    without ever yielding: tens of thousands of result objects held the loop for a second or
    more, and ingest and /healthz with it. On a loop of its own that work is a thread like any
    other, which the interpreter preempts every few milliseconds (sys.getswitchinterval)
    for the loop serving ingest. One per process, started on first use.
    """

    _loop: asyncio.AbstractEventLoop | None = None
    _lock = threading.Lock()

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="graphql-loop", daemon=True).start()
                cls._loop = loop
            return cls._loop


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable


async def _run_on(loop: asyncio.AbstractEventLoop, awaitable: Awaitable[T]) -> T:
    """Await `awaitable` run on `loop` (cancelling this cancels it there)."""
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_awaited(awaitable), loop))


class GraphQLApp(GraphQL[Context, None]):
    """strawberry's ASGI view with a per-request `Context` closed after each response."""

    _limiter: anyio.CapacityLimiter | None = None
    _analytics_limiter: anyio.CapacityLimiter | None = None
    _gate: PrincipalGate | None = None

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        context = Context(
            request=request,
            runtime=request.app.state.runtime,
            response=response,
            limiter=self._limiter,
            analytics_limiter=self._analytics_limiter,
            gate=self._gate,
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
        """Serve the request on the execution loop; the server's `receive` and `send` run on
        the server's loop."""
        server_loop = asyncio.get_running_loop()

        async def receive_there() -> Message:
            return await _run_on(server_loop, receive())

        async def send_there(message: Message) -> None:
            await _run_on(server_loop, send(message))

        await _run_on(_ExecutionLoop.get(), self._serve(scope, receive_there, send_there))

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._limiter is None:
            # Made on the first request: they bind to the execution loop.
            self._limiter = anyio.CapacityLimiter(GRAPHQL_THREADS)
            self._analytics_limiter = anyio.CapacityLimiter(ANALYTICS_THREADS)
            self._gate = PrincipalGate()
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
