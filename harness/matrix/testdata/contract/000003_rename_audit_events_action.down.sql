ALTER TABLE audit_events RENAME COLUMN event_type TO action;
