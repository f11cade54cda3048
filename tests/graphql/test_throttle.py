"""The per-token bound on analytics requests in flight (app/graphql/throttle.py)."""

from __future__ import annotations

import anyio
import pytest

from app.errors import TooManyRequests
from app.graphql.throttle import PrincipalGate


def test_a_request_beyond_the_tokens_slots_is_too_many_requests_after_its_wait() -> None:
    async def main() -> None:
        gate = PrincipalGate(per_principal=2, wait_s=0.05)
        await gate.acquire("member")
        await gate.acquire("member")
        with pytest.raises(TooManyRequests) as refused:
            await gate.acquire("member")
        assert refused.value.extensions() == {
            "code": "TOO_MANY_REQUESTS",
            "status": 429,
            "limit": "analyticsRequestsInFlight",
            "max": 2,
            "retryAfterSeconds": 1,
        }
        assert gate.in_flight("member") == 2
        # Another token is not held up by this one's requests.
        await gate.acquire("admin")
        gate.release("admin")
        assert gate.in_flight("admin") == 0

    anyio.run(main)


def test_a_waiting_request_runs_as_soon_as_a_slot_frees_up() -> None:
    async def main() -> None:
        gate = PrincipalGate(per_principal=1, wait_s=5.0)
        await gate.acquire("member")
        order: list[str] = []

        async def second() -> None:
            await gate.acquire("member")
            order.append("second runs")
            gate.release("member")

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(second)
            await anyio.sleep(0.01)
            assert gate.in_flight("member") == 2  # one running, one waiting
            order.append("first answers")
            gate.release("member")
        assert order == ["first answers", "second runs"]
        assert gate.in_flight("member") == 0

    anyio.run(main)
