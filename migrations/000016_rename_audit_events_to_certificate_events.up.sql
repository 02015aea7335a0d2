-- expect: class=rename-table verdict=revertible up=ok oldCode=fail downPristine=ok schemaRestored=ok downOnData=ok nEraKept=ok nextEraLoss=ok roundTrip=ok
-- Renames audit_events to certificate_events. 1.1 code still reads
-- audit_events and breaks (42P01). The down renames it back: correct on any
-- data, nothing lost (revertible). Index, sequence and constraint names keep
-- their audit_events_ prefix both ways.
ALTER TABLE audit_events RENAME TO certificate_events;
