-- Forgets autovacuum_vacuum_scale_factor.
ALTER TABLE events RESET (fillfactor);
