"""How many analytics requests one caller may have running at once.

The cost budget (app/graphql/cost.py) bounds one request; this bounds how many one token can
keep in flight, so one member cannot take every analytics thread with parallel requests while
the others of the workspace (and ingest) wait. A request takes its slot when it first queries
ClickHouse and keeps it until its response is sent.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

import anyio

from app.errors import TooManyRequests

# Analytics requests of one token running at once: a dashboard page sends a few.
PER_PRINCIPAL = 3
# How long a request beyond them waits for a slot before TOO_MANY_REQUESTS.
WAIT_S = 5.0


@dataclass
class _Slots:
    semaphore: anyio.Semaphore
    holders: int = 0  # requests holding or waiting for a slot: the entry goes when none do


@dataclass
class PrincipalGate:
    """Slots per caller, made on the event loop that serves the app (anyio primitives bind to
    it); entries of callers with nothing in flight are dropped."""

    per_principal: int = PER_PRINCIPAL
    wait_s: float = WAIT_S
    _slots: dict[Hashable, _Slots] = field(default_factory=dict)

    async def acquire(self, principal: Hashable) -> None:
        """Take a slot for `principal`, waiting up to `wait_s`; `TooManyRequests` after."""
        slots = self._slots.get(principal)
        if slots is None:
            slots = self._slots[principal] = _Slots(anyio.Semaphore(self.per_principal))
        slots.holders += 1
        acquired = False
        try:
            with anyio.move_on_after(self.wait_s):
                await slots.semaphore.acquire()
                acquired = True
        finally:
            if not acquired:
                self._leave(principal, slots)
        if not acquired:
            raise TooManyRequests(
                f"This token already has {self.per_principal} analytics requests running; "
                "retry once one of them has answered.",
                limit="analyticsRequestsInFlight",
                max=self.per_principal,
                retryAfterSeconds=1,
            )

    def release(self, principal: Hashable) -> None:
        slots = self._slots[principal]
        slots.semaphore.release()
        self._leave(principal, slots)

    def _leave(self, principal: Hashable, slots: _Slots) -> None:
        slots.holders -= 1
        if slots.holders == 0:
            del self._slots[principal]

    def in_flight(self, principal: Hashable) -> int:
        """Requests of `principal` holding or waiting for a slot."""
        slots = self._slots.get(principal)
        return 0 if slots is None else slots.holders
