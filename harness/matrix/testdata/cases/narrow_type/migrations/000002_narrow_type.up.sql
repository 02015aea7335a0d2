-- expect: class=type-change verdict=restore-only downPristine=ok downOnData=fail
ALTER TABLE items ALTER COLUMN name TYPE varchar(100);
