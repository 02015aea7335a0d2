-- expect: class=drop-column verdict=restore-only oldCode=fail downOnData=ok nEraKept=fail
-- The down re-adds the column empty: N-era values are gone.
ALTER TABLE items DROP COLUMN note;
