-- expect: class=add-table verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok roundTrip=ok
-- Adds the renewal_policies table. 1.0 code does not know it (safe). The down
-- drops it: correct, but the policies 1.1 wrote are lost (nextEraLoss).
CREATE TABLE renewal_policies (
    id                bigserial PRIMARY KEY,
    name              varchar(64) NOT NULL,
    renew_before_days integer NOT NULL DEFAULT 30,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT renewal_policies_name_key UNIQUE (name)
);
