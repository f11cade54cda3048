-- Rollup tables for the organizations list, replacing the aggregate projections of 009 and 011
-- as 013 replaced those of `ai_usage_events` (app/analytics/rollups.py rendered these
-- statements once; frozen since, see docs/changing-a-figure.md): the same figures
-- (app/analytics/organization_figures.py) per day or hour, environment and organization, read
-- in about three quarters of the time (bench/README, "Changes of 2026-12-05"). Each row counts
-- the events it sums (`source_rows`), which the writer compares to repair a rollup left short
-- by a crash. The tables are filled from the events already stored once their views exist: run
-- this migration with the writers stopped (`saas-tracker serve` and `migrate` run migrations
-- before any worker starts).

ALTER TABLE events DROP PROJECTION IF EXISTS org_daily;

ALTER TABLE events DROP PROJECTION IF EXISTS org_hourly;

CREATE TABLE IF NOT EXISTS organizations_daily
(
    workspace_id UUID,
    period DateTime('UTC'),
    environment LowCardinality(String),
    customer_org_id String,
    source_rows UInt64,
    f_event_count UInt64,
    f_active_users AggregateFunction(uniqExactIf, UInt64, UInt8),
    f_known_cost Decimal(38, 12),
    f_costed_calls UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_accepted UInt64,
    f_rejected UInt64,
    f_edited UInt64,
    f_first_seen_in_range SimpleAggregateFunction(min, Int64),
    f_last_seen SimpleAggregateFunction(max, Int64),
    f_event_plan AggregateFunction(argMaxIf, String, Int64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, environment, customer_org_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS organizations_daily_view TO organizations_daily AS SELECT workspace_id, toStartOfDay(timestamp) AS period, environment, customer_org_id, count() AS source_rows, count() AS f_event_count, uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash)) AS f_active_users, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_calls, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, countIf(event = 'ai_output_accepted') AS f_accepted, countIf(event = 'ai_output_rejected') AS f_rejected, countIf(event = 'ai_output_edited') AS f_edited, min(toUnixTimestamp64Milli(timestamp)) AS f_first_seen_in_range, max(toUnixTimestamp64Milli(timestamp)) AS f_last_seen, argMaxIfState(customer_plan, toUnixTimestamp64Milli(timestamp), notEmpty(customer_plan)) AS f_event_plan FROM events GROUP BY workspace_id, period, environment, customer_org_id;

TRUNCATE TABLE organizations_daily;

INSERT INTO organizations_daily SELECT workspace_id, toStartOfDay(timestamp) AS period, environment, customer_org_id, count() AS source_rows, count() AS f_event_count, uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash)) AS f_active_users, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_calls, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, countIf(event = 'ai_output_accepted') AS f_accepted, countIf(event = 'ai_output_rejected') AS f_rejected, countIf(event = 'ai_output_edited') AS f_edited, min(toUnixTimestamp64Milli(timestamp)) AS f_first_seen_in_range, max(toUnixTimestamp64Milli(timestamp)) AS f_last_seen, argMaxIfState(customer_plan, toUnixTimestamp64Milli(timestamp), notEmpty(customer_plan)) AS f_event_plan FROM events GROUP BY workspace_id, period, environment, customer_org_id;

CREATE TABLE IF NOT EXISTS organizations_hourly
(
    workspace_id UUID,
    period DateTime('UTC'),
    environment LowCardinality(String),
    customer_org_id String,
    source_rows UInt64,
    f_event_count UInt64,
    f_active_users AggregateFunction(uniqExactIf, UInt64, UInt8),
    f_known_cost Decimal(38, 12),
    f_costed_calls UInt64,
    f_calls UInt64,
    f_calls_with_unknown_cost UInt64,
    f_failed_calls UInt64,
    f_accepted UInt64,
    f_rejected UInt64,
    f_edited UInt64,
    f_first_seen_in_range SimpleAggregateFunction(min, Int64),
    f_last_seen SimpleAggregateFunction(max, Int64),
    f_event_plan AggregateFunction(argMaxIf, String, Int64, UInt8)
)
ENGINE = SummingMergeTree
ORDER BY (workspace_id, period, environment, customer_org_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS organizations_hourly_view TO organizations_hourly AS SELECT workspace_id, toStartOfHour(timestamp) AS period, environment, customer_org_id, count() AS source_rows, count() AS f_event_count, uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash)) AS f_active_users, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_calls, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, countIf(event = 'ai_output_accepted') AS f_accepted, countIf(event = 'ai_output_rejected') AS f_rejected, countIf(event = 'ai_output_edited') AS f_edited, min(toUnixTimestamp64Milli(timestamp)) AS f_first_seen_in_range, max(toUnixTimestamp64Milli(timestamp)) AS f_last_seen, argMaxIfState(customer_plan, toUnixTimestamp64Milli(timestamp), notEmpty(customer_plan)) AS f_event_plan FROM events GROUP BY workspace_id, period, environment, customer_org_id;

TRUNCATE TABLE organizations_hourly;

INSERT INTO organizations_hourly SELECT workspace_id, toStartOfHour(timestamp) AS period, environment, customer_org_id, count() AS source_rows, count() AS f_event_count, uniqExactIfState(cityHash64(user_hash), notEmpty(user_hash)) AS f_active_users, sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_known_cost, countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known) AS f_costed_calls, countIf(event = 'ai_call_completed') AS f_calls, countIf(event = 'ai_call_completed' AND NOT cost_known) AS f_calls_with_unknown_cost, countIf(event = 'ai_call_failed') AS f_failed_calls, countIf(event = 'ai_output_accepted') AS f_accepted, countIf(event = 'ai_output_rejected') AS f_rejected, countIf(event = 'ai_output_edited') AS f_edited, min(toUnixTimestamp64Milli(timestamp)) AS f_first_seen_in_range, max(toUnixTimestamp64Milli(timestamp)) AS f_last_seen, argMaxIfState(customer_plan, toUnixTimestamp64Milli(timestamp), notEmpty(customer_plan)) AS f_event_plan FROM events GROUP BY workspace_id, period, environment, customer_org_id;
