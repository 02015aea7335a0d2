-- expect: class=type-change verdict=restore-only up=ok oldCode=fail downPristine=ok schemaRestored=ok downOnData=ok nEraKept=fail roundTrip=ok
-- Changes audit_events.details from text to jsonb. 1.1 code inserts plain text
-- details and breaks (22P02 invalid input syntax for type json). The down
-- "just reverses the type": jsonb -> text keeps the JSON quoting, so every
-- 1.1-era detail 'renewed' comes back as '"renewed"' (N-era data damaged,
-- though the schema is restored): restore-only.
ALTER TABLE audit_events ALTER COLUMN details TYPE jsonb USING to_jsonb(details);
