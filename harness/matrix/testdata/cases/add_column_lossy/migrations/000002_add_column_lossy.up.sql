-- expect: class=add-column verdict=lossy-revert downOnData=ok nEraKept=ok nextEraLoss=warn
-- No probes: the harness cannot call it safe, and the down drops what N+1 wrote.
ALTER TABLE items ADD COLUMN color text;
