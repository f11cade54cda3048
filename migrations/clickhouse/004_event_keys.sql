-- (app, event_id) of every stored event, ordered by that key so that a worker can ask, before
-- each insert, which of its events are already stored (a retried batch or a repeated
-- client event_id) with a primary-key lookup instead of a scan.
CREATE TABLE IF NOT EXISTS event_keys
(
    app_id UUID,
    event_id String,
    timestamp DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (app_id, event_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS event_keys_mv TO event_keys AS
SELECT app_id, event_id, timestamp FROM events;
