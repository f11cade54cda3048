-- Rollup tables for the AI Cost pages, replacing the aggregate projections of 008 and 012
-- (app/analytics/rollups.py rendered these statements once; frozen since, see
-- docs/changing-a-figure.md). ClickHouse plans a SELECT that reads a plain table in less than
-- half the time of one a projection serves, and planning was most of each report
-- (bench/README, "Analytics queries"). A materialized view feeds each table from every insert
-- into `ai_usage_events`; each row counts the rows it sums (`source_rows`), which the writer
-- compares to repair a rollup left short by a crash between the two parts (see rollups.py).
-- The tables are filled from the rows already stored once their views exist: run this
-- migration with the writers stopped (`saas-tracker serve` and `migrate` run migrations
-- before any worker starts).

-- PLAN groups by the customer whose organization's plan counts (events without a plan
-- property), in the rows as in the rollups.
ALTER TABLE ai_usage_events ADD COLUMN IF NOT EXISTS plan_customer String ALIAS if(attr_customer_plan = '', attr_customer_org_id, '');

CREATE TABLE IF NOT EXISTS ai_daily
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_app_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_view TO ai_daily AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_app_id, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id;

TRUNCATE TABLE ai_daily;

INSERT INTO ai_daily SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_app_id, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id;

CREATE TABLE IF NOT EXISTS ai_daily_feature
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_feature LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_feature);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_feature_view TO ai_daily_feature AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_feature, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_feature;

TRUNCATE TABLE ai_daily_feature;

INSERT INTO ai_daily_feature SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_feature, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_feature;

CREATE TABLE IF NOT EXISTS ai_daily_model
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_provider LowCardinality(String),
    attr_model LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_provider, attr_model);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_model_view TO ai_daily_model AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_provider, attr_model;

TRUNCATE TABLE ai_daily_model;

INSERT INTO ai_daily_model SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_provider, attr_model;

CREATE TABLE IF NOT EXISTS ai_daily_plan
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_customer_plan LowCardinality(String),
    plan_customer String,
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_customer_plan, plan_customer);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_plan_view TO ai_daily_plan AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer;

TRUNCATE TABLE ai_daily_plan;

INSERT INTO ai_daily_plan SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer;

CREATE TABLE IF NOT EXISTS ai_daily_customer
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_customer_org_id String,
    attr_customer_plan LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8),
    plan_customer String ALIAS if(attr_customer_plan = '', attr_customer_org_id, '')
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_customer_view TO ai_daily_customer AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_org_id, attr_customer_plan, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan;

TRUNCATE TABLE ai_daily_customer;

INSERT INTO ai_daily_customer SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_org_id, attr_customer_plan, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan;

CREATE TABLE IF NOT EXISTS ai_daily_customer_dims
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_customer_org_id String,
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    attr_feature LowCardinality(String),
    attr_provider LowCardinality(String),
    attr_model LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, attr_customer_org_id, period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_daily_customer_dims_view TO ai_daily_customer_dims AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_customer_org_id, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_customer_org_id, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model;

TRUNCATE TABLE ai_daily_customer_dims;

INSERT INTO ai_daily_customer_dims SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_customer_org_id, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_customer_org_id, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model;

CREATE TABLE IF NOT EXISTS ai_hourly
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_app_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_hourly_view TO ai_hourly AS SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id;

TRUNCATE TABLE ai_hourly;

INSERT INTO ai_hourly SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id;

CREATE TABLE IF NOT EXISTS ai_hourly_dims
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    attr_feature LowCardinality(String),
    attr_provider LowCardinality(String),
    attr_model LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_hourly_dims_view TO ai_hourly_dims AS SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model;

TRUNCATE TABLE ai_hourly_dims;

INSERT INTO ai_hourly_dims SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, attr_feature, attr_provider, attr_model;

CREATE TABLE IF NOT EXISTS ai_hourly_customer
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_customer_org_id String,
    attr_customer_plan LowCardinality(String),
    source_rows UInt64,
    f_known_cost_eur Decimal(38, 12),
    f_costed_events UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_input_tokens UInt64,
    f_output_tokens UInt64,
    f_cached_input_tokens UInt64,
    f_call_tokens UInt64,
    f_priced_call_tokens UInt64,
    f_failed_cost_eur Decimal(38, 12),
    f_rejected_cost_eur Decimal(38, 12),
    f_accepted_outputs Int64,
    f_rejected_outputs Int64,
    f_edited_outputs Int64,
    f_latency_calls UInt64,
    f_edited_0 Int64,
    f_edited_1 Int64,
    f_edited_2 Int64,
    f_edited_3 Int64,
    f_edited_4 Int64,
    f_edited_5 Int64,
    f_edited_6 Int64,
    f_edited_7 Int64,
    f_edited_8 Int64,
    f_edited_9 Int64,
    f_latency AggregateFunction(quantilesExactWeightedIf(0.5, 0.9, 0.95, 0.99), Float64, UInt64, UInt8),
    plan_customer String ALIAS if(attr_customer_plan = '', attr_customer_org_id, '')
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_hourly_customer_view TO ai_hourly_customer AS SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_customer_org_id, attr_customer_plan, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan;

TRUNCATE TABLE ai_hourly_customer;

