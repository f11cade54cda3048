"""Migrations rendered for a ClickHouse cluster (app/store/cluster.py), checked by the engine.

No cluster can run here: no modern ClickHouse server installs on this machine, and chdb has no
`<remote_servers>`, no `<macros>` and no Keeper. The proof is therefore what the current engine
(chdb) can say about the rendered SQL:

- every statement of every migration, rendered for a cluster named "analytics", parses
  (`formatQuery`) and carries the fragments the ClickHouse docs prescribe;
- the ALTER routing (local table only, or local and Distributed) agrees with the engine's own
  parse of each ALTER's commands (`EXPLAIN AST`);
- the Distributed tables fail only at the cluster lookup (their sharding key is valid against the
  migrated columns) and the replicated engines only at the `{shard}` macro — exactly what a
  single process lacks.

The transport half (the store sending the cluster settings) runs on the private 18.16 server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from app.errors import AnalyticsRejected
from app.store.cluster import (
    CLUSTER_QUERY_SETTINGS,
    SHARDING_KEY,
    UnsupportedClusterStatement,
    for_cluster,
)
from app.store.interface import AnalyticsStore, Params, Row
from app.store.migrations import MIGRATIONS_TABLE, load_migrations, migrate
from app.store.native_store import NativeStore
from tests.analytics.conftest import ClickHouseServer
from tests.conftest import database_copy

CLUSTER = "analytics"
DATABASE = "saas_tracker"
# The retention job's statement (app/workers/retention.py): on a cluster it must reach the
# local tables, since a Distributed table refuses a lightweight DELETE.
RETENTION_DELETE = (
    "DELETE FROM events WHERE workspace_id = {w:UUID} AND timestamp < {cutoff:DateTime64(3, 'UTC')}"
)
# Every statement the application renders: each of every migration, plus the migrator's own.
STATEMENTS = [
    pytest.param(statement, id=f"{migration.name}#{index}")
    for migration in load_migrations()
    for index, statement in enumerate(migration.statements)
] + [
    pytest.param(f"CREATE DATABASE IF NOT EXISTS {DATABASE}", id="create_database"),
    pytest.param(MIGRATIONS_TABLE, id="schema_migrations"),
    pytest.param(RETENTION_DELETE, id="retention_delete"),
]
CREATE_TABLES = [
    (match.group(1), statement)
    for migration in load_migrations()
    for statement in migration.statements
    if (match := re.match(r"CREATE TABLE IF NOT EXISTS (\w+)", statement))
]
ALTERS = [
    pytest.param(statement, id=f"{migration.name}#{index}")
    for migration in load_migrations()
    for index, statement in enumerate(migration.statements)
    if statement.startswith("ALTER TABLE")
]
# The only ALTER commands StorageDistributed::checkAlterIsPossible accepts (besides a table
# comment): the ones that must reach the Distributed table too.
COLUMN_COMMANDS = {"ADD_COLUMN", "DROP_COLUMN", "MODIFY_COLUMN", "RENAME_COLUMN", "COMMENT_COLUMN"}


def rendered(statement: str, database: str = DATABASE) -> list[str]:
    return for_cluster(statement, cluster=CLUSTER, database=database)


@pytest.fixture(scope="module")
def engine(clickhouse_template: AnalyticsStore) -> Iterator[AnalyticsStore]:
    """The embedded engine with the single-node schema in a database of its own (the tests
    create tables in it)."""
    with database_copy(clickhouse_template, "test_cluster") as store:
        yield store


def formatted(engine: AnalyticsStore, sql: str) -> str:
    """The statement as the engine's parser reads it (raises if it does not parse)."""
    return str(engine.query("SELECT formatQuery({q:String}) AS sql", {"q": sql})[0]["sql"])


def ast(engine: AnalyticsStore, sql: str) -> list[str]:
    return [str(row["explain"]) for row in engine.query(f"EXPLAIN AST {sql}")]


def refusal_code(engine: AnalyticsStore, sql: str) -> int:
    with pytest.raises(AnalyticsRejected) as refused:
        engine.command(sql)
    return int(refused.value.details["clickhouse_code"])


# --- no cluster: nothing changes ---------------------------------------------------------------


@pytest.mark.parametrize("statement", STATEMENTS)
def test_without_a_cluster_every_statement_is_left_as_it_is(statement: str) -> None:
    assert for_cluster(statement, cluster=None, database=DATABASE) == [statement]


# --- every statement parses, on the cluster, qualified -----------------------------------------


