-- The raw event stream: every accepted event, properties kept as JSON (already stripped of
-- prompts and transcripts at ingest). Ordered for per-workspace time-range scans.
CREATE TABLE IF NOT EXISTS events
(
    workspace_id UUID,
    app_id UUID,
    event_id String,
    event LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    received_at DateTime64(3, 'UTC'),
    environment LowCardinality(String),
    customer_org_id String,
    user_hash String,
    properties String CODEC(ZSTD(1))
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (workspace_id, timestamp);
