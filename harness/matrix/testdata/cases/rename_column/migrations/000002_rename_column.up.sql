-- expect: class=rename-column verdict=revertible oldCode=fail downOnData=ok schemaRestored=ok nEraKept=ok nextEraLoss=ok
ALTER TABLE items RENAME COLUMN note TO remark;
