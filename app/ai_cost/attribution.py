"""Write-time attribution of AI output events to their call (CONTRACT §4), in ClickHouse SQL.

The definition: an output event (ai_output_accepted / rejected / edited) that names an
`ai_call_id` belongs to the earliest `ai_call_completed` of the same workspace with that id made
within `ATTRIBUTION_WINDOW` of it (either side: the emitters' clocks differ); ties on the
timestamp go to the smaller event_id. Only without such a call does it keep its own fields.

Resolving this at query time is a join of every output event against the calls, in every
report; resolved at write time it becomes plain columns (`attr_*`, `call_event_id`,
`call_cost_eur`, migration 005) that the rollup tables group by. Three idempotent
statements keep the stored attribution equal to the definition whatever the arrival order:

1. `DERIVE_OTHER_AI_USAGE` copies the batch's non-output AI events (their attr_* DEFAULT to
   their own values);
2. `DERIVE_OUTPUT_USAGE` copies the batch's output events with the best call already stored
   (step 1 has stored the batch's own calls);
3. `RECONCILE_OUTPUTS` handles calls that arrive after outputs naming them: each stored output
   whose current attribution is not its best call gets a pair of rows appended, sign -1 with
   the old attribution and sign +1 with the new one, in one INSERT (same timestamp, same
   partition: one part, all or nothing). Rerun after a crash, it finds nothing left to correct.

Steps 1 and 2 skip events already copied, so a batch written again after a crash completes
what an earlier attempt left. IMPORTANT: like the (app, event_id) de-duplication, this assumes
one writer at a time for a given call and its outputs (two writers racing on the same call id
could append the same correction twice): with several worker processes, each batch is written
holding its workspaces' locks (app/workers/write_locks.py).

Every statement is built from constant SQL and a caller's filter over `events` (constant SQL as
well); values are bound parameters.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.store.events_table import AI_USAGE_EXPRESSIONS, AI_USAGE_TABLE, EVENTS_TABLE

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


def _best_call(outputs: str) -> str:
    """Per output event of `outputs` (columns workspace_id, app_id, event_id, timestamp,
    ai_call_id), its call by the definition above as a tuple `best`: (event_id, cost,
    attributed values…); outputs without one are absent. Calls are read from
    `ai_usage_events`, within the window around `{window_start}`…`{window_end}`."""
    call_values = ", ".join(
        ["c.event_id", "c.estimated_cost_eur", *(f"c.{source}" for _, source in ATTRIBUTED_COLUMNS)]
    )
    return f"""
        SELECT o.app_id AS out_app_id, o.event_id AS out_event_id,
               argMin(tuple({call_values}), tuple(c.timestamp, c.event_id)) AS best
        FROM ({outputs}) AS o
        INNER JOIN
        (
            SELECT workspace_id, ai_call_id, timestamp, event_id, estimated_cost_eur, app_id,
                   environment, customer_org_id, customer_plan, feature, provider,
                   {MODEL_KEY} AS model_key
            FROM {AI_USAGE_TABLE}
            WHERE workspace_id IN {{workspaces:Array(UUID)}}
              AND event = 'ai_call_completed'
              AND {_WINDOW_PARAMS}
              AND ai_call_id IN (SELECT ai_call_id FROM ({outputs}))
        ) AS c ON o.workspace_id = c.workspace_id AND o.ai_call_id = c.ai_call_id
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


def derive_other_ai_usage(events_filter: str, *, fresh: bool = False) -> str:
    """Step 1: the non-output AI events of `events_filter` not yet in `ai_usage_events`."""
    return (
        f"INSERT INTO {AI_USAGE_TABLE} ({', '.join(_OWN_COLUMNS)}) "
        f"SELECT {', '.join(f'{e} AS {c}' for c, e in AI_USAGE_EXPRESSIONS)} "
        f"FROM {EVENTS_TABLE} WHERE {events_filter} AND startsWith(event, 'ai_') "
        f"AND event NOT IN {OUTPUT_EVENTS} {_not_yet_derived(events_filter, fresh)}"
    )


# The columns steps 2 and 3 insert, in this order.
_ATTRIBUTED_ROW = (*_OWN_COLUMNS, "sign", *_ATTRIBUTION)


def _insert(select: str) -> str:
    return f"INSERT INTO {AI_USAGE_TABLE} ({', '.join(_ATTRIBUTED_ROW)}) {select}"


def derive_output_usage(events_filter: str, *, fresh: bool = False) -> str:
    """Step 2: the output events of `events_filter` not yet in `ai_usage_events`, attributed."""
    return _insert(_attributed_outputs(events_filter, fresh))


def reconcile_outputs(calls_filter: str) -> str:
    """Step 3: correction pairs for stored outputs that name the calls of `calls_filter` (over
    `ai_usage_events`) and are not attributed to their best call."""
    return _insert(_correction_pairs(calls_filter))


def derive_output_usage_and_reconcile(
    events_filter: str, calls_filter: str, *, fresh: bool = False
) -> str:
    """Steps 2 and 3 in one insert: every insert into `ai_usage_events` pays a fixed cost for
    the rollups' views it feeds, whatever its size. Step 3's rows are stored outputs, step 2's
    new ones: the two never overlap."""
    return _insert(
        f"SELECT * FROM ({_attributed_outputs(events_filter, fresh)}) "
        f"UNION ALL SELECT * FROM ({_correction_pairs(calls_filter)})"
    )


def _attributed_outputs(events_filter: str, fresh: bool) -> str:
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
        LEFT JOIN ({_best_call(outputs)}) AS m
            ON e.app_id = m.out_app_id AND e.event_id = m.out_event_id
    """


def named_call_ids(calls_filter: str) -> str:
    """The `ai_call_id`s of the calls of `calls_filter` (over `ai_usage_events`) that stored
    outputs name: the only calls step 3 has anything to do for. Most calls of a batch have none
    (their outputs come later), so step 3 then runs on those few calls, not the whole batch."""
    return (
        f"SELECT DISTINCT ai_call_id FROM {AI_USAGE_TABLE} "
        f"WHERE workspace_id IN {{workspaces:Array(UUID)}} AND event IN {OUTPUT_EVENTS} "
        f"AND {_WINDOW_PARAMS} AND ai_call_id IN ("
        f"SELECT ai_call_id FROM {AI_USAGE_TABLE} WHERE {calls_filter} "
        f"AND event = 'ai_call_completed' AND ai_call_id != '')"
    )


def _correction_pairs(calls_filter: str) -> str:
    call_ids = (
        f"SELECT ai_call_id FROM {AI_USAGE_TABLE} WHERE {calls_filter} "
        "AND event = 'ai_call_completed' AND ai_call_id != ''"
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
        INNER JOIN ({_best_call(outputs)}) AS m
            ON e.app_id = m.out_app_id AND e.event_id = m.out_event_id
        ARRAY JOIN [toInt8(-1), toInt8(1)] AS s
        WHERE m.best.1 != e.call_event_id
    """
