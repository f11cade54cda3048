"""ClickHouse cluster support: the single-node migrations rendered for a cluster.

The files in `migrations/clickhouse/` are written once, for one server. When
`SAAS_TRACKER_CLICKHOUSE_CLUSTER` names a cluster (a `<remote_servers>` entry of every node),
`for_cluster` rewrites each statement for it, and only it:

- `CREATE TABLE IF NOT EXISTS t (…) ENGINE = XMergeTree[(args)] …` becomes two statements:
  `CREATE TABLE IF NOT EXISTS db.t_local ON CLUSTER 'c' (…) ENGINE = ReplicatedXMergeTree(
  '/clickhouse/tables/{shard}/{database}/t_local', '{replica}'[, args]) …`, which holds the rows
  (one Keeper path per shard, one replica per node), then
  `CREATE TABLE IF NOT EXISTS db.t ON CLUSTER 'c' AS db.t_local ENGINE = Distributed('c', 'db',
  't_local', cityHash64(workspace_id))`, which keeps the name the application reads and writes.
- `ALTER TABLE t …` runs on `db.t_local ON CLUSTER 'c'`; when its commands change the columns
  (ADD, DROP, MODIFY, RENAME, COMMENT COLUMN — the only ALTERs a Distributed table accepts) it
  then runs on `db.t ON CLUSTER 'c'` as well, local first, so the Distributed table never names a
  column its shards lack. Indexes, projections, mutations… concern the stored parts: local only.
- `DELETE FROM t WHERE …` (a lightweight delete, which a Distributed table refuses) runs on
  `db.t_local ON CLUSTER 'c'`.
- `CREATE DATABASE IF NOT EXISTS db` gains `ON CLUSTER 'c'`.
- `CREATE MATERIALIZED VIEW IF NOT EXISTS v TO t AS SELECT … FROM s …` becomes a view of each
  shard's local table feeding the shard's local target: `CREATE MATERIALIZED VIEW IF NOT EXISTS
  db.v_local ON CLUSTER 'c' TO db.t_local AS SELECT … FROM db.s_local …` (a view fires on the
  inserts into the table it reads, which on a cluster are those of the local tables).
- `TRUNCATE TABLE t` runs on `db.t_local ON CLUSTER 'c'`.
- `INSERT INTO t SELECT … FROM s …` (a backfill) runs once, from one node, through the
  Distributed tables: `INSERT INTO db.t SELECT … FROM db.s …`. Both are sharded by workspace,
  so every row lands on the shard that holds its workspace's rows.
- `schema_migrations` is not sharded but replicated to every node (one Keeper path for the whole
  cluster, one replica per node), so that any node's migrator sees what has been applied.

Anything else is refused with `UnsupportedClusterStatement` rather than run on one node only:
the test that renders every migration fails the day a migration needs a new rule here.

Why every table is sharded by `cityHash64(workspace_id)`: a workspace's rows, in every table,
live on one shard. The writer's lookups (`WHERE workspace_id IN … AND event_id IN …`) and its
`INSERT INTO ai_usage_events SELECT … FROM events WHERE … AND (app_id, event_id) NOT IN (SELECT …
FROM ai_usage_events …)` then relate rows of one shard only, so the subquery may read each
shard's local table (`distributed_product_mode = 'local'`, see `CLUSTER_QUERY_SETTINGS`) and
still be exact; dashboards, which always filter on one workspace, touch one shard's data.

Table names are written qualified with the database because an ON CLUSTER query is rewritten on
each host with that host's default database from the cluster definition, which need not be ours.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

LOCAL_SUFFIX: Final = "_local"
SHARDING_KEY: Final = "cityHash64(workspace_id)"
# `{shard}` and `{replica}` come from each node's <macros>; `{database}` is built in. The
# recommended `/clickhouse/tables/` prefix, then one path per shard and table.
SHARDED_PATH: Final = "/clickhouse/tables/{shard}/{database}/%s"
# Tables every node holds in full: no {shard} in the path, so all nodes are replicas of one
# table, and a replica name unique in the whole cluster (a {replica} need only be unique within
# its shard).
EVERYWHERE_PATH: Final = "/clickhouse/tables/{database}/%s"
EVERYWHERE_REPLICA: Final = "{shard}-{replica}"
REPLICATED_EVERYWHERE: Final = frozenset({"schema_migrations"})

# Settings for every statement of a store whose tables are Distributed ones.
# IMPORTANT: without them an INSERT into a Distributed table returns once the rows are queued on
# the node that received it, and they reach the shards later, in the background: a crash of that
# node loses them, though the queue was already acknowledged. `insert_distributed_sync` is the
# older name of `distributed_foreground_insert` (an alias since it was renamed): servers before
# the rename and clickhouse-driver, which skips settings it does not know on older protocol
# revisions, both know this one. The INSERT then succeeds only once every shard has stored its
# rows (on one replica; `insert_quorum` asks for more).
# `distributed_product_mode = 'local'`: a query on a Distributed table whose IN/JOIN subquery
# reads another Distributed table is refused by default ("Double-distributed IN/JOIN subqueries
# is denied"); 'local' makes each shard read its own local table, which is exact because every
# table is sharded by the same workspace key (see above).
CLUSTER_QUERY_SETTINGS: Final[Mapping[str, int | str]] = {
    "insert_distributed_sync": 1,
    "distributed_product_mode": "local",
}

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_IDENTIFIER = re.compile(rf"^{_NAME}$")
# Cluster names must not contain dots (Distributed engine docs); quotes would end the literal.
_CLUSTER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_CREATE_DATABASE = re.compile(rf"^CREATE\s+DATABASE\s+IF\s+NOT\s+EXISTS\s+(?P<name>{_NAME})$", re.I)
_CREATE_TABLE = re.compile(
    rf"^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+(?P<name>{_NAME})\s*(?=\()", re.I
)
_CREATE_VIEW = re.compile(
    rf"^CREATE\s+MATERIALIZED\s+VIEW\s+IF\s+NOT\s+EXISTS\s+(?P<name>{_NAME})\s+"
    rf"TO\s+(?P<target>{_NAME})\s+AS\s+(?=SELECT\b)",
    re.I,
)
_TRUNCATE = re.compile(rf"^TRUNCATE\s+TABLE\s+(?P<name>{_NAME})$", re.I)
_DROP_VIEW = re.compile(rf"^DROP\s+VIEW\s+IF\s+EXISTS\s+(?P<name>{_NAME})$", re.I)
_INSERT_SELECT = re.compile(rf"^INSERT\s+INTO\s+(?P<name>{_NAME})\s+(?=SELECT\b)", re.I)
_FROM = re.compile(rf"\bFROM\s+(?P<name>{_NAME})\b", re.I)
_ALTER_TABLE = re.compile(rf"^ALTER\s+TABLE\s+(?P<name>{_NAME})\s+(?=\S)", re.I)
_DELETE = re.compile(rf"^DELETE\s+FROM\s+(?P<name>{_NAME})\s+(?=WHERE\b)", re.I)
_ENGINE = re.compile(
    r"\s*(?i:ENGINE)\s*=\s*(?P<family>(?:Replacing|Summing|Aggregating|Collapsing|"
    r"VersionedCollapsing|Graphite|Coalescing)?MergeTree)\b"
)
_COLUMN_COMMAND = re.compile(r"^(?:ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.I)
# The first word of every other ALTER TABLE command; a comma-separated piece that starts with
# none of them continues the trailing `SETTINGS a = 1, b = 2` of the query.
_OTHER_COMMAND = re.compile(
    r"^(?:ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR|MATERIALIZE|UPDATE|DELETE|APPLY|ATTACH|DETACH|"
    r"FREEZE|UNFREEZE|FETCH|MOVE|REPLACE|REMOVE|RESET)\b",
    re.I,
)


class UnsupportedClusterStatement(ValueError):
    """A migration statement that `for_cluster` has no rule for."""


def for_cluster(statement: str, *, cluster: str | None, database: str) -> list[str]:
    """The statements that apply `statement` to `cluster`; `[statement]` when there is none.

    `statement` is one single-node statement as a migration file holds it (see the module
    docstring for the rules); query parameters (`{name:Type}`) are left as they are.
    """
    if cluster is None:
        return [statement]
    if not _CLUSTER.match(cluster):
        raise ValueError(f"invalid ClickHouse cluster name {cluster!r}")
    if not _IDENTIFIER.match(database):
        raise ValueError(f"invalid ClickHouse database name {database!r}")
    target = _Target(cluster, database)
    text = statement.strip()
    if match := _CREATE_DATABASE.match(text):
        return [f"CREATE DATABASE IF NOT EXISTS {match['name']}{target.on_cluster}"]
    if match := _CREATE_TABLE.match(text):
        return target.create_table(match["name"], text[match.end() :])
    if match := _ALTER_TABLE.match(text):
        return target.alter_table(match["name"], text[match.end() :])
    if match := _DELETE.match(text):
        return [
            f"DELETE FROM {target.local(match['name'])}{target.on_cluster} {text[match.end() :]}"
        ]
    if match := _CREATE_VIEW.match(text):
        select = _reading(text[match.end() :], target.local)
        return [
            f"CREATE MATERIALIZED VIEW IF NOT EXISTS {target.local(match['name'])}"
            f"{target.on_cluster} TO {target.local(match['target'])} AS {select}"
        ]
    if match := _DROP_VIEW.match(text):  # a view re-created by a figure's migration
        return [f"DROP VIEW IF EXISTS {target.local(match['name'])}{target.on_cluster}"]
    if match := _TRUNCATE.match(text):
        return [f"TRUNCATE TABLE {target.local(match['name'])}{target.on_cluster}"]
    if match := _INSERT_SELECT.match(text):
        select = _reading(text[match.end() :], target.distributed)
        return [f"INSERT INTO {target.distributed(match['name'])} {select}"]
    raise UnsupportedClusterStatement(
        f"no cluster rendering for: {text[:80]!r}… (extend app/store/cluster.py)"
    )


def _reading(select: str, table: Callable[[str], str]) -> str:
    """`select`, a SELECT of one table, reading `table(name)` instead."""
    sources = list(_FROM.finditer(select))
    if len(sources) != 1 or re.search(r"\bJOIN\b", select, re.I):
        raise UnsupportedClusterStatement(f"not a SELECT of one table: {select[:80]!r}")
    source = sources[0]
    return f"{select[: source.start('name')]}{table(source['name'])}{select[source.end('name') :]}"


@dataclass(frozen=True)
class _Target:
    cluster: str
    database: str

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER '{self.cluster}'"

    def local(self, table: str) -> str:
        if table in REPLICATED_EVERYWHERE:
            return f"{self.database}.{table}"
        return f"{self.database}.{table}{LOCAL_SUFFIX}"

    def distributed(self, table: str) -> str:
        return f"{self.database}.{table}"

    def create_table(self, table: str, body: str) -> list[str]:
        """`body` is the text after the table name: `(columns) ENGINE = … [clauses]`."""
        columns_end = _closing(body, 0)
        engine = _ENGINE.match(body, columns_end)
        if engine is None:
            raise UnsupportedClusterStatement(
                f"{table}: only a single-node MergeTree-family engine can be rendered for a cluster"
            )
        args_end = engine.end()
        args = ""
        opening = re.compile(r"\s*\(").match(body, args_end)
        if opening:
            args_end = _closing(body, opening.end() - 1)
            args = body[opening.end() : args_end - 1].strip()
        if table in REPLICATED_EVERYWHERE:
            path, replica = EVERYWHERE_PATH % table, EVERYWHERE_REPLICA
        else:
            if not re.search(r"\bworkspace_id\b", body[:columns_end]):
                raise UnsupportedClusterStatement(
                    f"{table}: no workspace_id column to shard by ({SHARDING_KEY})"
                )
            path, replica = SHARDED_PATH % (table + LOCAL_SUFFIX), "{replica}"
        engine_args = ", ".join(a for a in (f"'{path}'", f"'{replica}'", args) if a)
        local = (
            f"CREATE TABLE IF NOT EXISTS {self.local(table)}{self.on_cluster} "
            f"{body[:columns_end].strip()} "
            f"ENGINE = Replicated{engine['family']}({engine_args})"
            f"{body[args_end:].rstrip()}"
        )
        if table in REPLICATED_EVERYWHERE:
            return [local]
        distributed = (
            f"CREATE TABLE IF NOT EXISTS {self.distributed(table)}{self.on_cluster} "
            f"AS {self.local(table)} ENGINE = Distributed('{self.cluster}', '{self.database}', "
            f"'{table}{LOCAL_SUFFIX}', {SHARDING_KEY})"
        )
        return [local, distributed]

    def alter_table(self, table: str, commands: str) -> list[str]:
        pieces = _top_level_split(commands)
        if _command_kind(pieces[0]) is None:
            # Also what an ALTER already written with ON CLUSTER looks like: refused.
            raise UnsupportedClusterStatement(f"ALTER TABLE {table}: unknown command {pieces[0]!r}")
        kinds = {_command_kind(piece) for piece in pieces} - {None}
        if kinds == {"column", "storage"}:
            raise UnsupportedClusterStatement(
                f"ALTER TABLE {table}: split column changes and storage changes into two "
                "statements (a Distributed table accepts only the former)"
            )
        local = f"ALTER TABLE {self.local(table)}{self.on_cluster} {commands}"
        if kinds != {"column"} or table in REPLICATED_EVERYWHERE:
            return [local]
        return [local, f"ALTER TABLE {self.distributed(table)}{self.on_cluster} {commands}"]


def _command_kind(piece: str) -> str | None:
    """What one ALTER command changes: the columns, the storage (any other command), or None
    for the continuation of a trailing SETTINGS clause."""
    if _COLUMN_COMMAND.match(piece):
        return "column"
    if _OTHER_COMMAND.match(piece):
        return "storage"
    return None


def _skip_literal(text: str, start: int) -> int:
    """The index just past the quoted literal, identifier or comment opening at `start`."""
    char = text[start]
    if char in "'\"`":
        i = start + 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == char:
                return i + 1
            i += 1
        raise UnsupportedClusterStatement(f"unterminated {char} in {text[:80]!r}")
    if text.startswith("--", start):
        end = text.find("\n", start)
        return len(text) if end < 0 else end + 1
    end = text.find("*/", start + 2)  # "/*"
    if end < 0:
        raise UnsupportedClusterStatement(f"unterminated comment in {text[:80]!r}")
    return end + 2


def _is_literal_start(text: str, i: int) -> bool:
    return text[i] in "'\"`" or text.startswith("--", i) or text.startswith("/*", i)


def _closing(text: str, opening: int) -> int:
    """The index just past the parenthesis that closes the one at `opening`."""
    if text[opening] != "(":
        raise UnsupportedClusterStatement(f"expected '(' in {text[:80]!r}")
    depth, i = 0, opening
    while i < len(text):
        if _is_literal_start(text, i):
            i = _skip_literal(text, i)
            continue
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise UnsupportedClusterStatement(f"unbalanced parentheses in {text[:80]!r}")


def _top_level_split(text: str) -> list[str]:
    """`text` cut at the commas outside parentheses, brackets and literals, each piece stripped."""
    pieces: list[str] = []
    depth, start, i = 0, 0, 0
    while i < len(text):
        if _is_literal_start(text, i):
            i = _skip_literal(text, i)
            continue
        char = text[i]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append(text[start:i].strip())
            start = i + 1
        i += 1
    pieces.append(text[start:].strip())
    return [p for p in pieces if p]
