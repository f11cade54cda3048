-- Typed AI columns for the AI Cost pages. Workers derive its rows from `events` with an
-- INSERT … SELECT after each batch (see app/workers/writer.py) rather than through a
-- materialized view: a view's part and its source's part are not committed atomically, so a
-- crash between the two would leave the tables disagreeing; explicit, idempotent derivation
-- repairs that on the retry.
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
