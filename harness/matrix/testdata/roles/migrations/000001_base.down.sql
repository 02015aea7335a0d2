DROP TABLE ledger; DROP TABLE accounts;
