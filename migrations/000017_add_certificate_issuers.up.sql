-- expect: class=mixed verdict=lossy-revert up=ok oldCode=fail downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok roundTrip=ok
-- Mixed: a new issuers table, a default issuer, certificates.issuer_id
-- backfilled to it and then made NOT NULL. 1.1 code inserts certificates
-- without issuer_id and breaks (23502). The down drops the column and the
-- table: it works, the schema and the 1.1-era rows come back exactly, but the
-- issuers and issuer links 1.2 wrote are gone (lossy-revert).
CREATE TABLE issuers (
    id         bigserial PRIMARY KEY,
    name       varchar(128) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO issuers (name) VALUES ('Unknown issuer (migrated)');

ALTER TABLE certificates ADD COLUMN issuer_id bigint REFERENCES issuers (id);

UPDATE certificates SET issuer_id = (SELECT min(id) FROM issuers);

ALTER TABLE certificates ALTER COLUMN issuer_id SET NOT NULL;
