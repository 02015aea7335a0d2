ALTER TABLE audit_events RENAME COLUMN action TO event_type;
