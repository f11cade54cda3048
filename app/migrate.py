"""`saas-tracker migrate`: relational (Alembic) and ClickHouse migrations plus seed data.

Idempotent: safe to run at every start and from several processes.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from app.db import session_scope
from app.plans.service import seed_plans
from app.pricing.seed import seed_catalog
from app.relational_migrations import upgrade
from app.store.interface import AnalyticsStore
from app.store.migrations import migrate as migrate_clickhouse


def migrate_relational(database_url: str, engine: Engine) -> None:
    upgrade(database_url)
    with session_scope(engine) as session:
        seed_plans(session)
        session.flush()
        seed_catalog(session)


def migrate_all(
    database_url: str, engine: Engine, store: AnalyticsStore | None, cluster: str | None = None
) -> None:
    migrate_relational(database_url, engine)
    if store is not None:
        migrate_clickhouse(store, cluster=cluster)
