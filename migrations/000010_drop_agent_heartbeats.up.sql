-- expect: class=drop-table verdict=restore-only up=ok oldCode=fail downPristine=ok schemaRestored=fail nEraKept=fail downOnData=ok roundTrip=ok
-- Drops agent_heartbeats (1.1 keeps only agents.last_seen_at). 1.0 code still
-- writes heartbeats and breaks (42P01). The down re-creates the table but
-- forgets its index agent_heartbeats_agent_id_seen_at_idx (schema differs) and
-- of course cannot bring the 1.0 rows back (N-era data lost): restore-only.
DROP TABLE agent_heartbeats;
