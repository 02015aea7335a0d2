-- expect: class=add-index verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Indexes certificates.not_after for the "expiring soon" query. Nothing to
-- lose, nothing old code could notice: every check passes.
CREATE INDEX certificates_not_after_idx ON certificates (not_after);
