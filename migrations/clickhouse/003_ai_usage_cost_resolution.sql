-- Cost resolution columns (CONTRACT §3), resolved once at ingest and never recalculated:
-- NULL cost means unknown, never zero.
ALTER TABLE events
    ADD COLUMN IF NOT EXISTS ai_cost_status LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS ai_pricing_source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS ai_canonical_model_key LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS estimated_cost_eur Nullable(Decimal(38, 12));

ALTER TABLE ai_usage_events
    ADD COLUMN IF NOT EXISTS ai_cost_status LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS ai_pricing_source LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS ai_canonical_model_key LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS estimated_cost_eur Nullable(Decimal(38, 12));
