"""The figures of the organizations list as ClickHouse aggregates over `events`: what its rollup
tables store per period, environment and organization (app/analytics/rollups.py, whose
migration renders them) and what a page computes from the rows at the ends of its range.

Plain counts and sums merge by sum; the set of users and the latest plan property are states.
Times are Int64 milliseconds and users 64-bit hashes of `user_hash`: their states merge several
times faster than DateTime64 and String ones (migration 011). Two different users share a
64-bit hash with a chance of about 3 in 10^8 per million users of a range.
"""

from __future__ import annotations

from app.analytics.figure import Figure

_CALLS = "('ai_call_completed', 'ai_call_failed')"
_MS = "toUnixTimestamp64Milli(timestamp)"


def _sum(name: str, aggregate: str) -> Figure:
    return Figure(name, aggregate, f"sum(f_{name})")


ORGANIZATION_FIGURES: tuple[Figure, ...] = (
    _sum("event_count", "count()"),
    Figure(
        "active_users",
        "uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash))",
        "uniqExactIfMerge(f_active_users)",
    ),
    _sum(
        "known_cost",
        f"sumIf(assumeNotNull(estimated_cost_eur), event IN {_CALLS} AND cost_known)",
    ),
    _sum("costed_calls", f"countIf(event IN {_CALLS} AND cost_known)"),
    _sum("calls", "countIf(event = 'ai_call_completed')"),
    _sum("calls_with_unknown_cost", "countIf(event = 'ai_call_completed' AND NOT cost_known)"),
    _sum("failed_calls", "countIf(event = 'ai_call_failed')"),
    _sum("accepted", "countIf(event = 'ai_output_accepted')"),
    _sum("rejected", "countIf(event = 'ai_output_rejected')"),
    _sum("edited", "countIf(event = 'ai_output_edited')"),
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
