"""Passes a request the front does not answer itself to the engine process, streaming both ways.

The engine listens on a Unix socket only the front can reach (the folder is private), so it
trusts the client address the front forwards in `x-forwarded-for` (sign-in limits per address
need it) and the scheme in `x-forwarded-proto`; the client's `Host` goes along unchanged (the
engine compares it with `Origin`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import orjson
from starlette.requests import Request
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from websockets.asyncio.client import unix_connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

log = logging.getLogger(__name__)

# Headers about one connection, not the message (RFC 9110 §7.6.1): never forwarded.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"x-forwarded-for",
        b"x-forwarded-proto",
    }
)
# What a WebSocket upgrade carries to the engine: who is calling (token, cookie, workspace) and
# from where (the Host travels in the URI: origin checks compare the two).
_FORWARDED_WEBSOCKET_HEADERS = frozenset(
    {b"authorization", b"cookie", b"origin", b"x-workspace-id"}
)
# While the engine restarts, a client should come back shortly (it restarts within seconds).
RETRY_AFTER_S = 2


class EngineProxy:
    """An ASGI app forwarding HTTP requests to the engine's socket."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.client = httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(socket_path)),
            base_url="http://engine",
            # Analytics statements stop at their own limits (app/graphql/context.py); the
            # proxy waits as long as the engine works on an answer.
            timeout=httpx.Timeout(connect=5.0, read=None, write=60.0, pool=None),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=32),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._relay_websocket(WebSocket(scope, receive, send))
            return
        request = Request(scope, receive)
        headers = [(k, v) for k, v in request.headers.raw if k.lower() not in _HOP_BY_HOP]
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", client[0].encode()))
        headers.append((b"x-forwarded-proto", scope.get("scheme", "http").encode()))
        query: bytes = scope.get("query_string", b"")
        url = httpx.URL(path=scope["path"], query=query) if query else httpx.URL(path=scope["path"])
        upstream = self.client.build_request(
            request.method, url, headers=headers, content=_body(request)
        )
        try:
            response = await self.client.send(upstream, stream=True)
        except httpx.TransportError as exc:
            log.warning("the engine process did not answer", extra={"error": type(exc).__name__})
            await _unavailable(scope, receive, send)
            return
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k, v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()

    async def _relay_websocket(self, websocket: WebSocket) -> None:
        """Relays a WebSocket (GraphQL subscriptions) to the engine, message by message, with
        the client's subprotocols and headers; the engine's refusal of the handshake is the
        client's refusal, and either side closing closes the other with its code."""
        scope = websocket.scope
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.lower() in _FORWARDED_WEBSOCKET_HEADERS
        ]
        if scope.get("client"):
            headers.append(("x-forwarded-for", scope["client"][0]))
        query = scope.get("query_string", b"").decode("latin-1")
        host = websocket.headers.get("host", "engine")
        uri = f"ws://{host}{scope['path']}" + (f"?{query}" if query else "")
        try:
            upstream = await unix_connect(
                str(self.socket_path),
                uri,
                subprotocols=[Subprotocol(p) for p in scope.get("subprotocols", [])],
                additional_headers=headers,
                compression=None,
                open_timeout=5,
                ping_interval=None,
                max_size=None,
                user_agent_header=None,
            )
        except InvalidStatus:
            await websocket.close(code=1008)  # before accept: the client gets 403
            return
        except (OSError, InvalidHandshake, TimeoutError):
            await websocket.close(code=1013)  # try again later: the engine restarts
            return
        await websocket.accept(subprotocol=upstream.subprotocol)
        async with upstream, anyio.create_task_group() as tasks:

            async def to_engine() -> None:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        await upstream.close(message.get("code", 1000))
                        break
                    text, data = message.get("text"), message.get("bytes")
                    await upstream.send(text if text is not None else data or b"")
                tasks.cancel_scope.cancel()

            async def to_client() -> None:
                try:
                    async for frame in upstream:
                        if isinstance(frame, str):
                            await websocket.send_text(frame)
                        else:
                            await websocket.send_bytes(frame)
                except ConnectionClosed:
                    pass
                code = upstream.close_code or 1000
                with contextlib.suppress(RuntimeError, OSError):
                    await websocket.close(code=code, reason=upstream.close_reason or "")
                tasks.cancel_scope.cancel()

            tasks.start_soon(to_engine)
            tasks.start_soon(to_client)

    async def get(self, path: str) -> httpx.Response:
        """One request of the front's own (readiness, metrics)."""
        return await self.client.get(path, timeout=10.0)

    async def aclose(self) -> None:
        await self.client.aclose()


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        if chunk:
            yield chunk


async def _unavailable(scope: Scope, receive: Receive, send: Send) -> None:
    body = orjson.dumps(
        {"error": "engine_unavailable", "message": "the analytics engine is restarting"}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_S).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body, "more_body": False})
