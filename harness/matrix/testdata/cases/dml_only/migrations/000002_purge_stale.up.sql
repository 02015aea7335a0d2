-- expect: class=backfill
-- A data migration whose WHERE matches none of the seeded rows: still a data
-- migration (backfill), never "none".
DELETE FROM jobs WHERE status = 'stale-never-seeded-6f1d';
