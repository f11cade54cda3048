-- Typed AI columns for the AI Cost pages, filled from the raw stream by a materialized view so
-- that one INSERT (one part, all or nothing) writes both.
CREATE TABLE IF NOT EXISTS ai_usage_events
(
    workspace_id UUID,
    app_id UUID,
    event_id String,
    event LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    environment LowCardinality(String),
    customer_org_id String,
    user_hash String,
    customer_plan LowCardinality(String),
    feature LowCardinality(String),
    provider LowCardinality(String),
    model LowCardinality(String),
    request_type LowCardinality(String),
    ai_call_id String,
    workflow_id String,
    input_tokens UInt64,
    output_tokens UInt64,
    cached_input_tokens UInt64,
    total_tokens UInt64,
    latency_ms Float64,
    success UInt8,
    error_code LowCardinality(String),
    value_signal LowCardinality(String),
    edit_ratio Nullable(Float64)
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace_id, event, timestamp);

CREATE MATERIALIZED VIEW IF NOT EXISTS ai_usage_events_mv TO ai_usage_events AS
SELECT
    workspace_id, app_id, event_id, event, timestamp, environment, customer_org_id, user_hash,
    JSONExtractString(properties, 'customer_plan') AS customer_plan,
    JSONExtractString(properties, 'feature') AS feature,
    JSONExtractString(properties, 'provider') AS provider,
    JSONExtractString(properties, 'model') AS model,
    JSONExtractString(properties, 'request_type') AS request_type,
    JSONExtractString(properties, 'ai_call_id') AS ai_call_id,
    JSONExtractString(properties, 'workflow_id') AS workflow_id,
    JSONExtractUInt(properties, 'input_tokens') AS input_tokens,
    JSONExtractUInt(properties, 'output_tokens') AS output_tokens,
    JSONExtractUInt(properties, 'cached_input_tokens') AS cached_input_tokens,
    JSONExtractUInt(properties, 'total_tokens') AS total_tokens,
    JSONExtractFloat(properties, 'latency_ms') AS latency_ms,
    toUInt8(JSONExtractBool(properties, 'success')) AS success,
    JSONExtractString(properties, 'error_code') AS error_code,
    JSONExtractString(properties, 'value_signal') AS value_signal,
    JSONExtract(properties, 'edit_ratio', 'Nullable(Float64)') AS edit_ratio
FROM events
WHERE startsWith(event, 'ai_');
