"""`make_graphql_app(settings)`: the ASGI app mounted at /graphql.

What bounds the work one request can ask for: the body size (here), then the document's
tokens, depth and aliases (the schema's extensions, `app.graphql.schema`), then the cost of
what it asks for (`app.graphql.cost`), then each ClickHouse statement's time and memory
(`app.graphql.context.STATEMENT_LIMITS`). What bounds the analytics work running at once: a few
analytics threads for all requests, a few analytics requests per token (`app.graphql.throttle`).

The HTTP side follows the GraphQL-over-HTTP specification (media types, status codes, request
parameters and batches: `app.graphql.over_http`) and Apollo's automatic persisted queries
(`app.graphql.persisted_queries`). A batch's operations share the request's context (one
caller, one analytics slot of the throttle) and its cost budget.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult, SubscriptionExecutionResult

from app.accounts import sealing
from app.errors import BadUserInput
from app.graphql import over_http, persisted_queries
from app.graphql.context import Context
from app.graphql.cost import LEDGER_KEY, CostLedger
from app.graphql.live_socket import LiveConnections, LiveLimits, LiveSocketHandler
from app.graphql.over_http import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, RequestRefused
from app.graphql.persisted_queries import (
    PersistedQueries,
    PersistedQueryNotFound,
    PersistedQueryNotSupported,
)
from app.graphql.schema import make_schema
from app.graphql.throttle import PrincipalGate
from app.settings import Environment, Settings
from app.web.graphiql import VendoredGraphiQL

T = TypeVar("T")

# Where the request's context waits to be closed once the response is sent.
_CONTEXT_KEY = "saas_tracker.graphql_context"
# Where the request's negotiated response media type is kept (`over_http.negotiate`).
_MEDIA_TYPE_KEY = "saas_tracker.graphql_media_type"
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


def _too_large() -> RequestRefused:
    return RequestRefused(
        413, f"The request body exceeds {MAX_BODY_BYTES} bytes.", maxBytes=MAX_BODY_BYTES
    )


def _media_type(request: Request) -> str:
    media_type = request.scope.get(_MEDIA_TYPE_KEY)
    return media_type if isinstance(media_type, str) else APPLICATION_JSON


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


class GraphQLApp(VendoredGraphiQL, GraphQL[Context, None]):
    """strawberry's ASGI view with a per-request `Context` closed after each response."""

    _limiter: anyio.CapacityLimiter | None = None
    _analytics_limiter: anyio.CapacityLimiter | None = None
    _gate: PrincipalGate | None = None
    # Subscriptions (graphql-transport-ws): authenticated and bounded (app.graphql.live_socket).
    graphql_transport_ws_handler_class = LiveSocketHandler

    def __init__(
        self,
        *args: Any,
        persisted: PersistedQueries | None = None,
        live_limits: LiveLimits | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.persisted = persisted if persisted is not None else PersistedQueries(0)
        self.live_limits = live_limits or LiveLimits(10, LiveConnections(20))

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
        """The request body (or a GET's `variables`) as JSON, or `RequestRefused`.

        IMPORTANT: the json module parses nesting by recursion, so a body nested about 1,000
        levels deep raises RecursionError: it is the client's fault, not a server error.
        """
        try:
            return json.loads(data)
        except RecursionError:
            raise RequestRefused(400, "The request's JSON is nested too deeply.") from None
        except ValueError:  # JSONDecodeError, and UnicodeDecodeError of undecodable bytes
            raise RequestRefused(400, "The request's JSON is not valid.") from None

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
        try:
            if scope["type"] == "http":
                response = await self._respond(scope, receive)
                await response(scope, receive, send)
            else:
                await super().__call__(scope, receive, send)
        finally:
            context: Context | None = scope.pop(_CONTEXT_KEY, None)
            if context is not None:
                await context.close()

    # --- GraphQL over HTTP (app.graphql.over_http) -----------------------------------------

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        """The response to an HTTP request, in the media type its `Accept` header prefers; a
        request refused before any operation ran is answered with a GraphQL error."""
        media_type = over_http.negotiate(Headers(scope=scope).get("accept"))
        scope[_MEDIA_TYPE_KEY] = media_type
        # One budget for every operation of the request (a batch's): app/graphql/cost.py.
        scope[LEDGER_KEY] = CostLedger()
        try:
            if scope["method"] == "POST":
                body = await _read_body(receive, MAX_BODY_BYTES)
                if body is None:
                    raise _too_large()
                receive = _replay(body, receive)
            try:
                return await self.run(Request(scope, receive))
            except HTTPException as refused:  # strawberry's own (a method it does not serve)
                raise RequestRefused(refused.status_code, refused.reason) from None
        except RequestRefused as refused:
            return refused.response(media_type)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        # Read back by `create_response`, which is not handed the request.
        sub_response.media_type = _media_type(request) if isinstance(request, Request) else None
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = over_http.content_type(
            sub_response.media_type or APPLICATION_JSON
        )
        response.headers.add_vary_header("Accept")
        return response

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        # Without an IDE (outside development) a GET without `query` is a request without
        # one; a GET with only a persisted query's hash has no `query` either.
        return (
            self.graphql_ide is not None
            and super().should_render_graphql_ide(request)
            and request.query_params.get("extensions") is None
        )

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The operation (or a batch's operations) of the request, its parameters checked."""
        if request.method == "GET":
            return over_http.get_operation(self.parse_query_params(request.query_params))
        media_type, _ = parse_content_type(request.content_type or "")
        if media_type.lower() != APPLICATION_JSON:
            raise RequestRefused(
                415, "Send GraphQL requests as JSON, with 'Content-Type: application/json'."
            )
        return over_http.operations(self.parse_json(await request.get_body()))

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        if isinstance(request_data, list):
            # Side by side, as strawberry runs a batch: each operation reaches its cost check
            # (before its first await) in the batch's order.
            return list(
                await asyncio.gather(
                    *(
                        self._execute(request, request_adapter, data, context, sub_response)
                        for data in request_data
                    )
                )
            )
        result = await self._execute(
            request, request_adapter, request_data, context, sub_response, batched=False
        )
        if (
            _media_type(request) == GRAPHQL_RESPONSE_JSON
            and over_http.is_request_error(result)
            and not persisted_queries.is_miss(result)
        ):
            sub_response.status_code = 400
        return result

    async def _execute(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData,
        context: Context,
        sub_response: Response,
        *,
        batched: bool = True,
    ) -> ExecutionResult:
        """One operation, its persisted query looked up; a refusal of it raises (the whole
        request is refused) unless it is one of a batch (its result is the refusal)."""
        try:
            try:
                lookup = self.persisted.lookup(request_data)
            except (PersistedQueryNotFound, PersistedQueryNotSupported) as error:
                return persisted_queries.miss(error)
            if lookup.request.query is None:
                raise RequestRefused(
                    400, "The request has no `query`: send the GraphQL document to execute."
                )
            result = await self._execute_single(
                request, request_adapter, lookup.request, context, sub_response
            )
        except RequestRefused as refused:
            if not batched:
                raise
            return refused.result()
        if lookup.register is not None and not over_http.is_request_error(result):
            assert lookup.request.query is not None
            self.persisted.remember(lookup.register, lookup.request.query)
        return result

    async def _execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData,
        context: Context,
        sub_response: Response,
    ) -> ExecutionResult:
        """strawberry's execution, with its refusals as the specification has them."""
        try:
            return await self.execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=context,
                root_value=None,
                request_data=request_data,
            )
        except HTTPException as refused:
            cause = refused.__cause__
            if isinstance(cause, InvalidOperationTypeError) and request_adapter.method == "GET":
                raise RequestRefused(
                    405,
                    "Mutations are not allowed with GET: send them with POST.",
                    headers={"allow": "POST"},
                ) from None
            if isinstance(cause, CannotGetOperationTypeError):
                # A request error like a validation error: 200 with application/json.
                return ExecutionResult(
                    data=None,
                    errors=[
                        GraphQLError(
                            cause.as_http_error_reason(),
                            extensions={
                                "code": BadUserInput.code,
                                "status": BadUserInput.status,
                            },
                        )
                    ],
                )
            raise RequestRefused(refused.status_code, refused.reason) from None

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if _media_type(request) == GRAPHQL_RESPONSE_JSON and over_http.is_request_error(result):
            # Nothing executed: no `data` entry (application/json keeps `"data": null`).
            processed.pop("data", None)
        return processed


def make_graphql_app(settings: Settings) -> GraphQLApp:
    """GraphiQL only in development; introspection and field suggestions off in production.

    The process seals and opens app secrets with the keys of these settings (a missing or
    malformed key fails here, at start, not at the first request that needs it)."""
    sealing.configure(settings)
    production = settings.env == Environment.production
    return GraphQLApp(
        make_schema(production=production),
        graphql_ide="graphiql" if settings.env == Environment.development else None,
        # Subscriptions over graphql-transport-ws only (not the legacy graphql-ws protocol).
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        # Counted by LiveSocketHandler, whose refusal carries LIMIT_REACHED.
        max_subscriptions_per_connection=None,
        # Pages of these origins may open a socket with the user's cookies (same-origin pages
        # always may): the CORS origins, and the public URL's, which the engine behind the
        # front of a split serve sees as another host.
        allowed_origins=[*settings.cors_origin_list, _origin(settings.public_url)],
        persisted=PersistedQueries(settings.persisted_queries_max_entries),
        live_limits=LiveLimits(
            settings.live_max_subscriptions_per_connection,
            LiveConnections(settings.live_max_connections_per_workspace),
            reauthenticate_s=settings.live_reauthenticate_s,
        ),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
