"""Versioned ClickHouse migrations: `migrations/clickhouse/NNN_name.sql`, applied in order once.

ClickHouse DDL is not transactional, so every statement is written to be re-runnable
(IF NOT EXISTS …): a migration cut off half-way is simply applied again.

The files are frozen text: the migrator runs them as written and renders nothing from the code
of today, so a database migrated last year and one migrated now run the same statements. Some
were rendered from code once, when they were written (013 to 015 from app/store/rollups.py);
a figure changed since then is brought to the databases by a new numbered migration, never by
editing an old one (docs/changing-a-figure.md; `figure_migration_sql` renders its text, and
tests/analytics/test_frozen_migrations.py holds the digest of every released file's statements).

The files are written for one server. With a cluster (`SAAS_TRACKER_CLICKHOUSE_CLUSTER`),
`migrate(store, cluster=…)` renders every statement for it through
`app.store.cluster.for_cluster`: replicated local tables, Distributed tables under the
original names, ON CLUSTER everywhere (see docs/clickhouse-cluster.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.settings import MIGRATIONS_DIR
from app.store.cluster import for_cluster
from app.store.interface import AnalyticsStore
from app.store.rollups import Rollup, select_sql, view_name

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


def migrate(
    store: AnalyticsStore,
    *,
    cluster: str | None = None,
    directory: Path = CLICKHOUSE_MIGRATIONS_DIR,
) -> list[str]:
    """Apply pending migrations; returns the names applied.

    `cluster` names the ClickHouse cluster (`<remote_servers>`) the statements are rendered for;
    None (a single server, or chdb) runs them as written. `directory` holds the files (tests
    add a migration to a copy of them).
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
    for migration in load_migrations(directory):
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


# --- writing a new migration (never called when migrating) ------------------------------------


def figure_migration_statements(
    rollups: Sequence[Rollup], new_columns: Mapping[str, str]
) -> list[str]:
    """The statements of a new migration that brings `rollups` to the figures the code defines
    now (docs/changing-a-figure.md), rendered once and written into its file as text.

    Per rollup: the columns of its new figures added (`new_columns`: alias -> column type),
    each after the column before it in `table_sql`'s order, since a backfill or a repair
    (`INSERT INTO t SELECT …`) fills the columns by position; its view dropped and created
    again with today's SELECT; its rows computed again from the raw rows (the TRUNCATE makes
    a migration cut off half-way and run again count them once). Like 013, it runs with the
    writers stopped (`serve` and `migrate` migrate before any worker starts).
    """
    unknown = set(new_columns) - {f.alias for rollup in rollups for f in rollup.figures}
    if unknown:
        raise ValueError(f"not the column of a figure of these rollups: {sorted(unknown)}")
    statements = []
    for rollup in rollups:
        previous, added = "source_rows", []
        for figure in rollup.figures:
            if figure.alias in new_columns:
                added.append(
                    f"ADD COLUMN IF NOT EXISTS {figure.alias} {new_columns[figure.alias]} "
                    f"AFTER {previous}"
                )
            previous = figure.alias
        if added:
            statements.append(f"ALTER TABLE {rollup.name} {', '.join(added)}")
        statements += [
            f"DROP VIEW IF EXISTS {view_name(rollup)}",
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {view_name(rollup)} TO {rollup.name} AS "
            + select_sql(rollup),
            f"TRUNCATE TABLE {rollup.name}",
            f"INSERT INTO {rollup.name} " + select_sql(rollup),
        ]
    return statements


def figure_migration_sql(
    rollups: Sequence[Rollup], new_columns: Mapping[str, str], *, why: str
) -> str:
    """The text of that migration's file: `why` as its comment, then one statement a line."""
    comment = "".join(f"-- {line}".rstrip() + "\n" for line in why.strip().splitlines())
    body = "".join(f"{s};\n\n" for s in figure_migration_statements(rollups, new_columns))
    return f"{comment}\n{body}".rstrip("\n") + "\n"
