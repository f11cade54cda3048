"""The dead-letter table in the relational database (the same for every queue backend)."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.analytics.events_table import QueuedRow
from app.db import session_scope
from app.workers.models import DeadLetter


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
