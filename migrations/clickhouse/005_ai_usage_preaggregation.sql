-- Pre-aggregation for the AI Cost pages, kept exact and crash-consistent.
--
-- 1. Write-time attribution (CONTRACT §4: an output event belongs to the row of the call whose
--    ai_call_id it names). The writer stores on each ai_output_* row the dimensions of its call
--    (attr_*), the call's event_id and known cost; other rows carry their own values (the
--    DEFAULTs below, which also cover rows written before this migration). A call stored after
--    its outputs is reconciled by appending, for each such output, a pair of rows: sign = -1
--    with the old attribution and sign = +1 with the new one — one INSERT, one part, so the
--    pair lands atomically. Counts of output events are therefore sum(sign), never count().
--    Call rows are never corrected: their sign is always 1.
-- 2. Aggregate PROJECTIONS: stored inside each part and written with it, so a crash can never
--    leave them disagreeing with the rows (a materialized view could). ClickHouse answers a
--    matching GROUP BY from them and merges their partial aggregates exactly: sums, counts, the
--    edit-ratio histogram and the latency states (counts per latency bucket) are associative.
--
-- The aggregate expressions below must stay identical to `_FIGURES` in app/analytics/ai_cost.py
-- (tests/analytics/test_ai_cost_preaggregation.py checks that every report reads a projection).
-- The Bool flags exist because ClickHouse rewrites `x IS NOT NULL` alone into a read of the
-- null map, which then no longer matches a projection's aggregate; the latency state is stored
-- as -State so that partial results of several parts of a range can be merged by the query.

ALTER TABLE ai_usage_events
    ADD COLUMN IF NOT EXISTS sign Int8 DEFAULT 1,
    ADD COLUMN IF NOT EXISTS call_event_id String DEFAULT '',
    ADD COLUMN IF NOT EXISTS call_cost_eur Nullable(Decimal(38, 12)),
    ADD COLUMN IF NOT EXISTS attr_app_id UUID DEFAULT app_id,
    ADD COLUMN IF NOT EXISTS attr_environment LowCardinality(String) DEFAULT environment,
    ADD COLUMN IF NOT EXISTS attr_customer_org_id String DEFAULT customer_org_id,
    ADD COLUMN IF NOT EXISTS attr_customer_plan LowCardinality(String) DEFAULT customer_plan,
    ADD COLUMN IF NOT EXISTS attr_feature LowCardinality(String) DEFAULT feature,
    ADD COLUMN IF NOT EXISTS attr_provider LowCardinality(String) DEFAULT provider,
    ADD COLUMN IF NOT EXISTS attr_model LowCardinality(String) DEFAULT multiIf(ai_canonical_model_key != '', toString(ai_canonical_model_key), provider != '' OR model != '', concat(provider, '/', model), ''),
    ADD COLUMN IF NOT EXISTS cost_known Bool MATERIALIZED estimated_cost_eur IS NOT NULL,
    ADD COLUMN IF NOT EXISTS edit_ratio_known Bool MATERIALIZED edit_ratio IS NOT NULL,
    ADD COLUMN IF NOT EXISTS edit_ratio_bucket UInt8 MATERIALIZED least(toUInt8(floor(ifNull(edit_ratio, 0) * 10)), 9),
    ADD COLUMN IF NOT EXISTS latency_sketch Float64 MATERIALIZED if(latency_ms > 0, round(2 * pow(1.01 / 0.99, ceil(log(latency_ms) / log(1.01 / 0.99))) / (1.01 / 0.99 + 1), 3), 0);

-- The writer looks calls up by ai_call_id (and outputs by the ids of late calls) within a
-- time window; the bloom filter skips the granules that cannot hold them.
ALTER TABLE ai_usage_events ADD INDEX IF NOT EXISTS idx_ai_call_id ai_call_id TYPE bloom_filter(0.01) GRANULARITY 1;

ALTER TABLE ai_usage_events MATERIALIZE INDEX idx_ai_call_id SETTINGS mutations_sync = 2;

-- Totals, the time series (any granularity), the ENVIRONMENT and APP breakdowns, and the
-- partial days at the ends of a range for the daily projections below.
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_hourly
(
    SELECT
        workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id,
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed'),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known),
        sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known),
        sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL),
        sumIf(sign, event = 'ai_output_accepted'),
        sumIf(sign, event = 'ai_output_rejected'),
        sumIf(sign, event = 'ai_output_edited'),
        countIf(event = 'ai_call_completed' AND latency_ms > 0),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0),
        sumMapIf([edit_ratio_bucket], [toInt64(sign)], event = 'ai_output_edited' AND edit_ratio_known)
    GROUP BY workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id
);

-- The FEATURE breakdown and series split by feature. Daily: per hour, 50 features times the
-- environments would barely shrink the rows of a busy workspace; the partial days at the ends
-- of a range are read from the rows.
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily_feature
(
    SELECT
        workspace_id, toStartOfDay(timestamp), attr_environment, attr_feature,
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed'),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known),
        sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known),
        sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL),
        sumIf(sign, event = 'ai_output_accepted'),
        sumIf(sign, event = 'ai_output_rejected'),
        sumIf(sign, event = 'ai_output_edited'),
        countIf(event = 'ai_call_completed' AND latency_ms > 0),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0),
        sumMapIf([edit_ratio_bucket], [toInt64(sign)], event = 'ai_output_edited' AND edit_ratio_known)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_feature
);

-- The MODEL and PROVIDER breakdowns (a model key belongs to one provider).
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily_model
(
    SELECT
        workspace_id, toStartOfDay(timestamp), attr_environment, attr_provider, attr_model,
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed'),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known),
        sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known),
        sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL),
        sumIf(sign, event = 'ai_output_accepted'),
        sumIf(sign, event = 'ai_output_rejected'),
        sumIf(sign, event = 'ai_output_edited'),
        countIf(event = 'ai_call_completed' AND latency_ms > 0),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0),
        sumMapIf([edit_ratio_bucket], [toInt64(sign)], event = 'ai_output_edited' AND edit_ratio_known)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_provider, attr_model
);

-- The CUSTOMER and PLAN breakdowns (the organization's plan is joined at query time).
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily_customer
(
    SELECT
        workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_org_id, attr_customer_plan,
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed'),
        sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known),
        sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known),
        sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL),
        sumIf(sign, event = 'ai_output_accepted'),
        sumIf(sign, event = 'ai_output_rejected'),
        sumIf(sign, event = 'ai_output_edited'),
        countIf(event = 'ai_call_completed' AND latency_ms > 0),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0),
        sumMapIf([edit_ratio_bucket], [toInt64(sign)], event = 'ai_output_edited' AND edit_ratio_known)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_org_id, attr_customer_plan
);

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_hourly SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_feature SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_model SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_customer SETTINGS mutations_sync = 2;
