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

ALTER TABLE ai_usage_events_mv MODIFY QUERY
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
    JSONExtract(properties, 'edit_ratio', 'Nullable(Float64)') AS edit_ratio,
    ai_cost_status, ai_pricing_source, ai_canonical_model_key, estimated_cost_eur
FROM events
WHERE startsWith(event, 'ai_');
