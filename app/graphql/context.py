"""The per-request GraphQL context: who is calling, one DB session, and blocking work off the loop.

IMPORTANT: the ingest endpoint shares this event loop, so a resolver must never block it.
Every SQL statement runs through `Context.read`/`Context.write`, and every ClickHouse query
through `Context.analytics`, each in a worker thread (`anyio.to_thread`). Analytics threads
are few (`analytics_limiter`), each statement runs with `STATEMENT_LIMITS`, and one token has
at most a few analytics requests in flight (`PrincipalGate`): CPU spent converting results
holds the GIL that the event loop needs too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
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
from app.accounts.service import Principal, authenticate
from app.analytics.store import AnalyticsStore, QuerySettings, query_settings
from app.errors import Forbidden, Unauthenticated
from app.graphql.throttle import PrincipalGate
from app.runtime import Runtime
from app.settings import Settings

T = TypeVar("T")

_BEARER = "bearer"
_ANALYTICS_SLOT = "analytics_slot"

# What one dashboard statement may take of ClickHouse (settings of every SELECT of
# `Context.analytics`); past them it fails with QUERY_TOO_COSTLY. Dashboard statements take
# tens of milliseconds and megabytes at 10 M events (bench/README.md).
STATEMENT_LIMITS: QuerySettings = {
    "max_execution_time": 15,
    "max_memory_usage": 1024**3,
}


def bearer_token(request: Request | WebSocket) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (scheme case-insensitive)."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != _BEARER or not token.strip():
        return None
    return token.strip()


@dataclass
class Context:
    """Built once per request by the GraphQL app (`GraphQLApp.get_context`).

    One SQLModel session serves the whole request. Units of work on it are serialised by a
    lock (resolvers of one request run concurrently, a session must not be shared between
    threads at once) and each unit ends its transaction, so no connection is held while the
    request waits on ClickHouse.
    """

    request: Request | WebSocket
    runtime: Runtime
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

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def store(self) -> AnalyticsStore:
        return self.runtime.store

    # --- who is calling -------------------------------------------------------------------

    async def principal(self) -> Principal:
        """The caller, authenticated on first use (raises `Unauthenticated`)."""
        token = bearer_token(self.request)
        if token is None:
            raise Unauthenticated("Send 'Authorization: Bearer <token>'.")
        return await self.once("principal", lambda: self.read(partial(authenticate, token=token)))

    async def workspace_principal(self, *, admin: bool = False) -> tuple[Principal, UUID]:
        """The caller and its workspace; `Forbidden` for operators (they have no workspace) and,
        with `admin`, for members."""
        principal = await self.principal()
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
        """Run `query(store, *args, **kwargs)` (a function of `app.analytics.queries`, or one
        that also turns its result into GraphQL objects: that is CPU work too, kept off the
        loop) in an analytics thread, its statements under `STATEMENT_LIMITS`. Not under the
        session lock: ClickHouse queries of one request may run side by side. The first call
        of a request takes one of the caller's slots (`TooManyRequests` when none frees up)."""
        await self.once(_ANALYTICS_SLOT, self._take_slot)
        work = partial(query, self.store, *args, **kwargs)
        return await anyio.to_thread.run_sync(
            _limited, work, limiter=self.analytics_limiter or self.limiter
        )

    async def _take_slot(self) -> None:
        if self.gate is None:
            return
        principal = await self.principal()
        await self.gate.acquire(principal.token_id)
        self._slot = principal.token_id

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


def _limited(work: Callable[[], T]) -> T:
    with query_settings(STATEMENT_LIMITS):
        return work()


Info = strawberry.Info[Context, None]
