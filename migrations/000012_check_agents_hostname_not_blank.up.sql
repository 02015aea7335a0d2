-- expect: class=add-constraint verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Adds a CHECK that agents.hostname is not blank. Existing rows and 1.1 code
-- satisfy it (safe); the down drops it (correct, nothing to lose).
ALTER TABLE agents ADD CONSTRAINT agents_hostname_not_blank CHECK (btrim(hostname) <> '');
