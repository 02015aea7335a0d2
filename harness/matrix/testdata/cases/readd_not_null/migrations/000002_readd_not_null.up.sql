-- expect: class=drop-constraint verdict=restore-only downPristine=ok downOnData=fail
ALTER TABLE items ALTER COLUMN code DROP NOT NULL;
