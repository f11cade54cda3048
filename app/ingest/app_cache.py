"""App credentials kept in memory, so that verifying a request costs no SQL query.

Entries live `ttl_s` seconds (unknown UUIDs too, so that a flood of bad UUIDs cannot reach the
database); a rotation or deactivation in this process invalidates the entry at once, and other
processes notice through the `apps` change counter (see `app.cache_versions`) or the TTL.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy.engine import Engine
from sqlmodel import select

from app.accounts.models import App, Workspace
from app.db import session_scope


@dataclass(frozen=True, slots=True)
class AppCredentials:
    uuid: UUID
    workspace_id: UUID
    active: bool
    api_secret: str
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    # As written into every queued row: formatted once per app, not once per event.
    uuid_text: str = ""
    workspace_id_text: str = ""

    def secrets(self, now: datetime) -> tuple[str, ...]:
        """The secrets that verify a signature now (the previous one during its grace period)."""
        if (
            self.previous_secret
            and self.previous_secret_expires_at
            and now < self.previous_secret_expires_at
        ):
            return (self.api_secret, self.previous_secret)
        return (self.api_secret,)


class AppCache:
    def __init__(self, engine: Engine, *, ttl_s: float) -> None:
        self.engine = engine
        self.ttl_s = ttl_s
        self._entries: dict[UUID, tuple[AppCredentials | None, float]] = {}
        self._lock = threading.Lock()

    def peek(self, app_uuid: UUID) -> tuple[bool, AppCredentials | None]:
        """(hit, credentials) without I/O; a hit may be a cached "no such app"."""
        entry = self._entries.get(app_uuid)
        if entry is None or time.monotonic() - entry[1] > self.ttl_s:
            return False, None
        return True, entry[0]

    def load(self, app_uuid: UUID) -> AppCredentials | None:
        """Read the app from the database and cache it (blocking: call off the event loop).

        An app whose workspace no longer exists (deleted by hand, foreign keys unchecked) is
        unknown: its events would belong to no one."""
        with session_scope(self.engine) as session:
            app = session.exec(select(App).join(Workspace).where(App.uuid == app_uuid)).first()
            creds = (
                None
                if app is None
                else AppCredentials(
                    uuid=app.uuid,
                    workspace_id=app.workspace_id,
                    active=app.active,
                    api_secret=app.api_secret,
                    previous_secret=app.previous_secret,
                    previous_secret_expires_at=app.previous_secret_expires_at,
                    uuid_text=str(app.uuid),
                    workspace_id_text=str(app.workspace_id),
                )
            )
        with self._lock:
            self._entries[app_uuid] = (creds, time.monotonic())
        return creds

    def invalidate(self, app_uuid: UUID | None = None) -> None:
        with self._lock:
            if app_uuid is None:
                self._entries.clear()
            else:
                self._entries.pop(app_uuid, None)
