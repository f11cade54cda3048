"""Write-time attribution of AI output events to their call (CONTRACT §4), in ClickHouse SQL.

The definition: an output event (ai_output_accepted / rejected / edited) that names an
`ai_call_id` belongs to the earliest `ai_call_completed` of the same workspace with that id made
within `ATTRIBUTION_WINDOW` of it (either side: the emitters' clocks differ); ties on the
timestamp go to the smaller event_id. Only without such a call does it keep its own fields.

Resolving this at query time is a join of every output event against the calls, in every
report; resolved at write time it becomes plain columns (`attr_*`, `call_event_id`,
`call_cost_eur`, migration 005) that the rollup tables group by. `derive_ai_usage` keeps the
stored attribution equal to the definition whatever the arrival order, in ONE insert per batch
(each insert into `ai_usage_events` pays a fixed cost for the rollups' views it feeds) of three
sets of rows that never overlap:

1. the batch's non-output AI events, attributed to themselves;
2. the batch's output events, attributed to their best call, stored or in the same batch;
3. for calls that arrive after outputs naming them: each stored output whose current
   attribution is not its best call gets a pair of rows appended, sign -1 with the old
   attribution and sign +1 with the new one. Rerun after a crash, it finds nothing left to
   correct.

Rows 1 and 2 skip events already derived (unless the caller knows it stored every row itself),
so a batch written again after a crash completes what an earlier attempt left. IMPORTANT: like
the (app, event_id) de-duplication, this assumes one writer at a time for a given call and its
outputs (two writers racing on the same call id could append the same correction twice): with
several worker processes, each batch is written holding its workspaces' locks
(app/workers/write_locks.py).

Every statement is built from constant SQL and a caller's filter over `events` (constant SQL as
well); values are bound parameters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.analytics.events_table import AI_USAGE_EXPRESSIONS, AI_USAGE_TABLE, EVENTS_TABLE

ATTRIBUTION_WINDOW = timedelta(days=7)
OUTPUT_EVENTS = "('ai_output_accepted', 'ai_output_rejected', 'ai_output_edited')"

# The MODEL dimension of a row: the canonical catalog key when ingest resolved one (aliases of
# a model group together), else "provider/model" as sent. Same expression as the DEFAULT of
# `attr_model` in migration 005.
MODEL_KEY = (
    "multiIf(ai_canonical_model_key != '', toString(ai_canonical_model_key), "
    "provider != '' OR model != '', concat(provider, '/', model), '')"
)

# The dimensions an output event takes from its call: (attribution column, the call's column).
ATTRIBUTED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("attr_app_id", "app_id"),
    ("attr_environment", "environment"),
    ("attr_customer_org_id", "customer_org_id"),
    ("attr_customer_plan", "customer_plan"),
    ("attr_feature", "feature"),
    ("attr_provider", "provider"),
    ("attr_model", "model_key"),
)
_OWN_COLUMNS = tuple(column for column, _ in AI_USAGE_EXPRESSIONS)
_ATTRIBUTION = ("call_event_id", "call_cost_eur", *(c for c, _ in ATTRIBUTED_COLUMNS))

# The stored rows a lookup may need: within the window around the rows being written.
_WINDOW_PARAMS = (
    "timestamp >= {window_start:DateTime64(3, 'UTC')} "
    "AND timestamp <= {window_end:DateTime64(3, 'UTC')}"
)


def window_params(first: datetime, last: datetime) -> dict[str, Any]:
    """The bound parameters of the lookups for rows with timestamps in [first, last]."""
    return {
        "window_start": first - ATTRIBUTION_WINDOW,
        "window_end": last + ATTRIBUTION_WINDOW,
        "window_seconds": int(ATTRIBUTION_WINDOW.total_seconds()),
    }


_CALL_COLUMNS = (
    "workspace_id, ai_call_id, timestamp, event_id, estimated_cost_eur, app_id, environment, "
    f"customer_org_id, customer_plan, feature, provider, {MODEL_KEY} AS model_key"
)


def _usage_rows(events_filter: str) -> str:
    """The rows of `events_filter` (over `events`) as `ai_usage_events` reads them."""
    own = ", ".join(f"{e} AS {c}" for c, e in AI_USAGE_EXPRESSIONS)
    return f"SELECT {own} FROM {EVENTS_TABLE} WHERE {events_filter}"


def _best_call(outputs: str, batch: str) -> str:
    """Per output event of `outputs` (columns workspace_id, app_id, event_id, timestamp,
    ai_call_id), its call by the definition above as a tuple `best`: (event_id, cost,
    attributed values…); outputs without one are absent. Calls are read from
    `ai_usage_events`, within the window around `{window_start}`…`{window_end}`, and from the
    rows of `events` that `batch` selects (calls being written in the same statement)."""
    call_values = ", ".join(
        ["c.event_id", "c.estimated_cost_eur", *(f"c.{source}" for _, source in ATTRIBUTED_COLUMNS)]
    )
    named = f"ai_call_id IN (SELECT ai_call_id FROM ({outputs}))"
    calls = (
        f"SELECT {_CALL_COLUMNS} FROM {AI_USAGE_TABLE} "
        f"WHERE workspace_id IN {{workspaces:Array(UUID)}} AND event = 'ai_call_completed' "
        f"AND {_WINDOW_PARAMS} AND {named}"
    )
    batch_calls = _usage_rows(f"{batch} AND event = 'ai_call_completed'")
    calls += f" UNION ALL SELECT {_CALL_COLUMNS} FROM ({batch_calls}) WHERE {named}"
    return f"""
        SELECT o.app_id AS out_app_id, o.event_id AS out_event_id,
               argMin(tuple({call_values}), tuple(c.timestamp, c.event_id)) AS best
        FROM ({outputs}) AS o
        INNER JOIN ({calls}) AS c
            ON o.workspace_id = c.workspace_id AND o.ai_call_id = c.ai_call_id
        WHERE o.ai_call_id != ''
          AND c.timestamp >= o.timestamp - toIntervalSecond({{window_seconds:UInt32}})
          AND c.timestamp <= o.timestamp + toIntervalSecond({{window_seconds:UInt32}})
        GROUP BY o.app_id, o.event_id
    """


def _not_yet_derived(events_filter: str, fresh: bool) -> str:
    """The condition that skips rows already in `ai_usage_events`; none for `fresh` rows (all
    inserted into `events` by this attempt: no `ai_usage_events` row can exist for them yet,
    since those are only ever derived from stored `events` rows)."""
    if fresh:
        return ""
    return (
        f"AND (app_id, event_id) NOT IN (SELECT app_id, event_id FROM {AI_USAGE_TABLE} "
        f"WHERE {events_filter})"
    )


# The columns steps 2 and 3 insert, in this order.
_ATTRIBUTED_ROW = (*_OWN_COLUMNS, "sign", *_ATTRIBUTION)


def _insert(select: str) -> str:
    return f"INSERT INTO {AI_USAGE_TABLE} ({', '.join(_ATTRIBUTED_ROW)}) {select}"


def _attributed_outputs(events_filter: str, fresh: bool) -> str:
    """The new output rows of `events_filter`, attributed to their best call (the calls of
    `events_filter` count too, although not yet derived)."""
    own = ", ".join(f"{e} AS {c}" for c, e in AI_USAGE_EXPRESSIONS)
    new_outputs = (
        f"SELECT {own}, {MODEL_KEY} AS own_model FROM {EVENTS_TABLE} "
        f"WHERE {events_filter} AND event IN {OUTPUT_EVENTS} "
        f"{_not_yet_derived(events_filter, fresh)}"
    )
    outputs = (
        f"SELECT workspace_id, app_id, event_id, timestamp, "
        f"JSONExtractString(properties, 'ai_call_id') AS ai_call_id "
        f"FROM {EVENTS_TABLE} WHERE {events_filter} AND event IN {OUTPUT_EVENTS}"
    )
    found = "m.best.1 != ''"  # LEFT JOIN fills a missing call with default values
    attributed = [
        f"if({found}, m.best.1, '') AS call_event_id",
        f"if({found}, m.best.2, NULL) AS call_cost_eur",
    ]
    for i, (column, source) in enumerate(ATTRIBUTED_COLUMNS, start=3):
        own = "own_model" if source == "model_key" else f"e.{source}"
        attributed.append(f"if({found}, m.best.{i}, {own}) AS {column}")
    return f"""
        SELECT {", ".join(f"e.{c}" for c in _OWN_COLUMNS)}, toInt8(1) AS sign,
               {", ".join(attributed)}
        FROM ({new_outputs}) AS e
        LEFT JOIN ({_best_call(outputs, events_filter)}) AS m
            ON e.app_id = m.out_app_id AND e.event_id = m.out_event_id
    """


def _own_attribution(events_filter: str, fresh: bool) -> str:
    """The new non-output AI rows of `events_filter` with the attribution columns of their own
    values (what their DEFAULTs give when the columns are not inserted)."""
    own = [
        f"{source if source != 'model_key' else MODEL_KEY} AS {column}"
        for column, source in ATTRIBUTED_COLUMNS
    ]
    rows = _usage_rows(
        f"{events_filter} AND startsWith(event, 'ai_') AND event NOT IN {OUTPUT_EVENTS} "
        f"{_not_yet_derived(events_filter, fresh)}"
    )
    return (
        f"SELECT {', '.join(_OWN_COLUMNS)}, toInt8(1) AS sign, '' AS call_event_id, "
        f"CAST(NULL, 'Nullable(Decimal(38, 12))') AS call_cost_eur, {', '.join(own)} "
        f"FROM ({rows})"
    )


def derive_ai_usage(
    events_filter: str, *, fresh: bool = False, named_filter: str | None = None
) -> str:
    """Steps 1 to 3 in ONE insert (each insert into `ai_usage_events` pays a fixed cost for the
    rollups' views it feeds, whatever its size): the new calls and other AI events of
    `events_filter`, its new outputs attributed (to calls stored or in `events_filter`), and,
    with `named_filter` (calls of `events_filter` that stored outputs name, over `events`), the
    correction pairs of those outputs. The three sets of rows never overlap."""
    parts = [
        _own_attribution(events_filter, fresh),
        _attributed_outputs(events_filter, fresh),
    ]
    if named_filter is not None:
        parts.append(_correction_pairs(named_filter))
    return _insert(" UNION ALL ".join(f"SELECT * FROM ({part})" for part in parts))


def named_call_ids_in_batch(events_filter: str) -> str:
    """The `ai_call_id`s of the calls of `events_filter` (over `events`) that stored outputs
    name: the only calls step 3 has anything to do for. Most calls of a batch have none (their
    outputs come later), so step 3 runs on those few calls, not on the whole batch."""
    return (
        f"SELECT DISTINCT ai_call_id FROM {AI_USAGE_TABLE} "
        f"WHERE workspace_id IN {{workspaces:Array(UUID)}} AND event IN {OUTPUT_EVENTS} "
        f"AND {_WINDOW_PARAMS} AND ai_call_id IN ("
        f"SELECT JSONExtractString(properties, 'ai_call_id') FROM {EVENTS_TABLE} "
        f"WHERE {events_filter} AND event = 'ai_call_completed')"
    )


def _correction_pairs(calls_filter: str) -> str:
    """The correction pairs of stored outputs naming the calls of `calls_filter` (over
    `events`: calls derived in the same statement)."""
    call_ids = (
        f"SELECT JSONExtractString(properties, 'ai_call_id') FROM {EVENTS_TABLE} "
        f"WHERE {calls_filter} AND event = 'ai_call_completed' "
        "AND JSONExtractString(properties, 'ai_call_id') != ''"
    )
    candidates = (
        f"SELECT * FROM {AI_USAGE_TABLE} WHERE workspace_id IN {{workspaces:Array(UUID)}} "
        f"AND event IN {OUTPUT_EVENTS} AND {_WINDOW_PARAMS} AND ai_call_id IN ({call_ids})"
    )
    # The current attribution of each candidate: the only one whose rows sum to +1.
    keys = ("app_id", "event_id", "call_event_id")
    values = [c for c in (*_OWN_COLUMNS, *_ATTRIBUTION) if c not in keys]
    current = (
        f"SELECT {', '.join(keys)}, {', '.join(f'any({c}) AS {c}' for c in values)} "
        f"FROM ({candidates}) GROUP BY {', '.join(keys)} HAVING sum(sign) > 0"
    )
    outputs = (
        f"SELECT DISTINCT workspace_id, app_id, event_id, timestamp, ai_call_id FROM ({candidates})"
    )
    new = ["if(s < 0, e.call_event_id, m.best.1)", "if(s < 0, e.call_cost_eur, m.best.2)"]
    new += [
        f"if(s < 0, e.{column}, m.best.{i})"
        for i, (column, _) in enumerate(ATTRIBUTED_COLUMNS, start=3)
    ]
    return f"""
        SELECT {", ".join(f"e.{c}" for c in _OWN_COLUMNS)}, s AS sign, {", ".join(new)}
        FROM ({current}) AS e
        INNER JOIN ({_best_call(outputs, calls_filter)}) AS m
            ON e.app_id = m.out_app_id AND e.event_id = m.out_event_id
        ARRAY JOIN [toInt8(-1), toInt8(1)] AS s
        WHERE m.best.1 != e.call_event_id
    """
