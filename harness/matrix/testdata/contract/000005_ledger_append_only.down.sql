DROP TRIGGER ledger_append_only ON ledger;
DROP FUNCTION ledger_append_only();
