-- expect: class=drop-column verdict=broken up=ok oldCode=fail
-- Drops certificates.key_algorithm (1.2 derives it from the stored key). 1.1
-- code still selects it and breaks (42703). There is deliberately NO down file:
-- the migration is broken, whatever else is measured.
ALTER TABLE certificates DROP COLUMN key_algorithm;
