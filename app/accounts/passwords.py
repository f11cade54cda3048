"""Passwords: Argon2id hashes (argon2-cffi), a minimum strength, and equal timing.

A password is never logged, audited or put into an error message; only its hash is stored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import BadUserInput
from app.settings import Settings

# Hashing a longer password costs more than any person types: bounded.
MAX_PASSWORD_LENGTH = 1024


@dataclass
class Passwords:
    """Hashes and verifies with one set of Argon2id parameters."""

    time_cost: int
    memory_kib: int
    parallelism: int
    min_length: int
    _hasher: PasswordHasher = field(init=False, repr=False)
    _dummy: str | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._hasher = PasswordHasher(
            time_cost=self.time_cost, memory_cost=self.memory_kib, parallelism=self.parallelism
        )

    def check_strength(self, password: str, *, field: str = "password", email: str = "") -> None:
        """`BadUserInput` naming `field` for a password too short, too long or equal to the
        e-mail address."""
        if len(password) < self.min_length:
            raise BadUserInput(
                f"A password needs at least {self.min_length} characters.", field=field
            )
        if len(password) > MAX_PASSWORD_LENGTH:
            raise BadUserInput(
                f"A password has at most {MAX_PASSWORD_LENGTH} characters.", field=field
            )
        if email and password.strip().lower() == email.lower():
            raise BadUserInput("A password must not be the e-mail address.", field=field)

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches. Without a hash (an unknown e-mail address, a user who has
        not set a password yet) a dummy hash is verified, so that the answer takes as long."""
        if password_hash is None:
            self._verify(self._dummy_hash(), password)
            return False
        return self._verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify(self, password_hash: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD_LENGTH:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self._hasher.hash("not the password of anyone")
        return self._dummy


_cache: dict[tuple[int, int, int, int], Passwords] = {}
_cache_lock = threading.Lock()


def passwords_for(settings: Settings) -> Passwords:
    """The hasher of these settings' parameters (one per process and parameters)."""
    key = (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
        settings.password_min_length,
    )
    with _cache_lock:
        passwords = _cache.get(key)
        if passwords is None:
            passwords = _cache[key] = Passwords(*key)
        return passwords
