-- expect: class=rename-column verdict=revertible up=ok oldCode=fail downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Renames audit_events.action to event_type. 1.0 code selects and inserts
-- "action" and breaks (42703), so a plain helm rollback is not enough. The down
-- renames it back: correct on any data, nothing lost (revertible).
ALTER TABLE audit_events RENAME COLUMN action TO event_type;
