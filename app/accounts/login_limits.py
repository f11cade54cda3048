"""Failed sign-ins slowed, then refused for a while: per e-mail address and per client address.

Kept in the relational database, so that every process of a deployment counts the same
failures. Rows are keyed by a digest of "email:<address>" or "address:<ip>": the count of an
address that has no account is kept exactly like one that has, so a refusal tells nothing
about whether an account exists.

- Per e-mail address: past `delay_after` failures in the window each failed answer waits
  longer (doubling from `delay_s`, at most `delay_max_s`); at `account_lockout_after` failures
  sign-ins with that address are refused for `lockout_s`, the right password too.
- Per client address: refused for `lockout_s` at `address_lockout_after` failures (higher: many
  people may share one address behind a NAT); no delay.
- A successful sign-in clears its e-mail address's count (not its client address's).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, delete, select

from app.accounts.models import LoginThrottle
from app.db import as_utc
from app.settings import Settings


@dataclass(frozen=True)
class LoginPolicy:
    window_s: int
    delay_after: int
    delay_s: float
    delay_max_s: float
    account_lockout_after: int
    address_lockout_after: int
    lockout_s: int

    @classmethod
    def of(cls, settings: Settings) -> LoginPolicy:
        return cls(
            window_s=settings.login_window_s,
            delay_after=settings.login_delay_after,
            delay_s=settings.login_delay_s,
            delay_max_s=settings.login_delay_max_s,
            account_lockout_after=settings.login_account_lockout_after,
            address_lockout_after=settings.login_address_lockout_after,
            lockout_s=settings.login_lockout_s,
        )

    def delay(self, failures: int) -> float:
        """How long the answer to the `failures`-th failure in a row waits."""
        if failures <= self.delay_after:
            return 0.0
        doubling: float = 2.0 ** (failures - self.delay_after - 1)
        return min(self.delay_s * doubling, self.delay_max_s)


def _digest(kind: str, value: str) -> str:
    return hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()


def account_key(email: str) -> str:
    return _digest("email", email.strip().lower())


def address_key(address: str) -> str:
    return _digest("address", address)


def locked_for(session: Session, keys: list[str], *, now: datetime) -> float:
    """Seconds until sign-ins under any of `keys` are accepted again (0: they are now)."""
    rows = session.exec(select(LoginThrottle).where(col(LoginThrottle.key).in_(keys))).all()
    until = [as_utc(row.locked_until) for row in rows if row.locked_until is not None]
    remaining = max((moment - now).total_seconds() for moment in until) if until else 0.0
    return max(remaining, 0.0)


def _row(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The key's row, created if missing, locked for this transaction (concurrent failures of
    one key count each)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(LoginThrottle)
        .values(key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
    assert row is not None
    return row


def record_failure(
    session: Session, *, key: str, lockout_after: int, policy: LoginPolicy, now: datetime
) -> int:
    """Count a failure of `key`; returns its failures in the current window, this one included
    (the count that locks the key starts a new window)."""
    row = _row(session, key, now)
    window_over = as_utc(row.window_started_at) + timedelta(seconds=policy.window_s) <= now
    if window_over:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    failures = row.failures
    if failures >= lockout_after:
        row.locked_until = now + timedelta(seconds=policy.lockout_s)
        row.failures, row.window_started_at = 0, now
    session.add(row)
    return failures


def clear(session: Session, key: str) -> None:
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.key) == key))
