-- Latency histograms by plan per week and per hour: the latency of PLAN reads a histogram per
-- customer (without a plan property) and period, and these read fewer rows for the whole
-- weeks of a range and for the whole hours at its ends than the daily histogram and the raw
-- rows (app/analytics/rollups.py). Rendered once by
-- app.analytics.rollups.migration_statements; frozen since (docs/changing-a-figure.md).
-- The tables are filled from the rows already stored once their views exist: run this
-- migration with the writers stopped (`saas-tracker serve` and `migrate` run migrations
-- before any worker starts).

CREATE TABLE IF NOT EXISTS ai_latency_weekly_plan
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

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_weekly_plan_view TO ai_latency_weekly_plan AS SELECT workspace_id, toDateTime(toStartOfWeek(timestamp, 1), 'UTC') AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;

TRUNCATE TABLE ai_latency_weekly_plan;

INSERT INTO ai_latency_weekly_plan SELECT workspace_id, toDateTime(toStartOfWeek(timestamp, 1), 'UTC') AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;

CREATE TABLE IF NOT EXISTS ai_latency_hourly_plan
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

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_latency_hourly_plan_view TO ai_latency_hourly_plan AS SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;

TRUNCATE TABLE ai_latency_hourly_plan;

INSERT INTO ai_latency_hourly_plan SELECT workspace_id, toStartOfHour(timestamp) AS period, attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, '') AS plan_customer, latency_sketch, count() AS source_rows, countIf(event = 'ai_call_completed' AND latency_ms > 0) AS n FROM ai_usage_events GROUP BY workspace_id, period, attr_environment, attr_customer_plan, plan_customer, latency_sketch;
