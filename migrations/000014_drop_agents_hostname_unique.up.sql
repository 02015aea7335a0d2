-- expect: class=drop-constraint verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=fail roundTrip=ok
-- Drops UNIQUE(hostname) on agents (1.2 allows several agents per host). Old
-- code still works (safe), but the down restores the UNIQUE over the duplicate
-- hostnames 1.2 writes: downOnData fails (23505).
ALTER TABLE agents DROP CONSTRAINT agents_hostname_key;
