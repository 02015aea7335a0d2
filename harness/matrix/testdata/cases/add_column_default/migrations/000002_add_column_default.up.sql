-- expect: class=add-column verdict=safe downOnData=ok schemaRestored=ok nEraKept=ok roundTrip=ok
ALTER TABLE items ADD COLUMN color text NOT NULL DEFAULT 'red';
