ALTER TABLE identities DROP COLUMN state;
