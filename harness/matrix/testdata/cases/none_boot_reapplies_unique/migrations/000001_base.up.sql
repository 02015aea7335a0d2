-- The app re-runs this idempotent file at every boot (no bookkeeping table).
CREATE TABLE IF NOT EXISTS items (
    id bigserial PRIMARY KEY,
    code text NOT NULL,
    note text
);
CREATE UNIQUE INDEX IF NOT EXISTS items_code_key ON items (code);
