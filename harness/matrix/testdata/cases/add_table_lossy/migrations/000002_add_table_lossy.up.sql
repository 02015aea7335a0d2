-- expect: class=add-table verdict=lossy-revert downOnData=ok schemaRestored=ok nextEraLoss=warn
CREATE TABLE tags (id bigserial PRIMARY KEY, item_id bigint NOT NULL REFERENCES items (id), label text NOT NULL);
