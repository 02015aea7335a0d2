ALTER TABLE certificates DROP COLUMN issuer_id;
DROP TABLE issuers;
