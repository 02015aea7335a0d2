ALTER TABLE certificates DROP COLUMN renewal_state;
