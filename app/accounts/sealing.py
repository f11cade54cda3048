"""App secrets sealed at rest: Fernet (AES-128-CBC with HMAC-SHA256), keys rotatable.

The keys come from SAAS_TRACKER_SECRET_KEY (comma-separated, newest first: the newest seals,
every one opens). Outside production, when it is unset, a key is generated into
`data_dir/secret_key` on first use (the embedded default works with zero set-up); production
refuses to start without the variable (`Settings`), so the key never sits beside the database
it protects.

The `apps` columns holding secrets are `SealedSecret`: rows in memory hold the clear secret,
the database only its sealed form. Which keys the column type uses is this process's keyring
(`configure`, done when the HTTP app is built and by the CLI; otherwise built from the
environment's settings on first use). Opening a secret is memoized per sealed value, so the
ingest path's app cache pays for one decryption per app and rotation, not one per reload.

IMPORTANT: nothing here may put a secret or a key into an exception message or a log line.
"""

from __future__ import annotations

import contextlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import String, TypeDecorator, column, select, table, update
from sqlalchemy.engine import Dialect
from sqlmodel import Session

from app.settings import Settings

KEY_FILE_NAME = "secret_key"
# Every Fernet token starts with its version byte 0x80, base64-encoded: "gAAAAA". A clear
# secret (64 hex digits) never does, which tells the migration what is still to seal.
_FERNET_PREFIX = "gAAAAA"
# Opened secrets remembered per process (a few hundred bytes each).
_MEMO_MAX = 10_000
# Room for a sealed 128-character secret (Fernet adds ~57 bytes and base64's third).
SEALED_LENGTH = 512


class KeyringError(RuntimeError):
    """The configured keys are unusable, or none of them opens a sealed secret."""


def is_sealed(value: str) -> bool:
    return value.startswith(_FERNET_PREFIX)


def parse_keys(text: str) -> list[bytes]:
    """Fernet keys from comma-, space- or newline-separated text, newest first."""
    keys = [part.strip() for part in text.replace("\n", ",").replace(" ", ",").split(",")]
    keys = [key for key in keys if key]
    if not keys:
        raise KeyringError("SAAS_TRACKER_SECRET_KEY holds no key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            # The position only: the value is a secret even when it is a wrong one.
            raise KeyringError(
                f"Key #{position} of SAAS_TRACKER_SECRET_KEY is not a Fernet key (32 url-safe "
                "base64-encoded bytes)."
            ) from None
    return [key.encode() for key in keys]


def generate_key() -> str:
    return Fernet.generate_key().decode()


@dataclass
class Keyring:
    """Seals with the newest key, opens with any of them."""

    keys: list[bytes] = field(repr=False)
    source: str = ""
    _fernet: MultiFernet = field(init=False, repr=False)
    _opened: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in self.keys])

    def seal(self, clear: str) -> str:
        return self._fernet.encrypt(clear.encode()).decode()

    def open(self, sealed: str) -> str:
        clear = self._opened.get(sealed)
        if clear is not None:
            return clear
        try:
            clear = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise KeyringError(
                "A sealed app secret opens with none of the configured keys: "
                "SAAS_TRACKER_SECRET_KEY must still list the key that sealed it."
            ) from None
        with self._lock:
            if len(self._opened) >= _MEMO_MAX:
                self._opened.clear()
            self._opened[sealed] = clear
        return clear

    def reseal(self, sealed: str) -> str:
        """The same secret sealed with the newest key (a clear one is sealed)."""
        if not is_sealed(sealed):
            return self.seal(sealed)
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken:
            raise KeyringError(
                "A sealed app secret opens with none of the configured keys."
            ) from None


def key_file(settings: Settings) -> Path:
    return settings.data_dir / KEY_FILE_NAME


def _read_or_create_key_file(path: Path) -> str:
    """The key file's text, generating the file (owner-only) if it does not exist yet. Two
    processes starting at once agree: the file is created exclusively, the loser reads it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(generate_key() + "\n")
    return path.read_text()


def load_keyring(settings: Settings) -> Keyring:
    """The keys of SAAS_TRACKER_SECRET_KEY, else of the data folder's key file (generated on
    first use). Production settings without the variable are refused by `Settings` itself."""
    if settings.secret_key is not None:
        return Keyring(parse_keys(settings.secret_key.get_secret_value()), "environment")
    path = key_file(settings)
    return Keyring(parse_keys(_read_or_create_key_file(path)), str(path))


_current: Keyring | None = None
_current_lock = threading.Lock()


def configure(settings: Settings) -> Keyring:
    """Make the keys of `settings` this process's keyring."""
    global _current
    keyring = load_keyring(settings)
    with _current_lock:
        _current = keyring
    return keyring


def current() -> Keyring:
    """This process's keyring; built from the environment's settings if none was configured
    (the CLI and `serve` read the same environment)."""
    global _current
    with _current_lock:
        if _current is None:
            _current = load_keyring(Settings())
        return _current


class SealedSecret(TypeDecorator[str]):
    """A string column stored sealed with this process's keyring, clear in memory."""

    impl = String(SEALED_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else current().seal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else current().open(str(value))


# The sealed columns as stored, without `SealedSecret`'s processing: what re-sealing and the
# migration read and write.
SEALED_COLUMNS = ("api_secret", "previous_secret")
_raw_apps = table(
    "apps",
    column("uuid"),
    *(column(name, String(SEALED_LENGTH)) for name in SEALED_COLUMNS),
)


def reseal_all(session: Session, keyring: Keyring) -> int:
    """Seal every app secret with the newest key (clear ones too); returns how many values
    were rewritten. Run after adding a key in front of SAAS_TRACKER_SECRET_KEY, before the
    old key is dropped."""
    rows = session.execute(
        select(_raw_apps.c.uuid, *(_raw_apps.c[name] for name in SEALED_COLUMNS))
    ).all()
    rewritten = 0
    for row in rows:
        values: dict[str, str] = {}
        for name, value in zip(SEALED_COLUMNS, row[1:], strict=True):
            if value is not None:
                values[name] = keyring.reseal(value)
        if values:
            session.execute(update(_raw_apps).where(_raw_apps.c.uuid == row[0]).values(**values))
            rewritten += len(values)
    return rewritten
