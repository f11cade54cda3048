-- Aggregate projections of `events` for the organizations list (app/organizations/queries.py),
-- which otherwise reads every event of the range and of the retention window before it
-- (≈ 2 s for 10 million events; `python -m bench.analytics`). As in 008: whole days from the
-- daily projection, whole hours at the ends (and around the activity trend's midpoint) from the
-- hourly one, partial hours from the rows; each SELECT names the projection it reads. Stored in
-- each part with its rows, so they never disagree with them after a crash.
--
-- The aggregate expressions must stay identical to `_FIGURES` in app/organizations/queries.py.
-- `cost_known` exists because ClickHouse rewrites `x IS NOT NULL` alone into a read of the null
-- map, which then no longer matches a projection's aggregate; `customer_plan` is the plan the
-- events carry (parsed once at write time instead of at every read). Conditions use notEmpty():
-- ClickHouse rewrites `x != ''` in a query, not in a projection, and the two would not match.

ALTER TABLE events
    ADD COLUMN IF NOT EXISTS cost_known Bool MATERIALIZED estimated_cost_eur IS NOT NULL,
    ADD COLUMN IF NOT EXISTS customer_plan LowCardinality(String) MATERIALIZED if(position(properties, '"customer_plan"') > 0, JSONExtractString(properties, 'customer_plan'), '');

ALTER TABLE events MATERIALIZE COLUMN cost_known SETTINGS mutations_sync = 2;

ALTER TABLE events MATERIALIZE COLUMN customer_plan SETTINGS mutations_sync = 2;

ALTER TABLE events ADD PROJECTION IF NOT EXISTS org_daily
(
    SELECT
        workspace_id, toStartOfDay(timestamp), environment, customer_org_id,
        count(),
        uniqExactIfState(user_hash, notEmpty(user_hash)),
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        countIf(event = 'ai_output_accepted'),
        countIf(event = 'ai_output_rejected'),
        countIf(event = 'ai_output_edited'),
        min(timestamp),
        max(timestamp),
        argMaxIfState(customer_plan, timestamp, notEmpty(customer_plan))
    GROUP BY workspace_id, toStartOfDay(timestamp), environment, customer_org_id
);

ALTER TABLE events ADD PROJECTION IF NOT EXISTS org_hourly
(
    SELECT
        workspace_id, toStartOfHour(timestamp), environment, customer_org_id,
        count(),
        uniqExactIfState(user_hash, notEmpty(user_hash)),
        sumIf(assumeNotNull(estimated_cost_eur), event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event IN ('ai_call_completed', 'ai_call_failed') AND cost_known),
        countIf(event = 'ai_call_completed'),
        countIf(event = 'ai_call_completed' AND NOT cost_known),
        countIf(event = 'ai_call_failed'),
        countIf(event = 'ai_output_accepted'),
        countIf(event = 'ai_output_rejected'),
        countIf(event = 'ai_output_edited'),
        min(timestamp),
        max(timestamp),
        argMaxIfState(customer_plan, timestamp, notEmpty(customer_plan))
    GROUP BY workspace_id, toStartOfHour(timestamp), environment, customer_org_id
);

ALTER TABLE events MATERIALIZE PROJECTION org_daily SETTINGS mutations_sync = 2;

ALTER TABLE events MATERIALIZE PROJECTION org_hourly SETTINGS mutations_sync = 2;
