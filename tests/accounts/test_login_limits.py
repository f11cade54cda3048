"""How long a failed sign-in's answer waits: nothing at first, then doubling, capped."""

from __future__ import annotations

from app.accounts.login_limits import LoginPolicy
from app.settings import Settings


def test_failed_sign_ins_are_answered_slower_and_slower_up_to_the_cap() -> None:
    policy = LoginPolicy.of(Settings(_env_file=None))  # type: ignore[call-arg]
    assert [policy.delay(failures) for failures in range(1, 9)] == [
        0.0,
        0.0,
        0.0,
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
    ]