@pytest.mark.parametrize("statement", STATEMENTS)
def test_every_rendered_statement_parses_and_targets_the_cluster(
    engine: AnalyticsStore, statement: str
) -> None:
    for sql in rendered(statement):
        text = formatted(engine, sql)
        # Stable under a second round trip: the engine read every part of it.
        assert formatted(engine, text) == text
        if sql.startswith("INSERT INTO"):  # a backfill: once, through the Distributed tables
            assert " ON CLUSTER " not in text
            assert re.match(
                rf"^INSERT INTO {DATABASE}\.\w+ SELECT\s.*\sFROM {DATABASE}\.\w+\s", text, re.S
            )
            continue
        assert f" ON CLUSTER {CLUSTER}" in text.splitlines()[0]
        if not sql.startswith("CREATE DATABASE"):
            assert re.match(
                rf"^\w+( TABLE IF NOT EXISTS| TABLE| FROM| MATERIALIZED VIEW IF NOT EXISTS) "
                rf"{DATABASE}\.\w+ ON",
                text,
            )


# --- CREATE TABLE ------------------------------------------------------------------------------


def test_a_table_becomes_a_replicated_local_table_and_a_distributed_one(
    engine: AnalyticsStore,
) -> None:
    [statement] = load_migrations()[0].statements
    local, distributed = (formatted(engine, sql) for sql in rendered(statement))

    assert local.startswith(
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.events_local ON CLUSTER {CLUSTER}\n("
    )
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/events_local', "
        "'{replica}')\nPARTITION BY toYYYYMM(timestamp)\nORDER BY (workspace_id, timestamp)"
    ) in local
    assert "`properties` String CODEC(ZSTD(1))" in local
    assert distributed == (
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.events ON CLUSTER {CLUSTER} "
        f"AS {DATABASE}.events_local\n"
        f"ENGINE = Distributed('{CLUSTER}', '{DATABASE}', 'events_local', cityHash64(workspace_id))"
    )


def test_a_replacing_merge_tree_keeps_its_version_after_the_replication_arguments(
    engine: AnalyticsStore,
) -> None:
    [statement] = next(
        m for m in load_migrations() if m.name == "006_organization_plans"
    ).statements
    local = formatted(engine, rendered(statement)[0])
    assert (
        "ENGINE = ReplicatedReplacingMergeTree("
        "'/clickhouse/tables/{shard}/{database}/organization_plans_local', '{replica}', updated_at)"
        "\nORDER BY (workspace_id, customer_org_id)"
    ) in local


@pytest.mark.parametrize(("table", "statement"), CREATE_TABLES, ids=[t for t, _ in CREATE_TABLES])
def test_every_table_is_replicated_per_shard_and_sharded_by_workspace(
    engine: AnalyticsStore, table: str, statement: str
) -> None:
    local, distributed = (formatted(engine, sql) for sql in rendered(statement))
    assert re.search(
        rf"ENGINE = Replicated\w*MergeTree\('/clickhouse/tables/\{{shard\}}/\{{database\}}/"
        rf"{table}_local', '\{{replica\}}'",
        local,
    )
    assert distributed.endswith(
        f"ENGINE = Distributed('{CLUSTER}', '{DATABASE}', '{table}_local', {SHARDING_KEY})"
    )


def test_the_distributed_tables_pass_every_engine_check_but_the_cluster_lookup(
    engine: AnalyticsStore,
) -> None:
    """chdb has no cluster, so creating a Distributed table fails — at the cluster lookup, after
    the engine checked the sharding key against the columns: pointed at the migrated single-node
    tables (the same columns as the local ones), each of ours fails only there (701), where a
    bad key fails first (47)."""
    database = engine.database
    for table, statement in CREATE_TABLES:
        distributed = rendered(statement, database)[1]
        check = (
            distributed.replace(f" ON CLUSTER '{CLUSTER}'", "")
            .replace(f"EXISTS {database}.{table} ", f"EXISTS {database}.{table}_check ")
            .replace(f"AS {database}.{table}_local", f"AS {database}.{table}")
            .replace(f"'{table}_local'", f"'{table}'")
        )
        assert refusal_code(engine, check) == 701, check  # CLUSTER_DOESNT_EXIST
        bad_key = check.replace(SHARDING_KEY, "cityHash64(no_such_column)")
        assert refusal_code(engine, bad_key) == 47, bad_key  # UNKNOWN_IDENTIFIER


