-- parameters: {"limit": 50, "t0": "2026-10-04 00:00:00+00:00", "t1": "2026-11-02 00:00:00+00:00", "t2": "2026-10-03 08:00:00+00:00", "t3": "2026-10-04 00:00:00+00:00", "t4": "2026-11-02 00:00:00+00:00", "t5": "2026-11-02 16:00:00+00:00", "t6": "2026-10-03 07:30:00+00:00", "t7": "2026-10-03 08:00:00+00:00", "t8": "2026-11-02 16:00:00+00:00", "t9": "2026-11-02 16:45:00+00:00", "workspace_id": "5a9e3c1d-7b2f-4e60-8d14-c0ffee5a1d01"}
SELECT
    key,
    sum(f_known_cost_eur) AS f_known_cost_eur,
    sum(f_costed_events) AS f_costed_events,
    sum(f_calls) AS f_calls,
    sum(f_calls_with_unknown_cost) AS f_calls_with_unknown_cost,
    sum(f_failed_calls) AS f_failed_calls,
    sum(f_input_tokens) AS f_input_tokens,
    sum(f_output_tokens) AS f_output_tokens,
    sum(f_cached_input_tokens) AS f_cached_input_tokens,
    sum(f_call_tokens) AS f_call_tokens,
    sum(f_priced_call_tokens) AS f_priced_call_tokens,
    sum(f_failed_cost_eur) AS f_failed_cost_eur,
    sum(f_rejected_cost_eur) AS f_rejected_cost_eur,
    sum(f_accepted_outputs) AS f_accepted_outputs,
    sum(f_rejected_outputs) AS f_rejected_outputs,
    sum(f_edited_outputs) AS f_edited_outputs,
    sum(f_latency_calls) AS f_latency_calls,
    sum(f_edited_0) AS f_edited_0,
    sum(f_edited_1) AS f_edited_1,
    sum(f_edited_2) AS f_edited_2,
    sum(f_edited_3) AS f_edited_3,
    sum(f_edited_4) AS f_edited_4,
    sum(f_edited_5) AS f_edited_5,
    sum(f_edited_6) AS f_edited_6,
    sum(f_edited_7) AS f_edited_7,
    sum(f_edited_8) AS f_edited_8,
    sum(f_edited_9) AS f_edited_9
FROM
(
    (
        SELECT
            attr_feature AS key,
            f_known_cost_eur,
            f_costed_events,
            f_calls,
            f_calls_with_unknown_cost,
            f_failed_calls,
            f_input_tokens,
            f_output_tokens,
            f_cached_input_tokens,
            f_call_tokens,
            f_priced_call_tokens,
            f_failed_cost_eur,
            f_rejected_cost_eur,
            f_accepted_outputs,
            f_rejected_outputs,
            f_edited_outputs,
            f_latency_calls,
            f_edited_0,
            f_edited_1,
            f_edited_2,
            f_edited_3,
            f_edited_4,
            f_edited_5,
            f_edited_6,
            f_edited_7,
            f_edited_8,
            f_edited_9
        FROM ai_daily_feature
        WHERE workspace_id = {workspace_id:UUID}
            AND ((period >= {t0:DateTime('UTC')} AND period < {t1:DateTime('UTC')}))
    )
    UNION ALL
    (
        SELECT
            attr_feature AS key,
            f_known_cost_eur,
            f_costed_events,
            f_calls,
            f_calls_with_unknown_cost,
            f_failed_calls,
            f_input_tokens,
            f_output_tokens,
            f_cached_input_tokens,
            f_call_tokens,
            f_priced_call_tokens,
            f_failed_cost_eur,
            f_rejected_cost_eur,
            f_accepted_outputs,
            f_rejected_outputs,
            f_edited_outputs,
            f_latency_calls,
            f_edited_0,
            f_edited_1,
            f_edited_2,
            f_edited_3,
            f_edited_4,
            f_edited_5,
            f_edited_6,
            f_edited_7,
            f_edited_8,
            f_edited_9
        FROM ai_hourly_dims
        WHERE workspace_id = {workspace_id:UUID}
            AND ((period >= {t2:DateTime('UTC')} AND period < {t3:DateTime('UTC')}) OR (period >= {t4:DateTime('UTC')} AND period < {t5:DateTime('UTC')}))
    )
    UNION ALL
    (
        SELECT
            attr_feature AS key,
            sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur,
            countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events,
            countIf(event = 'ai_call_completed') AS f_calls,
            countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost,
            countIf(event = 'ai_call_failed') AS f_failed_calls,
            sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens,
            sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens,
            sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens,
            sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens,
            sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens,
            sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur,
            sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur,
            sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs,
            sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs,
            sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs,
            countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8,
            sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9
        FROM ai_usage_events
        WHERE workspace_id = {workspace_id:UUID}
            AND ((timestamp >= {t6:DateTime64(3, 'UTC')} AND timestamp < {t7:DateTime64(3, 'UTC')}) OR (timestamp >= {t8:DateTime64(3, 'UTC')} AND timestamp < {t9:DateTime64(3, 'UTC')}))
        GROUP BY key
    )
)
GROUP BY key
HAVING
    f_calls + f_failed_calls + f_accepted_outputs + f_rejected_outputs + f_edited_outputs != 0
ORDER BY f_known_cost_eur DESC, f_calls DESC, key ASC
LIMIT {limit:UInt32};

-- parameters: {"t0": "2026-10-04 00:00:00+00:00", "t1": "2026-11-02 00:00:00+00:00", "t2": "2026-10-03 07:30:00+00:00", "t3": "2026-10-04 00:00:00+00:00", "t4": "2026-11-02 00:00:00+00:00", "t5": "2026-11-02 16:45:00+00:00", "workspace_id": "5a9e3c1d-7b2f-4e60-8d14-c0ffee5a1d01"}
SELECT key, quantilesExactWeightedIfMerge(0.5, 0.9, 0.95, 0.99)(f_latency) AS f_latency
FROM
(
    (
        SELECT
            attr_feature AS key,
            quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(n), n > 0) AS f_latency
        FROM ai_latency_daily_feature
        WHERE workspace_id = {workspace_id:UUID}
            AND ((period >= {t0:DateTime('UTC')} AND period < {t1:DateTime('UTC')}))
        GROUP BY key
    )
    UNION ALL
    (
        SELECT
            attr_feature AS key,
            quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency
        FROM ai_usage_events
        WHERE workspace_id = {workspace_id:UUID}
            AND ((timestamp >= {t2:DateTime64(3, 'UTC')} AND timestamp < {t3:DateTime64(3, 'UTC')}) OR (timestamp >= {t4:DateTime64(3, 'UTC')} AND timestamp < {t5:DateTime64(3, 'UTC')}))
        GROUP BY key
    )
)
GROUP BY key;
