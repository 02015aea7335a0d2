-- expect: class=rename-table verdict=revertible oldCode=fail schemaRestored=ok nEraKept=ok
ALTER TABLE items RENAME TO products;
