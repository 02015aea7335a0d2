-- expect: class=add-constraint verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Adds a CHECK that renewal_policies.renew_before_days is 1..365. NOT VALID,
-- as the zero-downtime guides recommend: rows 1.1 already wrote (0, 400, ...)
-- are not checked, new and updated ones are. A validated CHECK would fail the
-- up on such data. 1.1 code writes 30 (safe); the down drops it (correct).
ALTER TABLE renewal_policies
    ADD CONSTRAINT renewal_policies_renew_before_days_check CHECK (renew_before_days BETWEEN 1 AND 365) NOT VALID;
