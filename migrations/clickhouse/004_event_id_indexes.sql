-- Workers ask, before each insert, which (app, event_id) pairs are already stored — a batch
-- retried after a crash, or an event_id a client sent twice — whatever their timestamps.
-- Bloom filters on event_id let that lookup skip almost every granule.
ALTER TABLE events ADD INDEX IF NOT EXISTS idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1;

ALTER TABLE ai_usage_events ADD INDEX IF NOT EXISTS idx_event_id event_id TYPE bloom_filter(0.001) GRANULARITY 1;
