"""GraphQL subscriptions over WebSocket: strawberry's graphql-transport-ws handler, with our
authentication and bounds (CONTRACT §7: "the same authorization as queries").

- Who is calling: the `connection_init` payload's "authorization" ("Bearer <token>") and
  "x-workspace-id", which count as the upgrade request's headers of those names; without
  them, the upgrade request's own Authorization header or session cookie (browsers cannot set
  headers on a WebSocket: strawberry's origin check keeps other sites' pages out). A caller
  without a valid credential is closed with 4401, one without a workspace (an operator) with
  4403, as the protocol has it; nothing is acknowledged before.
- Bounds, per serving process: `live_max_connections_per_workspace` acknowledged connections
  (one more is closed with 4029), `live_max_subscriptions_per_connection` operations on one
  connection (one more answers an `error` with LIMIT_REACHED), `live_max_queued_events`
  events waiting for one subscription (then the connection is closed with 4008: the client
  reads slower than events are stored, and reconnects).
- Only subscriptions: a query or mutation sent over the socket answers an `error` with
  BAD_USER_INPUT (send them over HTTP, where the cost budget and the analytics slots apply).

The principal is authenticated at `connection_init`, and its credential checked again every
`live_reauthenticate_s`: a revoked key, an ended session or a person removed from the
workspace closes the connection (4401 or 4403).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, cast
from uuid import UUID

from graphql import (
    ExecutionResult,
    GraphQLError,
    GraphQLSyntaxError,
    OperationType,
    get_operation_ast,
    parse,
)
from starlette.requests import Request
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.extensions import SchemaExtension
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType as StrawberryOperationType

from app.accounts.service import authenticate
from app.errors import BadUserInput, Forbidden, LimitReached, SaasTrackerError, Unauthenticated
from app.graphql.context import Context, Info, credential, requested_workspace
from app.live import SubscriberTooSlow

# graphql-transport-ws's own close codes, and ours (4000-4399 are free in the protocol, whose
# codes are 4400-4500). Clients such as graphql-ws retry after 4029 and 4008, not after 4401.
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_MANY_INITIALISATIONS = 4429
CLOSE_TOO_MANY_CONNECTIONS = 4029
CLOSE_TOO_SLOW = 4008
# A WebSocket close frame's reason: at most 123 bytes.
_MAX_REASON_BYTES = 123
# What a `connection_init` payload may carry, by lower-cased key: the header it stands for.
_PAYLOAD_HEADERS = {
    "authorization": "authorization",
    "x-workspace-id": "x-workspace-id",
    "workspaceid": "x-workspace-id",
}
# A subscribe message's document is parsed once more here (to refuse queries and mutations):
# as bounded as the schema's own parse (app/graphql/schema.py MAX_TOKENS).
_MAX_TOKENS = 2000


class SubscriptionsOverWebSocket(SchemaExtension):
    """Refuses a subscription sent over HTTP (BAD_USER_INPUT, before it runs): subscriptions
    are served over WebSocket only (GraphQL over HTTP has no subscriptions)."""

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        if (
            execution.graphql_document is not None
            and execution.result is None
            and not isinstance(getattr(execution.context, "request", None), WebSocket)
            and execution.operation_type is StrawberryOperationType.SUBSCRIPTION
        ):
            refused = BadUserInput(
                "Subscriptions are served over WebSocket only: open /graphql with the "
                "graphql-transport-ws protocol."
            )
            execution.result = ExecutionResult(
                data=None, errors=[GraphQLError(refused.message, original_error=refused)]
            )
        yield


class LiveLimitReached(LimitReached):
    """A live-connection bound of the server's settings (not of the plan) is reached."""

    def __init__(self, message: str, *, limit: str, current: int, maximum: int) -> None:
        SaasTrackerError.__init__(self, message, limit=limit, current=current, max=maximum)


@dataclass
class LiveConnections:
    """Acknowledged live connections per workspace, in this process."""

    max_per_workspace: int
    _counts: dict[UUID, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, workspace_id: UUID) -> bool:
        with self._lock:
            current = self._counts.get(workspace_id, 0)
            if current >= self.max_per_workspace:
                return False
            self._counts[workspace_id] = current + 1
            return True

    def leave(self, workspace_id: UUID) -> None:
        with self._lock:
            left = self._counts.get(workspace_id, 0) - 1
            if left > 0:
                self._counts[workspace_id] = left
            else:
                self._counts.pop(workspace_id, None)

    def count(self, workspace_id: UUID) -> int:
        with self._lock:
            return self._counts.get(workspace_id, 0)


@dataclass
class LiveLimits:
    max_subscriptions_per_connection: int
    connections: LiveConnections
    # How often a connection's credential is checked again (revoked, expired, removed from
    # the workspace: the connection is closed with 4401 or 4403).
    reauthenticate_s: float = 60.0


class _LiveView(Protocol):
    live_limits: LiveLimits