INSERT INTO ai_hourly_customer SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_customer_org_id, attr_customer_plan, count() AS source_rows, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost_eur, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_events, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, sumIf(input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_input_tokens, sumIf(output_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_output_tokens, sumIf(cached_input_tokens, event IN ('ai_call_completed', 'ai_call_failed')) AS f_cached_input_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed') AS f_call_tokens, sumIf(input_tokens + output_tokens, event = 'ai_call_completed' AND cost_known) AS f_priced_call_tokens, sumIf(assumeNotNull(estimated_cost_eur), event = 'ai_call_failed' AND cost_known) AS f_failed_cost_eur, sumIf(assumeNotNull(call_cost_eur) * sign, event = 'ai_output_rejected' AND call_cost_eur IS NOT NULL) AS f_rejected_cost_eur, sumIf(sign, event = 'ai_output_accepted') AS f_accepted_outputs, sumIf(sign, event = 'ai_output_rejected') AS f_rejected_outputs, sumIf(sign, event = 'ai_output_edited') AS f_edited_outputs, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS f_latency_calls, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 0) AS f_edited_0, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 1) AS f_edited_1, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 2) AS f_edited_2, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 3) AS f_edited_3, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 4) AS f_edited_4, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 5) AS f_edited_5, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 6) AS f_edited_6, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 7) AS f_edited_7, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 8) AS f_edited_8, sumIf(sign, event = 'ai_output_edited' AND edit_ratio_known AND edit_ratio_bucket = 9) AS f_edited_9, quantilesExactWeightedIfState(0.5, 0.9, 0.95, 0.99)(latency_sketch, toUInt64(sign), event = 'ai_call_completed' AND latency_ms > 0) AS f_latency FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_org_id, attr_customer_plan;

CREATE TABLE IF NOT EXISTS ai_latency_daily
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_app_id, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_daily_view TO ai_latency_daily AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_app_id, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, latency_sketch;

TRUNCATE TABLE ai_latency_daily;

INSERT INTO ai_latency_daily SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_app_id, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_daily_feature
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_feature LowCardinality(String),
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_feature, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_daily_feature_view TO ai_latency_daily_feature AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_feature, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_feature, latency_sketch;

TRUNCATE TABLE ai_latency_daily_feature;

INSERT INTO ai_latency_daily_feature SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_feature, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_feature, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_daily_model
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_provider LowCardinality(String),
    attr_model LowCardinality(String),
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_provider, attr_model, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_daily_model_view TO ai_latency_daily_model AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_provider, attr_model, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_provider, attr_model, latency_sketch;

TRUNCATE TABLE ai_latency_daily_model;

INSERT INTO ai_latency_daily_model SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_provider, attr_model, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_provider, attr_model, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_daily_plan
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_customer_plan LowCardinality(String),
    plan_customer String,
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_daily_plan_view TO ai_latency_daily_plan AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;

TRUNCATE TABLE ai_latency_daily_plan;

INSERT INTO ai_latency_daily_plan SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_daily_customer
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_customer_org_id String,
    attr_environment LowCardinality(String),
    attr_customer_plan LowCardinality(String),
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64,
    plan_customer String ALIAS if(attr_customer_plan = '', attr_customer_org_id, '')
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, attr_customer_org_id, period, attr_environment, attr_customer_plan, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_daily_customer_view TO ai_latency_daily_customer AS SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_customer_org_id, attr_environment, attr_customer_plan, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_customer_org_id, attr_environment, attr_customer_plan, latency_sketch;

TRUNCATE TABLE ai_latency_daily_customer;

INSERT INTO ai_latency_daily_customer SELECT workspace_id, toStartOfDay(timestamp) AS period, attr_customer_org_id, attr_environment, attr_customer_plan, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_customer_org_id, attr_environment, attr_customer_plan, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_hourly
(
    workspace_id UUID,
    period DateTime('UTC'),
    attr_environment LowCardinality(String),
    attr_app_id UUID,
    latency_sketch Float64,
    source_rows UInt64,
    n UInt64
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, attr_environment, attr_app_id, latency_sketch);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_hourly_view TO ai_latency_hourly AS SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, latency_sketch;

TRUNCATE TABLE ai_latency_hourly;

INSERT INTO ai_latency_hourly SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_app_id, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_app_id, latency_sketch;

-- The projections the rollups replace: the writer no longer computes them.
ALTER TABLE ai_usage_events
    DROP PROJECTION IF EXISTS ai_daily,
    DROP PROJECTION IF EXISTS ai_daily_feature,
    DROP PROJECTION IF EXISTS ai_daily_model,
    DROP PROJECTION IF EXISTS ai_daily_plan,
    DROP PROJECTION IF EXISTS ai_daily_customer,
    DROP PROJECTION IF EXISTS ai_daily_customer_dims,
    DROP PROJECTION IF EXISTS ai_hourly,
    DROP PROJECTION IF EXISTS ai_hourly_dims,
    DROP PROJECTION IF EXISTS ai_hourly_customer,
    DROP PROJECTION IF EXISTS ai_latency_daily,
    DROP PROJECTION IF EXISTS ai_latency_daily_feature,
    DROP PROJECTION IF EXISTS ai_latency_daily_model,
    DROP PROJECTION IF EXISTS ai_latency_daily_plan,
    DROP PROJECTION IF EXISTS ai_latency_daily_customer,
    DROP PROJECTION IF EXISTS ai_latency_hourly;
