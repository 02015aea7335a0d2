-- Wrong: N+1 wrote names longer than 20.
ALTER TABLE items ALTER COLUMN name TYPE varchar(20);
