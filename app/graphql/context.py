"""The per-request GraphQL context: who is calling, one DB session, and blocking work off the loop.

Who is calling: an `Authorization: Bearer` token (an API key or a session token), else the
session cookie `st_session` a browser got from `login`. A cookie-authenticated mutation must
also send the header `x-csrf-token` with the value of the cookie `st_csrf` (`FORBIDDEN`
otherwise); a bearer token needs none (a browser never adds one by itself). The header
`x-workspace-id` names the workspace a person's request works on (default: their first).

IMPORTANT: the ingest endpoint shares this event loop, so a resolver must never block it.
Every SQL statement runs through `Context.read`/`Context.write`, and every ClickHouse query
through `Context.analytics`, each in a worker thread (`anyio.to_thread`). Analytics threads
are few (`analytics_limiter`), each statement runs with `STATEMENT_LIMITS`, and one token has
at most a few analytics requests in flight (`PrincipalGate`): CPU spent converting results
holds the GIL that the event loop needs too.
"""

from __future__ import annotations

import hmac
import math
import os
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from uuid import UUID

import anyio
import anyio.to_thread
import strawberry
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.accounts.models import Role
from app.accounts.service import Principal, authenticate, hash_token
from app.db import utcnow
from app.errors import BadUserInput, Forbidden, Unauthenticated
from app.graphql.parts import GraphQLParts
from app.graphql.throttle import PrincipalGate
from app.settings import Settings
from app.store.interface import AnalyticsStore, QuerySettings, query_settings

T = TypeVar("T")

_BEARER = "bearer"
SESSION_COOKIE = "st_session"
CSRF_COOKIE = "st_csrf"
CSRF_HEADER = "x-csrf-token"
WORKSPACE_HEADER = "x-workspace-id"
NOT_SIGNED_IN = "Sign in, or send 'Authorization: Bearer <token>'."
_ANALYTICS_SLOT = "analytics_slot"

# What one dashboard statement may take of ClickHouse (settings of every SELECT of
# `Context.analytics`); past them it fails with QUERY_TOO_COSTLY. Dashboard statements take
# tens of milliseconds and megabytes at 10 M events (bench/README.md).
STATEMENT_LIMITS: QuerySettings = {
    "max_execution_time": 15,
    "max_memory_usage": 1024**3,
}
# The cores ClickHouse spreads one statement over (its `max_threads` is this by default).
# Statements of one request running side by side share them: each gets an equal share, at
# least one thread, instead of all of them each (see `Context.analytics`).
CORES = os.cpu_count() or 1


def bearer_token(request: Request | WebSocket) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != _BEARER or not token.strip():
        return None
    return token.strip()


def credential(request: Request | WebSocket) -> tuple[str | None, bool]:
    """The caller's token and whether it came from the session cookie (the bearer token wins
    when both are sent)."""
    token = bearer_token(request)
    if token is not None:
        return token, False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def requested_workspace(request: Request | WebSocket) -> UUID | None:
    """The workspace the x-workspace-id header names (None without the header)."""
    value = request.headers.get(WORKSPACE_HEADER)
    if value is None or not value.strip():
        return None
    try:
        return UUID(value.strip())
    except ValueError:
        raise BadUserInput(
            f"The header {WORKSPACE_HEADER} must be a workspace id (a UUID).",
            field=WORKSPACE_HEADER,
        ) from None


