"""Fixtures on real engines: SQLite and PostgreSQL, chdb, Redis.

A required service that does not answer fails the test run (as dramatiq's `check_redis`
does): CI must never pass by skipping.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.db import make_engine, session_scope
from app.models import metadata
from app.plans.service import seed_plans
from app.pricing.seed import seed_catalog
from app.relational_migrations import upgrade
from app.settings import Settings
from app.store.interface import AnalyticsStore, open_store
from app.store.migrations import migrate as migrate_clickhouse

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _temporary_files_in_memory() -> None:
    """Every temporary file of the run (chdb folders, `serve` data, SQLite copies) in memory
    when /dev/shm has room: ClickHouse writes a part as dozens of small files, which costs
    several times more on a disk, and the suite writes tens of thousands of parts. Set in the
    session's own process, before the workers start: they inherit TMPDIR."""
    if "TMPDIR" in os.environ or "PYTEST_XDIST_WORKER" in os.environ:
        return
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return
    if shutil.disk_usage(shm).free < 8 * 2**30:
        return
    folder = shm / f"saas-tracker-tests-{os.getpid()}"
    folder.mkdir(exist_ok=True)
    os.environ["TMPDIR"] = str(folder)
    os.environ["SAAS_TRACKER_TESTS_TMPDIR"] = str(folder)  # removed when the session ends
    tempfile.tempdir = None  # computed again from TMPDIR


