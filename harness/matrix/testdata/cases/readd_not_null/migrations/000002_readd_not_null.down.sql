-- Wrong: N+1 wrote NULLs.
ALTER TABLE items ALTER COLUMN code SET NOT NULL;
