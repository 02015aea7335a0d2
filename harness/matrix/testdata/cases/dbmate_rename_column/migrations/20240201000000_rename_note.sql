-- migrate:up
-- expect: class=rename-column verdict=revertible oldCode=fail downOnData=ok schemaRestored=ok nEraKept=ok
ALTER TABLE items RENAME COLUMN note TO remark;

-- migrate:down
ALTER TABLE items RENAME COLUMN remark TO note;
