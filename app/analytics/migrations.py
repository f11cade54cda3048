"""Versioned ClickHouse migrations: `migrations/clickhouse/NNN_name.sql`, applied in order once.

ClickHouse DDL is not transactional, so every statement is written to be re-runnable
(IF NOT EXISTS …): a migration cut off half-way is simply applied again.

The files are written for one server. With a cluster (`SAAS_TRACKER_CLICKHOUSE_CLUSTER`),
`migrate(store, cluster=…)` renders every statement for it through
`app.analytics.cluster.for_cluster`: replicated local tables, Distributed tables under the
original names, ON CLUSTER everywhere (see docs/clickhouse-cluster.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.analytics.cluster import for_cluster
from app.analytics.store import AnalyticsStore
from app.settings import MIGRATIONS_DIR

CLICKHOUSE_MIGRATIONS_DIR = MIGRATIONS_DIR / "clickhouse"
_FILE = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version UInt32, name String, applied_at DateTime DEFAULT now()) "
    "ENGINE = ReplacingMergeTree ORDER BY version"
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    statements: list[str]


def split_statements(sql: str) -> list[str]:
    """Statements end with a semicolon at the end of a line; comments are dropped."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return [p.strip() for p in parts if p.strip()]


def load_migrations(directory: Path = CLICKHOUSE_MIGRATIONS_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise ValueError(f"badly named ClickHouse migration {path.name}")
        migrations.append(
            Migration(int(match.group(1)), path.stem, split_statements(path.read_text()))
        )
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ValueError("two ClickHouse migrations share a version number")
    return migrations


def applied_versions(store: AnalyticsStore) -> set[int]:
    rows = store.query("SELECT version FROM schema_migrations")
    return {int(r["version"]) for r in rows}


def _has_migrations_table(store: AnalyticsStore) -> bool:
    rows = store.query(
        "SELECT count() AS n FROM system.tables "
        "WHERE database = {db:String} AND name = 'schema_migrations'",
        {"db": store.database},
    )
    return int(rows[0]["n"]) > 0


def migrate(store: AnalyticsStore, *, cluster: str | None = None) -> list[str]:
    """Apply pending migrations; returns the names applied.

    `cluster` names the ClickHouse cluster (`<remote_servers>`) the statements are rendered for;
    None (a single server, or chdb) runs them as written.
    """

    def run(statement: str) -> None:
        for rendered in for_cluster(statement, cluster=cluster, database=store.database):
            store.command(rendered)

    if cluster is None:
        store.command(MIGRATIONS_TABLE)
    elif not _has_migrations_table(store):
        # IMPORTANT: an ON CLUSTER statement waits for every node (distributed_ddl_task_timeout)
        # and fails if one is down. Issued only when this node lacks the migrations table, so
        # that a start with nothing pending never depends on the other nodes. The database must
        # exist on every node before tables can be created in it there.
        run(f"CREATE DATABASE IF NOT EXISTS {store.database}")
        run(MIGRATIONS_TABLE)
    done = applied_versions(store)
    applied = []
    for migration in load_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            run(statement)
        # With a cluster, schema_migrations is replicated to every node: this local INSERT
        # reaches them all.
        store.command(
            "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})",
            {"v": migration.version, "n": migration.name},
        )
        applied.append(migration.name)
    return applied
