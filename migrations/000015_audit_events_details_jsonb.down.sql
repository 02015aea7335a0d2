-- WRONG on purpose: should be USING details #>> '{}'; this keeps the JSON quotes.
ALTER TABLE audit_events ALTER COLUMN details TYPE text;
