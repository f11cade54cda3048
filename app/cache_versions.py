"""Change counters that let every process notice an admin change made by another one.

A process keeps catalog, prices and app credentials in memory; whoever changes them bumps a
counter in the same transaction, and each process polls the counters (one tiny query every few
seconds, off the request path) to reload what changed.
"""

from __future__ import annotations

from sqlmodel import Field, Session, SQLModel, select

PRICING = "pricing"
APPS = "apps"


class CacheVersion(SQLModel, table=True):
    __tablename__ = "cache_versions"

    name: str = Field(primary_key=True, max_length=50)
    version: int = 0


def bump(session: Session, name: str) -> None:
    row = session.get(CacheVersion, name, with_for_update=True)
    if row is None:
        session.add(CacheVersion(name=name, version=1))
    else:
        row.version += 1
        session.add(row)


def read_all(session: Session) -> dict[str, int]:
    return {row.name: row.version for row in session.exec(select(CacheVersion))}
