ALTER TABLE accounts DROP COLUMN name;
-- Harmless when the migrator owns the table (it has every privilege).
GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO matrix_roles_migrator;