def _reason(text: str) -> str:
    encoded = text.encode()
    if len(encoded) <= _MAX_REASON_BYTES:
        return text
    return encoded[: _MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


async def _never(*args: Any) -> Any:
    raise RuntimeError("a connection's credentials carry no I/O")


def with_credentials(
    connection: Request | WebSocket, payload: dict[str, object]
) -> Request | WebSocket:
    """The upgrade request as the context reads it, with the `connection_init` payload's
    credentials standing for its headers of the same names (they win over the request's)."""
    given: dict[str, str] = {}
    for key, value in payload.items():
        header = _PAYLOAD_HEADERS.get(key.lower())
        if header is not None and isinstance(value, str):
            given[header] = value
    if not given:
        return connection
    try:
        added = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in given.items()]
    except UnicodeEncodeError:
        raise BadUserInput("The connection_init payload's credentials are not text.") from None
    headers = [
        (name, value)
        for name, value in connection.scope["headers"]
        if name.decode("latin-1").lower() not in given
    ]
    return WebSocket({**connection.scope, "headers": [*headers, *added]}, _never, _never)


class LiveSocketHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with authentication at `connection_init` and the live bounds."""

    _workspace_id: UUID | None = None
    _watcher: asyncio.Task[None] | None = None

    @property
    def limits(self) -> LiveLimits:
        return cast(_LiveView, self.view).live_limits

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        # strawberry's own steps (timeout, payload, a second init), then ours before the ack.
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self._close(CLOSE_BAD_REQUEST, "Invalid connection init payload")
            return
        if self.connection_init_received:
            await self._close(CLOSE_TOO_MANY_INITIALISATIONS, "Too many initialisation requests")
            return
        self.connection_init_received = True
        context = self.context
        try:
            context.request = with_credentials(context.request, payload)
            workspace_id = await context.workspace_id()
        except Unauthenticated as refused:
            await self._close(CLOSE_UNAUTHORIZED, f"Unauthorized: {refused.message}")
            return
        except Forbidden as refused:
            await self._close(CLOSE_FORBIDDEN, f"Forbidden: {refused.message}")
            return
        except BadUserInput as refused:
            await self._close(CLOSE_BAD_REQUEST, refused.message)
            return
        connections = self.limits.connections
        if not connections.enter(workspace_id):
            await self._close(
                CLOSE_TOO_MANY_CONNECTIONS,
                f"LIMIT_REACHED: this workspace has {connections.max_per_workspace} live "
                "connections already",
            )
            return
        self._workspace_id = workspace_id
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True
        self._watcher = asyncio.create_task(self._watch_credential(workspace_id))

    async def _watch_credential(self, workspace_id: UUID) -> None:
        """Close the connection once its credential no longer authenticates for the workspace
        it was acknowledged for (checked every `reauthenticate_s`)."""
        context = self.context
        token, _ = credential(context.request)
        requested = requested_workspace(context.request)
        while True:
            await asyncio.sleep(self.limits.reauthenticate_s)
            try:
                principal = await context.read(
                    partial(authenticate, token=token, workspace_id=requested)
                )
                if principal.workspace_id != workspace_id:
                    raise Forbidden("The credential no longer works on this workspace.")
            except Unauthenticated as refused:
                await self._close(CLOSE_UNAUTHORIZED, f"Unauthorized: {refused.message}")
                return
            except Forbidden as refused:
                await self._close(CLOSE_FORBIDDEN, f"Forbidden: {refused.message}")
                return

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and message["id"] not in self.operations:
            refused = self._refusal(message)
            if refused is not None:
                error = GraphQLError(refused.message, extensions=refused.extensions())
                await self.send_message(
                    {"id": message["id"], "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_subscribe(message)

    def _refusal(self, message: SubscribeMessage) -> SaasTrackerError | None:
        """Why this connection does not run the operation, if it does not."""
        maximum = self.limits.max_subscriptions_per_connection
        if len(self.operations) >= maximum:
            return LiveLimitReached(
                f"This connection holds {maximum} subscriptions already: complete one first.",
                limit="liveSubscriptionsPerConnection",
                current=len(self.operations),
                maximum=maximum,
            )
        payload = message["payload"]
        try:
            document = parse(payload["query"], max_tokens=_MAX_TOKENS)
        except GraphQLSyntaxError:
            return None  # strawberry closes with 4400, as the protocol has it
        operation = get_operation_ast(document, payload.get("operationName"))
        if operation is not None and operation.operation is not OperationType.SUBSCRIPTION:
            return BadUserInput(
                "This connection carries subscriptions only: send queries and mutations "
                "over HTTP (POST /graphql)."
            )
        return None

    async def shutdown(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None and watcher is not asyncio.current_task():
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        try:
            await super().shutdown()
        finally:
            workspace_id, self._workspace_id = self._workspace_id, None
            if workspace_id is not None:
                self.limits.connections.leave(workspace_id)

    async def _close(self, code: int, reason: str) -> None:
        await self.websocket.close(code=code, reason=_reason(reason))


async def close_too_slow(info: Info, refused: SubscriberTooSlow) -> None:
    """Close the connection of a subscription whose client reads too slowly (4008), then wait
    for the handler to end the operation with the connection."""
    websocket = info.context.response
    if not isinstance(websocket, WebSocket):
        return
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        await websocket.close(
            code=CLOSE_TOO_SLOW,
            reason=_reason(f"Too slow: {refused}; reconnect, and read `events` for the gap"),
        )
    await asyncio.Event().wait()


__all__ = [
    "LiveConnections",
    "LiveLimits",
    "LiveSocketHandler",
    "SubscriptionsOverWebSocket",
    "close_too_slow",
]
