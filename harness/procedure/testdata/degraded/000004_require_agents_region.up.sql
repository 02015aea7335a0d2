-- Adds agents.region NOT NULL without a default (backfilled once): release
-- 1.0 still inserts agents without it, so after a standard rollback its
-- POST /api/v1/agents fails (23502) while reads work: degraded.
ALTER TABLE agents ADD COLUMN region text NOT NULL DEFAULT 'eu-west';
ALTER TABLE agents ALTER COLUMN region DROP DEFAULT;
