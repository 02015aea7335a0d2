-- +goose Up
-- expect: class=add-column verdict=safe downOnData=ok schemaRestored=ok roundTrip=ok
ALTER TABLE items ADD COLUMN color text NOT NULL DEFAULT 'red';

-- +goose Down
ALTER TABLE items DROP COLUMN color;
