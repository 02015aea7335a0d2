ALTER TABLE certificate_events RENAME TO audit_events;
