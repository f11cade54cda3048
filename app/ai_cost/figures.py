"""The figures of the AI cost reports (CONTRACT §4) as ClickHouse aggregates over
`ai_usage_events`: what the rollup tables store per period and key (app/store/rollups.py;
a new figure needs a migration: docs/changing-a-figure.md) and what a report computes from the
rows at the ends of its range. Every figure is a sum or a count, except the latency, a
mergeable state of percentiles.
"""

from __future__ import annotations

from app.store.figure import Figure

EDIT_RATIO_BUCKETS = 10
# Latency buckets: bucket i holds latencies in (g^(i-1), g^i] ms, g = (1 + a) / (1 - a) with
# a = 1 %, represented by 2 g^i / (g + 1), within a of every latency in it (DDSketch). Migration
# 005 computes it in the `latency_sketch` column.
LATENCY_RELATIVE_ACCURACY = 0.01
LATENCY_LEVELS = (0.5, 0.9, 0.95, 0.99)

_CALLS = "('ai_call_completed', 'ai_call_failed')"
LEVELS = ", ".join(str(level) for level in LATENCY_LEVELS)
_COST = "assumeNotNull(estimated_cost_eur)"


# Failed calls that reported usage were paid for, so their known cost and tokens count; only
# completed calls can have an "unknown" cost, since failed calls without usage are not costed by
# design (CONTRACT §3). Output events count with their `sign` (+1, or -1/+1 pairs when a late
# call re-attributes them); call events are never corrected (sign 1). The names are those of
# the `AiCostFigures` fields.
# (`cost_known` and `edit_ratio_known` are materialized flags of migration 005: aggregate
# projections once had to match these expressions, which `x IS NULL` alone did not.)
FIGURES: tuple[Figure, ...] = (
    Figure.summed("known_cost_eur", f"sumIf({_COST}, event IN {_CALLS} AND cost_known)"),
    Figure.summed("costed_events", f"countIf(event IN {_CALLS} AND cost_known)"),
    Figure.summed("calls", "countIf(event = 'ai_call_completed')"),
    Figure.summed(
        "calls_with_unknown_cost", "countIf(event = 'ai_call_completed' AND NOT cost_known)"
    ),
    Figure.summed("failed_calls", "countIf(event = 'ai_call_failed')"),
    Figure.summed("input_tokens", f"sumIf(input_tokens, event IN {_CALLS})"),
    Figure.summed("output_tokens", f"sumIf(output_tokens, event IN {_CALLS})"),
    Figure.summed("cached_input_tokens", f"sumIf(cached_input_tokens, event IN {_CALLS})"),
    Figure.summed(
        "call_tokens", "sumIf(input_tokens + output_tokens, event = 'ai_call_completed')"
    ),
    Figure.summed(
        "priced_call_tokens",
        "sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known)",
    ),
    Figure.summed("failed_cost_eur", f"sumIf({_COST}, event = 'ai_call_failed' AND cost_known)"),
    Figure.summed(
        "rejected_cost_eur",
        "sumIf(assumeNotNull(call_cost_eur) * sign, "
        "event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL)",
    ),
    Figure.summed("accepted_outputs", "sumIf(sign, event = 'ai_output_accepted')"),
    Figure.summed("rejected_outputs", "sumIf(sign, event = 'ai_output_rejected')"),
    Figure.summed("edited_outputs", "sumIf(sign, event = 'ai_output_edited')"),
    Figure.summed("latency_calls", "countIf(event = 'ai_call_completed' AND latency_ms > 0)"),
    # The edit-ratio distribution, one sum per tenth: ten sums merge far faster than a map.
    *(
        Figure.summed(
            f"edited_{i}",
            "sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known "
            f"AND edit_ratio_bucket = {i})",
        )
        for i in range(EDIT_RATIO_BUCKETS)
    ),
    Figure(
        "latency",
        f"quantilesExactWeightedIfState({LEVELS})"
        "(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)",
        f"quantilesExactWeightedIfMerge({LEVELS})(f_latency)",
    ),
)


# Calls per latency bucket: the count of the latency histograms (app/store/rollups.py).
BUCKET_CALLS = "countIf(event = 'ai_call_completed' AND latency_ms > 0)"
