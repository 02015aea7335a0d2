-- expect: class=drop-table verdict=restore-only oldCode=fail nEraKept=fail
DROP TABLE legacy;