def test_the_replicated_engines_pass_every_engine_check_but_the_macros(
    engine: AnalyticsStore,
) -> None:
    """chdb has no <macros>: the engine name and arguments are accepted and the built-in
    {database} is expanded; the first thing missing is {shard} (139), where an unknown engine
    fails first (56)."""
    database = engine.database
    for _table, statement in CREATE_TABLES:
        local = rendered(statement, database)[0].replace(f" ON CLUSTER '{CLUSTER}'", "")
        with pytest.raises(AnalyticsRejected, match=rf"/clickhouse/tables/\{{shard\}}/{database}/"):
            engine.command(local)
        assert refusal_code(engine, local) == 139, local  # NO_ELEMENTS_IN_CONFIG
        assert refusal_code(engine, local.replace("MergeTree(", "MergeTreeX(", 1)) == 56


# --- the migrations table ----------------------------------------------------------------------


def test_the_migrations_table_is_replicated_to_every_node_and_not_sharded(
    engine: AnalyticsStore,
) -> None:
    [only] = rendered(MIGRATIONS_TABLE)
    assert formatted(engine, only) == (
        f"CREATE TABLE IF NOT EXISTS {DATABASE}.schema_migrations ON CLUSTER {CLUSTER}\n(\n"
        "    `version` UInt32,\n    `name` String,\n    `applied_at` DateTime DEFAULT now()\n)\n"
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{database}/schema_migrations',"
        " '{shard}-{replica}')\nORDER BY version"
    )
    # The engine expands the path (no {shard} in it) and stops at the replica name's macros.
    local = rendered(MIGRATIONS_TABLE, engine.database)[0].replace(f" ON CLUSTER '{CLUSTER}'", "")
    local = local.replace("schema_migrations ", "schema_migrations_check ", 1)
    with pytest.raises(AnalyticsRejected, match=r"No macro 'shard'.* in '\{shard\}-\{replica\}'"):
        engine.command(local)


# --- ALTER TABLE, DELETE, CREATE DATABASE ------------------------------------------------------


@pytest.mark.parametrize("statement", ALTERS)
def test_alters_reach_the_distributed_table_exactly_when_the_engine_parses_column_changes(
    engine: AnalyticsStore, statement: str
) -> None:
    commands = {
        line.split()[1]
        for line in ast(engine, statement)
        if line.strip().startswith("AlterCommand")
    }
    targets = [line.split()[1:3] for sql in rendered(statement) for line in ast(engine, sql)[:1]]
    table = statement.split()[2]
    if commands <= COLUMN_COMMANDS:
        # Local first: the Distributed table never names a column its shards lack.
        assert targets == [[DATABASE, f"{table}_local"], [DATABASE, table]]
    else:
        assert commands.isdisjoint(COLUMN_COMMANDS)
        assert targets == [[DATABASE, f"{table}_local"]]


def test_added_columns_go_to_both_tables_and_indexes_to_the_local_one_only() -> None:
    by_name = {m.name: m.statements for m in load_migrations()}
    add_columns = by_name["003_ai_usage_cost_resolution"][0]
    add_index = by_name["004_event_id_indexes"][0]
    assert [s.split(" ADD ", 1)[0] for s in rendered(add_columns)] == [
        f"ALTER TABLE {DATABASE}.events_local ON CLUSTER '{CLUSTER}'",
        f"ALTER TABLE {DATABASE}.events ON CLUSTER '{CLUSTER}'",
    ]
    assert rendered(add_index) == [
        f"ALTER TABLE {DATABASE}.events_local ON CLUSTER '{CLUSTER}' ADD INDEX IF NOT EXISTS "
        "idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1"
    ]


def test_a_trailing_settings_clause_does_not_count_as_a_command(engine: AnalyticsStore) -> None:
    statement = (
        "ALTER TABLE events ADD COLUMN IF NOT EXISTS note String DEFAULT ''"
        " SETTINGS alter_sync = 2, replication_wait_for_inactive_replica_timeout = 15"
    )
    assert len(rendered(statement)) == 2
    assert [line for line in ast(engine, statement) if "AlterCommand" in line] == [
        "  AlterCommand ADD_COLUMN (children 1)"
    ]


def test_a_lightweight_delete_goes_to_the_local_tables_on_the_cluster(
    engine: AnalyticsStore,
) -> None:
    [delete] = rendered(RETENTION_DELETE)
    assert formatted(engine, delete) == (
        f"DELETE FROM {DATABASE}.events_local ON CLUSTER {CLUSTER} WHERE "
        "(workspace_id = {w:UUID}) AND (timestamp < {cutoff:DateTime64(3, 'UTC')})"
    )


