-- The plan a workspace assigns to one of its customer organizations (setOrganizationPlan).
-- ReplacingMergeTree keeps the latest row per (workspace, organization); readers still take
-- argMax(plan, updated_at) because replacement only happens at merge time.
CREATE TABLE IF NOT EXISTS organization_plans (workspace_id UUID, customer_org_id String, plan LowCardinality(String), updated_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (workspace_id, customer_org_id)
