-- Wrong: N+1 wrote duplicates.
ALTER TABLE items ADD CONSTRAINT items_code_key UNIQUE (code);
