-- expect: class=drop-constraint verdict=safe up=ok oldCode=ok downPristine=ok schemaRestored=ok downOnData=fail roundTrip=ok
-- Drops NOT NULL on certificates.owner_email (1.1 imports certificates with no
-- known owner). Old code still works (safe), but the down re-adds NOT NULL
-- over the NULLs that 1.1 writes: downOnData fails (23502), which only a test
-- on production-shaped data sees.
ALTER TABLE certificates ALTER COLUMN owner_email DROP NOT NULL;
