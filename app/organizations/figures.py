"""The figures of the organizations list as ClickHouse aggregates over `events`: what its rollup
tables store per period, environment and organization (app/store/rollups.py; a new figure
needs a migration: docs/changing-a-figure.md) and what a page computes from the rows at the
ends of its range.

Plain counts and sums merge by sum; the set of users and the latest plan property are states.
Times are Int64 milliseconds and users 64-bit hashes of `user_hash`: their states merge several
times faster than DateTime64 and String ones (migration 011). Two different users share a
64-bit hash with a chance of about 3 in 10^8 per million users of a range.
"""

from __future__ import annotations

from app.store.figure import Figure

_CALLS = "('ai_call_completed', 'ai_call_failed')"
_MS = "toUnixTimestamp64Milli(timestamp)"


ORGANIZATION_FIGURES: tuple[Figure, ...] = (
    Figure.summed("event_count", "count()"),
    Figure(
        "active_users",
        "uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash))",
        "uniqExactIfMerge(f_active_users)",
    ),
    Figure.summed(
        "known_cost",
        f"sumIf(assumeNotNull(estimated_cost_eur), event IN {_CALLS} AND cost_known)",
    ),
    Figure.summed("costed_calls", f"countIf(event IN {_CALLS} AND cost_known)"),
    Figure.summed("calls", "countIf(event = 'ai_call_completed')"),
    Figure.summed(
        "calls_with_unknown_cost", "countIf(event = 'ai_call_completed' AND NOT cost_known)"
    ),
    Figure.summed("failed_calls", "countIf(event = 'ai_call_failed')"),
    Figure.summed("accepted", "countIf(event = 'ai_output_accepted')"),
    Figure.summed("rejected", "countIf(event = 'ai_output_rejected')"),
    Figure.summed("edited", "countIf(event = 'ai_output_edited')"),
    Figure(
        "first_seen_in_range",
        f"min({_MS})",
        "min(f_first_seen_in_range)",
        "SimpleAggregateFunction(min, Int64)",
    ),
    Figure("last_seen", f"max({_MS})", "max(f_last_seen)", "SimpleAggregateFunction(max, Int64)"),
    Figure(
        "event_plan",
        f"argMaxIfState(customer_plan, {_MS}, notEmpty(customer_plan))",
        "argMaxIfMerge(f_event_plan)",
    ),
)
# Figures in Int64 milliseconds, shown as DateTime64.
TIMES = frozenset(("first_seen_in_range", "last_seen"))