@dataclass
class Context:
    """Built once per request by the GraphQL app (`GraphQLApp.get_context`).

    One SQLModel session serves the whole request. Units of work on it are serialised by a
    lock (resolvers of one request run concurrently, a session must not be shared between
    threads at once) and each unit ends its transaction, so no connection is held while the
    request waits on ClickHouse.
    """

    request: Request | WebSocket
    runtime: GraphQLParts  # the process's parts (`app.runtime.Runtime` in production)
    response: Response | WebSocket | None = None
    # The GraphQL app's own share of worker threads: dashboard queries must not take every
    # thread of anyio's default limiter, which ingest uses to enqueue (see `GraphQLApp`).
    limiter: anyio.CapacityLimiter | None = None
    # Threads ClickHouse queries (and the conversion of their results) may use at once, apart
    # from `limiter`; None: `limiter`.
    analytics_limiter: anyio.CapacityLimiter | None = None
    # Analytics requests in flight per token; None: unbounded (a context built outside the app).
    gate: PrincipalGate | None = None
    _slot: Hashable | None = field(default=None, init=False, repr=False)
    _session: Session | None = field(default=None, init=False, repr=False)
    _db_lock: anyio.Lock = field(default_factory=anyio.Lock, init=False, repr=False)
    _memo: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False)
    _memo_locks: dict[Hashable, anyio.Lock] = field(default_factory=dict, init=False, repr=False)
    # This request's `analytics` calls in flight (waiting for a thread or running).
    _analytics_calls: int = field(default=0, init=False, repr=False)

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def store(self) -> AnalyticsStore:
        return self.runtime.store

    # --- who is calling -------------------------------------------------------------------

    async def principal(self) -> Principal:
        """The caller, authenticated on first use (raises `Unauthenticated`)."""
        token, _ = credential(self.request)
        if token is None:
            raise Unauthenticated(NOT_SIGNED_IN)
        workspace_id = requested_workspace(self.request)
        return await self.once(
            "principal",
            lambda: self.read(partial(authenticate, token=token, workspace_id=workspace_id)),
        )

    async def authorize_mutation(self) -> Principal:
        """The caller of a mutation: `Forbidden` for an API key of scope READ and for a
        cookie-authenticated request without the CSRF header (the permission classes call
        this for every mutation field)."""
        principal = await self.principal()
        if principal.read_only:
            raise Forbidden("This API key has the READ scope: it may not change anything.")
        _, via_cookie = credential(self.request)
        if via_cookie and not self._csrf_ok(principal):
            raise Forbidden(
                f"Send the header '{CSRF_HEADER}' with the value of the cookie '{CSRF_COOKIE}'."
            )
        return principal

    def _csrf_ok(self, principal: Principal) -> bool:
        header = self.request.headers.get(CSRF_HEADER, "")
        cookie = self.request.cookies.get(CSRF_COOKIE, "")
        return (
            bool(header)
            and principal.csrf_hash is not None
            and hmac.compare_digest(header.encode(), cookie.encode())
            and hmac.compare_digest(hash_token(header), principal.csrf_hash)
        )

    async def refuse_read_only_key(self) -> None:
        """For the public mutations (sign-in, links): a READ key may call no mutation at all;
        any other credential, valid or not, is not looked at."""
        token = bearer_token(self.request)
        if token is None:
            return
        try:
            principal = await self.principal()
        except (Unauthenticated, Forbidden, BadUserInput):
            return
        if principal.read_only:
            raise Forbidden("This API key has the READ scope: it may not change anything.")

    async def session_principal(self) -> Principal:
        """The caller if it is a signed-in person; `Forbidden` for API keys."""
        principal = await self.principal()
        if not principal.is_session:
            raise Forbidden("Only a signed-in person may do this; API keys may not.")
        return principal

    def client_address(self) -> str:
        client = self.request.client
        return client.host if client is not None else "unknown"

    def set_session_cookies(self, *, token: str, csrf_token: str, expires_at: datetime) -> None:
        """`st_session` (HttpOnly) and `st_csrf` (readable by the page's script), both
        `Secure` (browsers accept Secure cookies from http://localhost too) and
        `SameSite=Lax`."""
        response = self.response
        if not isinstance(response, Response):
            return
        max_age = max(0, math.ceil((expires_at - utcnow()).total_seconds()))
        for name, value, httponly in (
            (SESSION_COOKIE, token, True),
            (CSRF_COOKIE, csrf_token, False),
        ):
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                path="/",
                secure=True,
                httponly=httponly,
                samesite="lax",
            )

    def clear_session_cookies(self) -> None:
        response = self.response
        if not isinstance(response, Response):
            return
        for name, httponly in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
            response.delete_cookie(name, path="/", secure=True, httponly=httponly, samesite="lax")

    async def workspace_principal(self, *, admin: bool = False) -> tuple[Principal, UUID]:
        """The caller and its workspace; `Forbidden` for operators (they have no workspace) and,
        with `admin`, for members."""
        principal = await self.principal()
        if principal.workspace_id is None and principal.is_session:
            raise Forbidden(
                "Your account belongs to no workspace any more: ask an admin to invite you."
            )
        if principal.workspace_id is None:
            raise Forbidden(
                "This operation works on a workspace's data: use a workspace token "
                "(operator tokens belong to no workspace)."
            )
        if admin and principal.role is not Role.admin:
            raise Forbidden("Only a workspace admin may do this; members may read only.")
        return principal, principal.workspace_id

    async def workspace_id(self, *, admin: bool = False) -> UUID:
        """The caller's workspace id: the only workspace any query of this request may touch."""
        _, workspace_id = await self.workspace_principal(admin=admin)
        return workspace_id

    async def superuser(self) -> Principal:
        """The caller if it is an operator; `Forbidden` otherwise."""
        principal = await self.principal()
        if not principal.is_superuser:
            raise Forbidden("Only an operator (superuser) may do this.")
        return principal

    # --- blocking work, off the event loop --------------------------------------------------

    async def once(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """Compute a value once per request, however many resolvers ask for it concurrently
        (a failure is not remembered: the next caller tries again and gets the same error)."""
        lock = self._memo_locks.setdefault(key, anyio.Lock())
        async with lock:
            if key not in self._memo:
                self._memo[key] = await compute()
            value: T = self._memo[key]
            return value

    async def read(self, work: Callable[[Session], T]) -> T:
        """Run `work(session)` in a worker thread; its transaction ends afterwards."""
        return await self._unit(work, None)

    async def write(
        self,
        work: Callable[[Session], T],
        *,
        after_commit: Callable[[Session], object] | None = None,
    ) -> T:
        """Run `work(session)` in a worker thread and commit (roll back if it raises);
        `after_commit` then runs in the same thread, e.g. to reload a cache that must see the
        committed change."""
        return await self._unit(work, after_commit)

    async def _unit(
        self, work: Callable[[Session], T], after_commit: Callable[[Session], object] | None
    ) -> T:
        async with self._db_lock:
            return await anyio.to_thread.run_sync(
                self._run_unit, work, after_commit, limiter=self.limiter
            )

    def _run_unit(
        self, work: Callable[[Session], T], after_commit: Callable[[Session], object] | None
    ) -> T:
        if self._session is None:
            self._session = Session(self.runtime.engine, expire_on_commit=False)
        session = self._session
        try:
            result = work(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        if after_commit is not None:
            after_commit(session)
            session.commit()
        return result

    async def analytics(self, query: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run `query(store, *args, **kwargs)` (a function of `app.plans.queries`, or one
        that also turns its result into GraphQL objects: that is CPU work too, kept off the
        loop) in an analytics thread, its statements under `STATEMENT_LIMITS`. Not under the
        session lock: ClickHouse queries of one request may run side by side, sharing the
        cores (`statement_settings`). The first call of a request takes one of the caller's
        slots (`TooManyRequests` when none frees up)."""
        await self.once(_ANALYTICS_SLOT, self._take_slot)
        work = partial(query, self.store, *args, **kwargs)
        self._analytics_calls += 1
        try:
            return await anyio.to_thread.run_sync(
                _limited,
                work,
                self.statement_settings,
                limiter=self.analytics_limiter or self.limiter,
            )
        finally:
            self._analytics_calls -= 1

    def statement_settings(self) -> QuerySettings:
        """The settings of the statements of an `analytics` call, decided as it starts running
        (in its thread, once the request's other sections have asked too): `STATEMENT_LIMITS`,
        and with other calls of the request in flight a share of the cores each, so that the
        page's sections do not each start a thread per core and oversubscribe them."""
        calls = self._analytics_calls
        if calls <= 1:
            return STATEMENT_LIMITS
        return {**STATEMENT_LIMITS, "max_threads": max(1, CORES // calls)}

    async def _take_slot(self) -> None:
        if self.gate is None:
            return
        principal = await self.principal()
        await self.gate.acquire(principal.throttle_key)
        self._slot = principal.throttle_key

    async def close(self) -> None:
        """Release the session's connection and the analytics slot (called once the response
        is sent)."""
        slot, self._slot = self._slot, None
        if slot is not None and self.gate is not None:
            self.gate.release(slot)
        session, self._session = self._session, None
        if session is not None:
            async with self._db_lock:
                await anyio.to_thread.run_sync(session.close, limiter=self.limiter)


def _limited(work: Callable[[], T], settings: Callable[[], QuerySettings]) -> T:
    with query_settings(settings()):
        return work()


Info = strawberry.Info[Context, None]
