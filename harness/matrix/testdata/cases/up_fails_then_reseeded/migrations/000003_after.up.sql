-- expect: verdict=lossy-revert up=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=warn roundTrip=ok
-- Measured although 000002 failed on data: the data chain is re-seeded from
-- the schema after 000002 (applied on an empty schema).
ALTER TABLE items ADD COLUMN color text;
