-- `ingestStatus` (app/analytics/event_stream.py `seen_events`) filters on received_at, which
-- the sort key (workspace_id, timestamp) does not cover. Parts are written in arrival order
-- and received_at follows timestamp closely for most clients, so a min-max index lets the
-- recent windows that diagnosis asks for skip almost every granule.
ALTER TABLE events ADD INDEX IF NOT EXISTS idx_received_at received_at TYPE minmax GRANULARITY 1;

ALTER TABLE events MATERIALIZE INDEX idx_received_at SETTINGS mutations_sync = 2;
