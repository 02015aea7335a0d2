-- expect: class=type-change verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=fail roundTrip=ok
-- Widens certificates.common_name from varchar(64) to varchar(255) (long SAN
-- names). Old code still works (safe), but the down narrows it back over the
-- longer names 1.1 writes: downOnData fails (22001 value too long).
ALTER TABLE certificates ALTER COLUMN common_name TYPE varchar(255);
