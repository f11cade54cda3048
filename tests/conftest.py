"""Fixtures on real engines: SQLite and PostgreSQL, chdb, Redis.

A required service that does not answer fails the test run (as dramatiq's `check_redis`
does): CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.analytics.migrations import migrate as migrate_clickhouse
from app.analytics.store import AnalyticsStore, open_store
from app.db import make_engine, session_scope
from app.models import metadata
from app.plans.service import seed_plans
from app.pricing.seed import seed_catalog
from app.relational_migrations import upgrade
from app.settings import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# chdb allows one data folder per process: every test of this process shares it and isolates
# itself in its own database.
CHDB_FOLDER = Path(os.environ.get("TEST_CHDB_FOLDER", f"/tmp/saas-tracker-tests-{os.getpid()}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this process's chdb folder (hundreds of MB after a full run), unless the caller
    chose it with TEST_CHDB_FOLDER to look into it."""
    if "TEST_CHDB_FOLDER" not in os.environ:
        shutil.rmtree(CHDB_FOLDER, ignore_errors=True)


def _sqlalchemy_pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, migrated once, dropped at the end."""
    name = f"saas_tracker_test_{os.getpid()}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests and does not answer: {exc}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    url = _sqlalchemy_pg(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    upgrade(url)
    yield url
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _seed(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_plans(session)
        session.flush()
        seed_catalog(session)


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The relational database, migrated and seeded. Tests that must run on both databases
    parametrize this fixture indirectly with ["sqlite", "postgresql"]."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'relational.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        _seed(engine)
        engine.dispose()
        yield url
        return
    url = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    _seed(engine)
    engine.dispose()
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_scope(engine) as session:
        yield session


@pytest.fixture(scope="session")
def clickhouse_template() -> Iterator[AnalyticsStore]:
    """One database of the embedded engine migrated for the whole run, which each test's
    database copies: migrating one costs seconds here (ClickHouse re-checks every projection
    at each ALTER), copying its tables a fraction of a second."""
    store = open_store(f"chdb://{CHDB_FOLDER}?database=template_{uuid.uuid4().hex[:12]}")
    migrate_clickhouse(store)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {store.database}")


def copy_database(store: AnalyticsStore, target: str) -> None:
    """Create `target` with the tables of `store`'s database (projections, indexes and TTLs
    included) and their rows (the applied migrations), then its materialized views."""
    store.command(f"CREATE DATABASE {target}")
    tables = store.query(
        "SELECT name, engine, create_table_query FROM system.tables WHERE database = {db:String}",
        {"db": store.database},
    )
    views = [row for row in tables if row["engine"] == "MaterializedView"]
    for table in (row["name"] for row in tables if row not in views):
        store.command(f"CREATE TABLE {target}.{table} AS {store.database}.{table}")
        store.command(f"INSERT INTO {target}.{table} SELECT * FROM {store.database}.{table}")
    for view in views:
        store.command(view["create_table_query"].replace(f"{store.database}.", f"{target}."))


@pytest.fixture
def clickhouse_database(clickhouse_template: AnalyticsStore) -> str:
    """A migrated database of the embedded engine of the test's own (a copy of the template)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    copy_database(clickhouse_template, name)
    return name


@pytest.fixture
def clickhouse_url(clickhouse_database: str) -> str:
    return f"chdb://{CHDB_FOLDER}?database={clickhouse_database}"


@pytest.fixture
def store(clickhouse_url: str, clickhouse_database: str) -> Iterator[AnalyticsStore]:
    """The test's migrated ClickHouse database, dropped afterwards."""
    store = open_store(clickhouse_url)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {clickhouse_database}")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis db 13, emptied before and after each test."""
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.ConnectionError as exc:
        pytest.fail(f"Redis is required for these tests and does not answer: {exc}")
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture
def settings(
    tmp_path: Path, database_url: str, clickhouse_url: str, clickhouse_database: str
) -> Iterator[Settings]:
    """Embedded-mode settings on the test's own databases (no Redis); the ClickHouse database
    the application creates is dropped afterwards."""
    yield Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        clickhouse_url=clickhouse_url,
        batch_max_wait_s=0.2,
    )
    open_store(clickhouse_url).command(f"DROP DATABASE IF EXISTS {clickhouse_database}")


@pytest.fixture(params=["local", "redis"])
def queue_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The settings of each queue mode: the embedded on-disk queue, and Redis (Dramatiq)."""
    if request.param == "local":
        return settings
    url = request.getfixturevalue("redis_url")
    return settings.model_copy(update={"redis_url": SecretStr(url)})
