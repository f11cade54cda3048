"""The consumers that move queued events into ClickHouse in batches."""
