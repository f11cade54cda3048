-- The retention purge (app/workers/retention.py) removes expired raw rows with lightweight
-- DELETEs. ClickHouse refuses those on a table with projections (005 adds some to
-- ai_usage_events) unless told what to do with them: 'rebuild' recomputes the projections of
-- the parts a DELETE touches, so they keep agreeing with the rows. Set on both raw tables so
-- that a projection added to `events` later cannot break the purge.
ALTER TABLE ai_usage_events MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';

ALTER TABLE events MODIFY SETTING lightweight_mutation_projection_mode = 'rebuild';
