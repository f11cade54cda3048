-- Smaller aggregate projections for the AI Cost pages (replacing those of 005), measured by
-- `python -m bench.analytics` on 10 million events:
-- * ClickHouse plans every SELECT against every projection of the table (≈ 15 ms here); each
--   SELECT now names the one it reads (`preferred_optimize_projection_name`), so only that one
--   is weighed, and rows are read through merge(), which weighs none.
-- * Merging the latency states of every row read is the costly part of a report, so each
--   projection holds as few rows as its reports allow: per day, and per hour only for the whole
--   hours at the ends of a range; partial hours come from the rows.
-- * The edit-ratio histogram is ten sums (one per tenth) instead of a sumMap: plain sums merge
--   far faster than maps.
-- The aggregate expressions below must stay identical to `_FIGURES` in app/analytics/ai_cost.py
-- (tests/analytics/test_ai_cost_preaggregation.py checks that every report reads a projection).

ALTER TABLE ai_usage_events DROP PROJECTION IF EXISTS ai_hourly;

ALTER TABLE ai_usage_events DROP PROJECTION IF EXISTS ai_daily_feature;

ALTER TABLE ai_usage_events DROP PROJECTION IF EXISTS ai_daily_model;

ALTER TABLE ai_usage_events DROP PROJECTION IF EXISTS ai_daily_customer;

-- Totals, day/week/month series, the ENVIRONMENT and APP breakdowns: whole days.
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily
(
    SELECT
        workspace_id, toStartOfDay(timestamp), attr_environment, attr_app_id,
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_app_id
);

-- The FEATURE breakdown and series split by feature: whole days.
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_feature
);

-- The MODEL and PROVIDER breakdowns (a model key belongs to one provider): whole days.
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_provider, attr_model
);

-- The PLAN breakdown: whole days, by the plan property, and by customer only for events
-- without one (whose plan is the organization's, joined at query time).
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily_plan
(
    SELECT
        workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, ''),
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '')
);

-- The CUSTOMER breakdown: whole days.
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_org_id, attr_customer_plan
);

-- One customer's FEATURE, MODEL, PROVIDER or APP breakdown (an organization's detail page):
-- whole days, sorted by customer first so that the filter reads a few granules. Too many rows
-- for unfiltered reports, which the smaller projections serve.
ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_daily_customer_dims
(
    SELECT
        workspace_id, attr_customer_org_id, toStartOfDay(timestamp), attr_environment, attr_app_id, attr_feature, attr_provider, attr_model,
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, attr_customer_org_id, toStartOfDay(timestamp), attr_environment, attr_app_id, attr_feature, attr_provider, attr_model
);

-- The whole hours at the ends of a range (the daily projections serve its whole days), and
-- hourly series: one set per family of breakdowns.
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id
);

ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_hourly_dims
(
    SELECT
        workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id, attr_feature, attr_provider, attr_model,
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id, attr_feature, attr_provider, attr_model
);

ALTER TABLE ai_usage_events ADD PROJECTION IF NOT EXISTS ai_hourly_customer
(
    SELECT
        workspace_id, toStartOfHour(timestamp), attr_environment, attr_customer_org_id, attr_customer_plan,
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
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8),
        sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9),
        quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0)
    GROUP BY workspace_id, toStartOfHour(timestamp), attr_environment, attr_customer_org_id, attr_customer_plan
);

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_feature SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_model SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_plan SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_customer SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_daily_customer_dims SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_hourly SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_hourly_dims SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_hourly_customer SETTINGS mutations_sync = 2;