_temporary_files_in_memory()
# Under pytest-xdist every worker is a process of its own: "gw0", "gw1"… ("main" without xdist).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
_WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0
# Redis db 13 for the first (or only) process, 14 and 15 for the others: flushing one never
# touches another process's keys.
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", f"redis://127.0.0.1:6379/{13 + _WORKER_INDEX}")
# chdb allows one data folder per process: every test of this process uses it.
CHDB_FOLDER = Path(
    os.environ.get("TEST_CHDB_FOLDER", f"{tempfile.gettempdir()}/saas-tracker-tests-{os.getpid()}")
)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one process more than the cores, as a good share of the suite waits on other
    processes (`serve`, clickhouse-server) rather than computing; at most three, so that each
    has a Redis db of its own among 13, 14 and 15."""
    return min((os.cpu_count() or 1) + 1, 3)


# The modules that take longest (their wall time in a full run, longest first), started first
# so that none is left running alone at the end of the run: a module of a few tests that each
# wait on `serve` processes, started last, would hold the run open alone. The rest follow by
# their number of tests. With `--dist loadfile` a module runs whole on one worker.
SLOWEST_MODULES = (
    "tests/web/test_dashboard.py",
    "tests/analytics/test_ai_cost_preaggregation.py",
    "tests/workers/test_crash_recovery.py",
    "tests/graphql/test_organizations.py",
    "tests/workers/test_disk_full.py",
    "tests/scale_out/test_split_serve.py",
    "tests/ingest/test_endpoint.py",
    "tests/test_openapi.py",
    "tests/test_client.py",
    "tests/workers/test_write_locks.py",
    "tests/test_served_address.py",
    "tests/organizations/test_organizations_preaggregation.py",
    "tests/graphql/test_ai_cost.py",
    "tests/analytics/test_chdb_store.py",
    "tests/client/test_wrap.py",
    "tests/graphql/test_admin_portal.py",
    "tests/test_readme.py",
    "tests/graphql/test_client_cache.py",
    "tests/test_demo.py",
    "tests/workers/test_broken_parts.py",
    "tests/scale_out/test_two_ingest_processes.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    modules: dict[str, list[pytest.Item]] = {}
    for item in items:
        modules.setdefault(item.nodeid.split("::")[0], []).append(item)
    rank = {name: position for position, name in enumerate(SLOWEST_MODULES)}
    ordered = sorted(modules, key=lambda m: (rank.get(m, len(rank)), -len(modules[m])))
    items[:] = [item for module in ordered for item in modules[module]]


def pytest_collection_finish(session: pytest.Session) -> None:
    """The garbage collector, tuned for a test process: what collection imported (the app, the
    engines' bindings, every test module) lives to the end and is kept out of its way, and it
    runs ~30 times less often (a young generation of 20,000 objects instead of 700). Measured
    on the GraphQL modules: 3.0 s of CPU in collections → 0.75 s."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remove this process's chdb folder (hundreds of MB after a full run), unless the caller
    chose it with TEST_CHDB_FOLDER to look into it."""
    if "TEST_CHDB_FOLDER" not in os.environ:
        shutil.rmtree(CHDB_FOLDER, ignore_errors=True)
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the session's own process: after the workers
        from tests.served import TEMPLATES_ROOT

        shutil.rmtree(TEMPLATES_ROOT, ignore_errors=True)
        if "SAAS_TRACKER_TESTS_TMPDIR" in os.environ:
            shutil.rmtree(os.environ["SAAS_TRACKER_TESTS_TMPDIR"], ignore_errors=True)


def _sqlalchemy_pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _seed(engine: Engine) -> None:
    with session_scope(engine) as session:
        seed_plans(session)
        session.flush()
        seed_catalog(session)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of this test process, migrated once, dropped at the end."""
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated and seeded once per test process, which each test copies."""
    path = tmp_path_factory.mktemp("sqlite-template") / "relational.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    _seed(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The relational database, migrated and seeded. Tests that must run on both databases
    parametrize this fixture indirectly with ["sqlite", "postgresql"]."""
    if request.param == "sqlite":
        path = tmp_path / "relational.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
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
    """A migrated database of the embedded engine, which the tests of this process copy
    (`copy_database`: a fraction of a second). Migrating costs seconds (ClickHouse re-checks
    every projection at each ALTER): so this process's engine folder starts as a copy of the
    migrated installation the `serve` tests start from, migrated once per run."""
    from tests.served import DEFAULT_DATABASE, migrated_engine_folder

    database = f"template_{uuid.uuid4().hex[:12]}"
    if not CHDB_FOLDER.exists():  # this process has not opened its engine yet
        shutil.copytree(migrated_engine_folder(), CHDB_FOLDER, symlinks=True)
        database = DEFAULT_DATABASE
    store = open_store(f"chdb://{CHDB_FOLDER}?database={database}")
    migrate_clickhouse(store)  # nothing pending unless the folder was not copied
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


@contextmanager
def database_copy(source: AnalyticsStore, prefix: str = "own") -> Iterator[AnalyticsStore]:
    """A database of its own copied from `source` (schema and rows), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    copy_database(source, name)
    try:
        yield open_store(f"chdb://{CHDB_FOLDER}?database={name}")
    finally:
        source.command(f"DROP DATABASE IF EXISTS {name}")


# A table as it was found: dropping and creating it again changes its uuid, altering it its
# metadata time; and how many rows it holds.
_TableState = tuple[str, str, object, int | None]


class ProcessDatabase:
    """The migrated database every test of this process uses in turn: tests of one process run
    one after the other, and `reset` makes it what a fresh copy of the template is (what each
    test had before), in milliseconds where a copy takes 0.3 to 1.3 s."""

    def __init__(self, template: AnalyticsStore) -> None:
        self.template = template
        self.store = open_store(f"chdb://{CHDB_FOLDER}?database=tests_{uuid.uuid4().hex[:12]}")
        self._copy()

    def _tables(self) -> dict[str, _TableState]:
        rows = self.store.query(
            "SELECT name, engine, uuid, metadata_modification_time AS altered, total_rows"
            " FROM system.tables WHERE database = {db:String}",
            {"db": self.store.database},
        )
        return {
            row["name"]: (row["engine"], str(row["uuid"]), row["altered"], row["total_rows"])
            for row in rows
        }

    def _copy(self) -> None:
        self.store.command(f"DROP DATABASE IF EXISTS {self.store.database}")
        copy_database(self.template, self.store.database)
        self.fresh = self._tables()

    def reset(self) -> None:
        """Tables and views a test added are dropped and every row it wrote is removed; if it
        dropped or altered a table of the schema, the template is copied again."""
        found = self._tables()
        if any(found.get(name, ("",))[:3] != table[:3] for name, table in self.fresh.items()):
            self._copy()
            return
        database = self.store.database
        # Views first: a table a test added may be the target of one.
        added = found.keys() - self.fresh.keys()
        for name in sorted(added, key=lambda n: found[n][0] != "MaterializedView"):
            self.store.command(f"DROP TABLE {database}.`{name}`")
        written = {
            name
            for name, (engine, _, _, rows) in found.items()
            if name in self.fresh and engine != "MaterializedView" and rows != self.fresh[name][3]
        }
        # One statement for all: truncating table by table costs about twice as much.
        if written - {"schema_migrations"}:
            self.store.command(f"TRUNCATE ALL TABLES FROM {database} NOT LIKE 'schema_migrations'")
        if "schema_migrations" in written:
            applied = f"{self.template.database}.schema_migrations"
            self.store.command(f"TRUNCATE TABLE {database}.schema_migrations")
            self.store.command(f"INSERT INTO {database}.schema_migrations SELECT * FROM {applied}")

    def drop(self) -> None:
        self.store.command(f"DROP DATABASE IF EXISTS {self.store.database}")


@pytest.fixture(scope="session")
def process_clickhouse(clickhouse_template: AnalyticsStore) -> Iterator[ProcessDatabase]:
    database = ProcessDatabase(clickhouse_template)
    yield database
    database.drop()


@pytest.fixture
def clickhouse_database(process_clickhouse: ProcessDatabase) -> str:
    """This process's migrated database, as migrating leaves it, whatever the test before it
    did (`ProcessDatabase.reset`)."""
    process_clickhouse.reset()
    return process_clickhouse.store.database


@pytest.fixture
def own_clickhouse_database(clickhouse_template: AnalyticsStore) -> Iterator[str]:
    """A migrated database of the test's own (a copy of the template), dropped afterwards: for
    a test that alters or drops the schema."""
    with database_copy(clickhouse_template) as store:
        yield store.database


@pytest.fixture
def clickhouse_url(clickhouse_database: str) -> str:
    return f"chdb://{CHDB_FOLDER}?database={clickhouse_database}"


@pytest.fixture
def store(clickhouse_url: str) -> Iterator[AnalyticsStore]:
    """The test's migrated ClickHouse database (`clickhouse_database`)."""
    store = open_store(clickhouse_url)
    yield store
    store.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """This process's Redis db, emptied before and after each test."""
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
def settings(tmp_path: Path, database_url: str, clickhouse_url: str) -> Settings:
    """Embedded-mode settings on the test's own databases (no Redis). Both are migrated
    already, so the application does not migrate them again when it starts."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        env="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        clickhouse_url=clickhouse_url,
        batch_max_wait_s=0.2,
        migrate_on_start=False,
    )


@pytest.fixture(params=["local", "redis"])
def queue_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """The settings of each queue mode: the embedded on-disk queue, and Redis (Dramatiq)."""
    if request.param == "local":
        return settings
    url = request.getfixturevalue("redis_url")
    return settings.model_copy(update={"redis_url": SecretStr(url)})
