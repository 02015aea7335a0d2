-- expect: class=storage schemaRestored=fail roundTrip=ok
ALTER TABLE events SET (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.01);
