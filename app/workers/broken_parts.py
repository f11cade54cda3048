"""Parts the engine can no longer read, rebuilt from what it can still read.

A disk that fills while ClickHouse writes can leave a part committed with a file cut short:
seen here, the bloom-filter index marks of an `events` part ("Cannot read all marks", code 33)
and the marks of a rollup part after a merge ("Empty marks file", code 246). Every statement
that reads such a file fails from then on — the writer's de-duplication look-up reads `events`
through that index — so writing would stop for good.

`heal` (the writer calls it when a batch fails on such a part) copies the part's rows, read
without the skip indexes, into a scratch table of the same structure, detaches the broken part
(ClickHouse keeps it under `detached/` for an operator) and moves the copy in its place. Moving
a partition does not feed materialized views, so the rollups count each row once, as before.
When the rows themselves cannot be read, the part is detached and what depends on it is made
to agree with what is left (`_detach_unreadable`). Each step leaves a state the next attempt
recognises: the scratch table is named after the table and the part, and `finish_interrupted`
(run when a writer starts) completes a heal a crash cut short.

ClickHouse itself sets aside, when it opens a table, the broken parts it finds; a writer
reconciles them when it starts (`reconcile_broken_on_start`). The AI rows of a lost
`ai_usage_events` part are derived again from `events`, which holds every stored event.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.ai_cost.attribution import (
    OUTPUT_EVENTS,
    derive_other_ai_usage,
    derive_output_usage,
    reconcile_outputs,
    window_params,
)
from app.errors import AnalyticsRejected
from app.store.events_table import AI_USAGE_TABLE, EVENTS_TABLE
from app.store.interface import AnalyticsStore
from app.workers.rollups import ROLLUPS, repair

log = logging.getLogger(__name__)

# ATTEMPT_TO_READ_AFTER_EOF, CANNOT_READ_ALL_DATA, CHECKSUM_DOESNT_MATCH, CORRUPTED_DATA.
BROKEN_PART_CODES = frozenset({32, 33, 40, 246})
# A part's folder in the engine's store: …/store/<3 hex>/<table uuid>/<part name>/<file>.
_PART_PATH = re.compile(
    r"/store/[0-9a-f]{3}/(?P<uuid>[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})/(?P<part>\w+)/"
)
_PART_NAME = re.compile(r"^[\w-]+$")
_SCRATCH_PREFIX = "heal__"
_SCRATCH_NAME = re.compile(rf"^{_SCRATCH_PREFIX}(?P<table>\w+?)__(?P<part>\w+)$")


@dataclass(frozen=True)
class BrokenPart:
    table: str
    part: str
    partition_id: str

    @property
    def scratch(self) -> str:
        return f"{_SCRATCH_PREFIX}{self.table}__{self.part}"


def broken_part(store: AnalyticsStore, error: AnalyticsRejected) -> BrokenPart | None:
    """The active part `error` says the engine cannot read, if it names one."""
    if error.details.get("clickhouse_code") not in BROKEN_PART_CODES:
        return None
    match = _PART_PATH.search(error.message)
    if match is None:
        return None
    found = store.query(
        "SELECT table, partition_id FROM system.parts WHERE database = {db:String}"
        " AND name = {part:String} AND active AND table IN (SELECT name FROM system.tables"
        " WHERE database = {db:String} AND uuid = {uuid:UUID})",
        {"db": store.database, "part": match["part"], "uuid": match["uuid"]},
    )
    if not found:
        return None
    return BrokenPart(str(found[0]["table"]), match["part"], str(found[0]["partition_id"]))


def heal(store: AnalyticsStore, part: BrokenPart) -> None:
    """Replace `part` by a copy of its rows, or detach it if they cannot be read (see the
    module's docstring)."""
    store.command(f"DROP TABLE IF EXISTS {part.scratch}")  # an attempt cut short before detaching
    store.command(f"CREATE TABLE {part.scratch} AS {part.table}")
    try:
        store.command(
            f"INSERT INTO {part.scratch} SELECT * FROM {part.table} WHERE _part = {{part:String}}"
            " SETTINGS use_skip_indexes = 0",
            {"part": part.part},
        )
    except AnalyticsRejected as exc:
        if exc.details.get("clickhouse_code") not in BROKEN_PART_CODES:
            raise
        store.command(f"DROP TABLE {part.scratch}")
        _detach_unreadable(store, part)
        return
    store.command(f"ALTER TABLE {part.table} DETACH PART '{part.part}'")
    _attach_copy(store, part)
    log.warning(
        "rebuilt a part the engine could not read; the broken one is kept in detached/",
        extra={"table": part.table, "part": part.part},
    )


def _attach_copy(store: AnalyticsStore, part: BrokenPart) -> None:
    # Moved, not copied: an empty scratch table says the copy is in place.
    store.command(
        f"ALTER TABLE {part.scratch} MOVE PARTITION ID '{part.partition_id}' TO TABLE {part.table}"
    )
    store.command(f"DROP TABLE {part.scratch}")


def _detach_unreadable(store: AnalyticsStore, part: BrokenPart) -> None:
    """Detach a part whose rows cannot be read, and make what depends on it agree with what is
    left: a rollup's days are rebuilt from its source; the AI rows of an `ai_usage_events`
    part are derived again from `events`; the AI rows derived from an `events` part go with
    it, so that the retry of its batch — still queued, as its write failed — stores the batch
    again whole. Rows an `events` part held of batches already written are lost with it:
    ClickHouse committed the part before its files were complete; it stays in `detached/` for
    an operator."""
    [info] = store.query(
        "SELECT rows, min_time, max_time FROM system.parts WHERE database = {db:String}"
        " AND table = {table:String} AND name = {part:String} AND active",
        {"db": store.database, "table": part.table, "part": part.part},
    )
    store.command(f"ALTER TABLE {part.table} DETACH PART '{part.part}'")
    log.error(
        "detached a part the engine cannot read; its rows are kept in detached/ for an operator",
        extra={"table": part.table, "part": part.part, "rows": int(info["rows"])},
    )
    if int(info["max_time"]):  # a partitioned table: the part's own time range
        span: tuple[datetime, datetime] | None = (
            datetime.fromtimestamp(int(info["min_time"]), UTC),
            datetime.fromtimestamp(int(info["max_time"]) + 1, UTC),
        )
    else:
        span = None
    _agree_without(store, part.table, span)


def _agree_without(
    store: AnalyticsStore, table: str, span: tuple[datetime, datetime] | None
) -> None:
    """Make what depends on `table` agree with it after rows of `span` (all time if None) left
    it: its AI rows for `events`, the AI rows derived again for `ai_usage_events`, and the
    rollups it feeds or is."""
    rollups = [rollup for rollup in ROLLUPS if table in (rollup.name, rollup.source)]
    if table == EVENTS_TABLE:
        rollups = list(ROLLUPS)
    if not rollups:
        return
    if span is not None:
        first, last = span
    else:  # every row the sources hold (and, for AI rows lost, the events they come from)
        sources = sorted({rollup.source for rollup in rollups})
        if table == AI_USAGE_TABLE:
            sources.append(EVENTS_TABLE)
        bounds = store.query(
            " UNION ALL ".join(
                f"SELECT min(timestamp) AS first, max(timestamp) AS last FROM {source}"
                for source in sources
            )
        )
        first = min(row["first"] for row in bounds)
        last = max(row["last"] for row in bounds)
    window = {"first": first, "last": last}
    if table == AI_USAGE_TABLE:
        _derive_again(store, first, last)
    if table == EVENTS_TABLE:
        store.command(
            f"DELETE FROM {AI_USAGE_TABLE} WHERE timestamp >= {{first:DateTime64(3, 'UTC')}}"
            " AND timestamp <= {last:DateTime64(3, 'UTC')} AND (app_id, event_id) NOT IN"
            f" (SELECT app_id, event_id FROM {EVENTS_TABLE}"
            " WHERE timestamp >= {first:DateTime64(3, 'UTC')}"
            " AND timestamp <= {last:DateTime64(3, 'UTC')})",
            window,
        )
    tables = sorted({rollup.source for rollup in rollups} | {rollup.name for rollup in rollups})
    workspaces = store.query(
        " UNION DISTINCT ".join(f"SELECT DISTINCT workspace_id FROM {table}" for table in tables)
    )
    repair(store, [row["workspace_id"] for row in workspaces], first, last, rollups=rollups)


def _derive_again(store: AnalyticsStore, first: datetime, last: datetime) -> None:
    """The AI rows of the events between `first` and `last` that `ai_usage_events` lost with a
    part, derived again from `events` by the writer's statements (app/ai_cost/attribution.py),
    so that the reports count every stored event again. The part may have held an output's
    first row and not its correction pair (or the reverse): an output whose rows no longer
    sum to one is removed and derived again whole, attributed to its call by the definition;
    one whose correction pair was lost is corrected again by step 3 over the calls of the
    range."""
    span = "timestamp >= {first:DateTime64(3, 'UTC')} AND timestamp <= {last:DateTime64(3, 'UTC')}"
    workspaces = store.query(
        f"SELECT DISTINCT workspace_id FROM {EVENTS_TABLE} WHERE {span}",
        {"first": first, "last": last},
    )
    if not workspaces:
        return
    params = {
        "workspaces": [str(row["workspace_id"]) for row in workspaces],
        "first": first,
        "last": last,
        **window_params(first, last),
    }
    in_range = "workspace_id IN {workspaces:Array(UUID)} AND " + span
    store.command(
        f"DELETE FROM {AI_USAGE_TABLE} WHERE {in_range} AND (app_id, event_id) IN"
        f" (SELECT app_id, event_id FROM {AI_USAGE_TABLE} WHERE {in_range}"
        f" AND event IN {OUTPUT_EVENTS} GROUP BY app_id, event_id HAVING sum(sign) != 1)",
        params,
    )
    for statement in (
        derive_other_ai_usage(in_range),
        derive_output_usage(in_range),
        reconcile_outputs(in_range),
    ):
        store.command(statement, params)
    log.error(
        "derived again the AI rows of events whose rows a part the engine cannot read held",
        extra={"first": first.isoformat(), "last": last.isoformat()},
    )


def reconcile_broken_on_start(store: AnalyticsStore) -> None:
    """ClickHouse itself detaches, when it opens a table, a part it finds broken (up to
    `max_suspicious_broken_parts` of them; a full disk or a crash can leave one), and goes on
    without its rows. A rollup's is rebuilt from the source and dropped. One of
    `ai_usage_events` has its rows derived again from `events`. One of `events` held stored
    events: what depends on it is made to agree and an error says so. Those two are kept under
    `detached/` for an operator, renamed `reconciled_…` so that the next start does not count
    them again."""
    found = store.query(
        "SELECT table, name, partition_id, path FROM system.detached_parts"
        " WHERE database = {db:String} AND startsWith(name, 'broken-on-start')",
        {"db": store.database},
    )
    rollups = {rollup.name for rollup in ROLLUPS}
    for row in found:
        table, name = str(row["table"]), str(row["name"])
        if not _PART_NAME.match(name):
            continue
        if table in rollups:
            _agree_without(store, table, None)
            store.command(
                f"ALTER TABLE {table} DROP DETACHED PART '{name}' SETTINGS allow_drop_detached = 1"
            )
            log.warning(
                "rebuilt a rollup after the engine set a broken part aside",
                extra={"table": table, "part": name},
            )
            continue
        month = str(row["partition_id"])
        span = None
        if re.fullmatch(r"\d{6}", month):
            start = datetime(int(month[:4]), int(month[4:]), 1, tzinfo=UTC)
            span = (start, (start + timedelta(days=32)).replace(day=1))
        _agree_without(store, table, span)
        folder = Path(str(row["path"]))
        folder.rename(folder.with_name(f"reconciled_{folder.name}"))
        log.error(
            "the engine set aside a part it could not read when it opened the table; its rows"
            " are lost from the reports and kept in detached/ for an operator",
            extra={"table": table, "part": name},
        )


def finish_interrupted(store: AnalyticsStore) -> None:
    """Complete the heals a crash cut short: a scratch table whose part is no longer active was
    detached but not replaced yet; one whose part is still active had not detached it, and the
    next failure that names the part heals it again from the start."""
    scratches = store.query(
        "SELECT name FROM system.tables"
        " WHERE database = {db:String} AND startsWith(name, {p:String})",
        {"db": store.database, "p": _SCRATCH_PREFIX},
    )
    for row in scratches:
        match = _SCRATCH_NAME.match(str(row["name"]))
        if match is None:
            continue
        active = store.query(
            "SELECT partition_id FROM system.parts WHERE database = {db:String}"
            " AND table = {table:String} AND name = {part:String} AND active",
            {"db": store.database, "table": match["table"], "part": match["part"]},
        )
        if active:
            continue
        partitions = store.query(f"SELECT DISTINCT _partition_id AS id FROM {row['name']}")
        if not partitions:  # moved in place already: only the empty table was left
            store.command(f"DROP TABLE {row['name']}")
            continue
        part = BrokenPart(match["table"], match["part"], str(partitions[0]["id"]))
        _attach_copy(store, part)
        log.warning(
            "completed the rebuild of a part a crash interrupted",
            extra={"table": part.table, "part": part.part},
        )


def heal_if_broken(store: AnalyticsStore, error: BaseException) -> bool:
    """Heal the part `error` names, if it is about one; whether a part was healed. A failure
    to heal is logged and leaves things as they were (the caller retries later)."""
    if not isinstance(error, AnalyticsRejected):
        return False
    try:
        part = broken_part(store, error)
        if part is None:
            return False
        heal(store, part)
    except Exception:
        log.exception("could not rebuild a part the engine cannot read")
        return False
    return True
