-- expect: class=drop-constraint verdict=restore-only oldCode=fail downOnData=fail
-- N+1 allows duplicate codes; release N's boot re-creates the UNIQUE index
-- over them and fails, and so does the down.
DROP INDEX items_code_key;
