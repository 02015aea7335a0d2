ALTER TABLE ledger ADD COLUMN memo text;