def test_a_view_reads_and_feeds_the_local_tables_of_each_shard(engine: AnalyticsStore) -> None:
    [view] = rendered(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS "
        "SELECT workspace_id, count() AS n FROM ai_usage_events GROUP BY workspace_id"
    )
    assert formatted(engine, view) == formatted(
        engine,
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {DATABASE}.v_local ON CLUSTER {CLUSTER} "
        f"TO {DATABASE}.t_local AS SELECT workspace_id, count() AS n "
        f"FROM {DATABASE}.ai_usage_events_local GROUP BY workspace_id",
    )


def test_a_backfill_runs_once_through_the_distributed_tables(engine: AnalyticsStore) -> None:
    [insert] = rendered(
        "INSERT INTO t SELECT workspace_id, count() AS n FROM ai_usage_events GROUP BY workspace_id"
    )
    assert formatted(engine, insert) == formatted(
        engine,
        f"INSERT INTO {DATABASE}.t SELECT workspace_id, count() AS n "
        f"FROM {DATABASE}.ai_usage_events GROUP BY workspace_id",
    )


def test_a_truncate_empties_the_local_tables_on_the_cluster(engine: AnalyticsStore) -> None:
    [truncate] = rendered("TRUNCATE TABLE t")
    assert formatted(engine, truncate) == f"TRUNCATE TABLE {DATABASE}.t_local ON CLUSTER {CLUSTER}"


def test_a_dropped_view_is_dropped_on_every_node(engine: AnalyticsStore) -> None:
    [drop] = rendered("DROP VIEW IF EXISTS t_view")
    assert formatted(engine, drop) == (
        f"DROP VIEW IF EXISTS {DATABASE}.t_view_local ON CLUSTER {CLUSTER}"
    )


def test_the_database_is_created_on_every_node(engine: AnalyticsStore) -> None:
    [create] = rendered(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
    assert formatted(engine, create) == (
        f"CREATE DATABASE IF NOT EXISTS {DATABASE} ON CLUSTER {CLUSTER}"
    )


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT 1",
        "CREATE TABLE IF NOT EXISTS t (workspace_id UUID) ENGINE = Memory",
        "CREATE TABLE IF NOT EXISTS t (workspace_id UUID) ENGINE = ReplicatedMergeTree ORDER BY 1",
        "CREATE TABLE t (workspace_id UUID) ENGINE = MergeTree ORDER BY workspace_id",
        "CREATE TABLE IF NOT EXISTS other.t (workspace_id UUID) ENGINE = MergeTree ORDER BY 1",
        "CREATE TABLE IF NOT EXISTS t (app_id UUID) ENGINE = MergeTree ORDER BY app_id",
        "ALTER TABLE t ADD COLUMN x UInt8, ADD INDEX i x TYPE minmax GRANULARITY 1",
        "ALTER TABLE t ON CLUSTER other ADD COLUMN x UInt8",
        "INSERT INTO events VALUES (1)",
        "INSERT INTO t SELECT * FROM events AS e JOIN ai_usage_events AS a ON 1",
        "DROP TABLE events",
        "OPTIMIZE TABLE events FINAL",
    ],
    ids=[
        "view_of_no_table",
        "not_merge_tree",
        "already_replicated",
        "not_re_runnable",
        "qualified_name",
        "no_workspace_id",
        "mixed_alter",
        "already_on_cluster",
        "insert_values",
        "insert_of_two_tables",
        "drop",
        "optimize",
    ],
)
def test_statements_without_a_rule_are_refused_rather_than_run_on_one_node(statement: str) -> None:
    with pytest.raises(UnsupportedClusterStatement):
        rendered(statement)


@pytest.mark.parametrize(
    ("cluster", "database"),
    [("an'alytics", DATABASE), ("an.alytics", DATABASE), ("", DATABASE), (CLUSTER, "db; DROP")],
)
def test_names_that_could_leave_their_literal_are_refused(cluster: str, database: str) -> None:
    with pytest.raises(ValueError, match="invalid ClickHouse"):
        for_cluster(MIGRATIONS_TABLE, cluster=cluster, database=database)


# --- the migrator ------------------------------------------------------------------------------


