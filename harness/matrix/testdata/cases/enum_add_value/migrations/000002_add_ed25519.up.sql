-- expect: class=add-enum-value
-- A label cannot be dropped again, so the down leaves it (schemaRestored says so).
ALTER TYPE key_kind ADD VALUE 'ed25519';
