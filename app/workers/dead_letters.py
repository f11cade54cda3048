"""The dead-letter table in the relational database (the same for every queue backend).

Only rows that ClickHouse refused for their content land here (app/workers/writer.py). Once the
cause is fixed (a column widened, a bug in a client's data), an operator replays them: they go
back into the ingest queue, and the writer stores each once (it skips an (app, event_id)
already stored), so a replay that is cut off half-way can simply be run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import col, delete, select

from app import audit
from app.db import session_scope
from app.event_types import QueuedRow
from app.workers.models import DeadLetter

# Where replayed rows go: the ingest queue's `put`.
QueuePut = Callable[[list[QueuedRow]], None]


@dataclass(frozen=True)
class DeadLetterSummary:
    count: int
    oldest: datetime | None


class DeadLetterStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, row: QueuedRow, error: str) -> None:
        with session_scope(self.engine) as session:
            session.add(
                DeadLetter(
                    app_id=str(row.get("app_id", ""))[:36],
                    event_id=str(row.get("event_id", ""))[:200],
                    error=error,
                    row=row,
                )
            )

    def list(self, limit: int = 100) -> list[DeadLetter]:
        with session_scope(self.engine) as session:
            query = select(DeadLetter).order_by(col(DeadLetter.created_at).desc()).limit(limit)
            return list(session.exec(query))

    def summary(self) -> DeadLetterSummary:
        with session_scope(self.engine) as session:
            count, oldest = session.exec(
                select(func.count(), func.min(DeadLetter.created_at))
            ).one()
        return DeadLetterSummary(int(count), oldest)

    def replay(self, put: QueuePut, *, actor: str, limit: int = 1000) -> int:
        """Queue the `limit` oldest dead letters again, then forget them; returns how many.

        Queued before they are deleted: a crash in between replays them twice, which the
        writer stores once."""
        with session_scope(self.engine) as session:
            letters = list(
                session.exec(select(DeadLetter).order_by(col(DeadLetter.created_at)).limit(limit))
            )
            if not letters:
                return 0
            put([letter.row for letter in letters])
            ids = [letter.id for letter in letters]
            session.exec(delete(DeadLetter).where(col(DeadLetter.id).in_(ids)))
            audit.record(
                session,
                actor=actor,
                action="dead_letters.replay",
                after={
                    "replayed": len(letters),
                    "event_ids": [letter.event_id for letter in letters[:20]],
                },
            )
        return len(letters)