class RecordingStore:
    """An `AnalyticsStore` that records commands and answers the migrator's two questions."""

    def __init__(self, *, has_migrations_table: bool, versions: Sequence[int] = ()) -> None:
        self.database = DATABASE
        self.commands: list[str] = []
        self._has_table = has_migrations_table
        self._versions = list(versions)

    def command(self, sql: str, params: Params | None = None) -> None:
        self.commands.append(sql)

    def query(self, sql: str, params: Params | None = None) -> list[Row]:
        if "system.tables" in sql:
            return [{"n": int(self._has_table)}]
        if "FROM schema_migrations" in sql:
            return [{"version": v} for v in self._versions]
        raise AssertionError(f"unexpected query {sql}")

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
        raise AssertionError("the migrator inserts nothing in bulk")

    def ping(self) -> None: ...

    def close(self) -> None: ...


RECORD_VERSION = "INSERT INTO schema_migrations (version, name) VALUES ({v:UInt32}, {n:String})"


def test_migrating_a_cluster_renders_every_statement_and_records_each_migration(
    engine: AnalyticsStore,
) -> None:
    store = RecordingStore(has_migrations_table=False)
    applied = migrate(store, cluster=CLUSTER)

    expected = [
        f"CREATE DATABASE IF NOT EXISTS {DATABASE} ON CLUSTER '{CLUSTER}'",
        *rendered(MIGRATIONS_TABLE),
    ]
    for migration in load_migrations():
        for statement in migration.statements:
            expected.extend(rendered(statement))
        expected.append(RECORD_VERSION)
    assert store.commands == expected
    assert applied == [m.name for m in load_migrations()]
    for sql in store.commands:
        formatted(engine, sql)


def test_a_cluster_node_with_nothing_pending_sends_no_distributed_ddl() -> None:
    """An ON CLUSTER statement waits for every node: a start must not depend on them."""
    store = RecordingStore(
        has_migrations_table=True, versions=[m.version for m in load_migrations()]
    )
    assert migrate(store, cluster=CLUSTER) == []
    assert store.commands == []


def test_without_a_cluster_the_migrator_runs_the_files_as_written() -> None:
    store = RecordingStore(has_migrations_table=False)
    migrate(store)
    expected = [MIGRATIONS_TABLE]
    for migration in load_migrations():
        expected.extend(migration.statements)
        expected.append(RECORD_VERSION)
    assert store.commands == expected


# --- the settings every statement of a cluster store carries ------------------------------------


def test_the_engine_knows_the_cluster_settings(engine: AnalyticsStore) -> None:
    assert engine.query(
        "SELECT name, alias_for FROM system.settings WHERE name = 'insert_distributed_sync'"
    ) == [{"name": "insert_distributed_sync", "alias_for": "distributed_foreground_insert"}]
    settings = ", ".join(
        f"{name} = {value!r}" if isinstance(value, str) else f"{name} = {value}"
        for name, value in CLUSTER_QUERY_SETTINGS.items()
    )
    assert engine.query(
        "SELECT getSetting('distributed_foreground_insert') AS foreground, "
        f"getSetting('distributed_product_mode') AS product SETTINGS {settings}"
    ) == [{"foreground": True, "product": "local"}]


@pytest.mark.clickhouse_server
def test_a_store_on_a_cluster_sends_the_cluster_settings_with_every_statement(
    clickhouse_server: ClickHouseServer,
) -> None:
    database = f"native_{uuid.uuid4().hex[:12]}"
    plain = NativeStore.from_url(clickhouse_server.url(database))
    distributed = NativeStore.from_url(clickhouse_server.url(database), distributed=True)
    read = (
        "SELECT name, value FROM system.settings "
        "WHERE name IN ('insert_distributed_sync', 'distributed_product_mode') ORDER BY name"
    )
    try:
        assert distributed.query(read) == [
            {"name": "distributed_product_mode", "value": "local"},
            {"name": "insert_distributed_sync", "value": "1"},
        ]
        assert plain.query(read) == [
            {"name": "distributed_product_mode", "value": "deny"},
            {"name": "insert_distributed_sync", "value": "0"},
        ]
        # Inserts and INSERT … SELECT still work with them (on a plain table they change nothing).
        distributed.command(
            "CREATE TABLE t (workspace_id UUID, n UInt8) ENGINE = MergeTree ORDER BY n"
        )
        row = {"workspace_id": uuid.UUID(int=1), "n": 1}
        distributed.insert("t", ("workspace_id", "n"), [row])
        distributed.command("INSERT INTO t (workspace_id, n) SELECT workspace_id, n + 1 FROM t")
        assert distributed.query("SELECT n FROM t ORDER BY n") == [{"n": 1}, {"n": 2}]
    finally:
        plain.command(f"DROP DATABASE IF EXISTS {database}")
        plain.close()
        distributed.close()
