-- expect: class=add-column verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok roundTrip=ok
-- Adds certificates.renewal_state with a default. 1.0 code never names it and
-- its INSERTs get the default, so old code works (safe). The down drops the
-- column: correct, but it loses the values 1.1 wrote (nextEraLoss reports it).
ALTER TABLE certificates ADD COLUMN renewal_state varchar(16) NOT NULL DEFAULT 'pending';
