CREATE TABLE accounts (
    id bigserial PRIMARY KEY,
    email text NOT NULL
);
CREATE TABLE ledger (
    id bigserial PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id),
    cents bigint NOT NULL
);
-- The app may read and append, never rewrite history.
GRANT SELECT, INSERT ON accounts, ledger TO matrix_roles_app;
GRANT USAGE ON SEQUENCE accounts_id_seq, ledger_id_seq TO matrix_roles_app;
