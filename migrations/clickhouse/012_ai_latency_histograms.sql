-- Latency percentiles from histograms kept as rows, measured by `python -m bench.analytics`:
-- the percentiles were merged from one `quantilesExactWeighted` state per projection row (008),
-- and deserializing and merging ≈ 100-entry states costs ≈ 2× more per entry than reading the
-- same histogram as plain rows (key, day, latency bucket, count). These projections keep, per
-- day (or hour) and per report family, one row per latency bucket (the 1 % `latency_sketch` of
-- 005) with the number of completed calls that reported a latency in it; other events fall in
-- bucket 0 with a count of 0. On 10 M events they hold 29 k (totals) to 3.3 M (customers) rows
-- and compress to < 6 MB each. The latency statement reads them for whole days (and, for the
-- totals family, whole hours); partial days come from the rows, and scopes no histogram serves
-- (e.g. one customer by feature) keep reading the states of 008.
-- The count must stay identical to the histogram branch of `_aggregated` in
-- app/analytics/ai_cost.py (tests/analytics/test_ai_cost_preaggregation.py checks EXPLAIN).
-- One ALTER adds the six: ClickHouse checks every projection of the table at each ALTER, so six
-- ALTERs cost ≈ 7× one (2.5 s against 0.35 s on an empty table, for each new database).

ALTER TABLE ai_usage_events
    -- Totals, day/week/month series, the ENVIRONMENT and APP breakdowns and their filters: whole days.
    ADD PROJECTION IF NOT EXISTS ai_latency_daily
    (
        SELECT
            workspace_id, toStartOfDay(timestamp), attr_environment, attr_app_id, latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_app_id, latency_sketch
    ),
    -- The FEATURE breakdown and series split by feature: whole days.
    ADD PROJECTION IF NOT EXISTS ai_latency_daily_feature
    (
        SELECT
            workspace_id, toStartOfDay(timestamp), attr_environment, attr_feature, latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_feature, latency_sketch
    ),
    -- The MODEL and PROVIDER breakdowns and series split by them: whole days.
    ADD PROJECTION IF NOT EXISTS ai_latency_daily_model
    (
        SELECT
            workspace_id, toStartOfDay(timestamp), attr_environment, attr_provider, attr_model, latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_provider, attr_model, latency_sketch
    ),
    -- The PLAN breakdown: by plan property, and by customer only for events without one.
    ADD PROJECTION IF NOT EXISTS ai_latency_daily_plan
    (
        SELECT
            workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, ''), latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, if(attr_customer_plan = '', attr_customer_org_id, ''), latency_sketch
    ),
    -- The latency of a page of customers and of one customer's totals: sorted by customer first,
    -- so that a few customers skip the others' granules.
    ADD PROJECTION IF NOT EXISTS ai_latency_daily_customer
    (
        SELECT
            workspace_id, attr_customer_org_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, attr_customer_org_id, toStartOfDay(timestamp), attr_environment, attr_customer_plan, latency_sketch
    ),
    -- The hour series and the whole hours at the ends of a range, for totals, ENVIRONMENT and APP.
    ADD PROJECTION IF NOT EXISTS ai_latency_hourly
    (
        SELECT
            workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id, latency_sketch,
            countIf(event = 'ai_call_completed' AND latency_ms > 0)
        GROUP BY workspace_id, toStartOfHour(timestamp), attr_environment, attr_app_id, latency_sketch
    );

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_daily SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_daily_feature SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_daily_model SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_daily_plan SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_daily_customer SETTINGS mutations_sync = 2;

ALTER TABLE ai_usage_events MATERIALIZE PROJECTION ai_latency_hourly SETTINGS mutations_sync = 2;
