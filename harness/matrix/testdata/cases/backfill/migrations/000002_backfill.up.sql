-- expect: class=backfill verdict=restore-only nEraKept=fail
-- The down cannot undo the backfill.
UPDATE items SET note = 'migrated' WHERE note IS NULL;
