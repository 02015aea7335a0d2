-- Harmless: release N's code can do everything it could.
CREATE INDEX agents_region_idx ON agents (region);
