-- expect: class=drop-constraint verdict=restore-only downPristine=ok downOnData=fail
ALTER TABLE items DROP CONSTRAINT items_code_key;
