ALTER TABLE ledger DROP COLUMN memo;
-- Copied from an old setup script: gives the app more than it had.
GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO matrix_roles_app;
