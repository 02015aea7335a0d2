-- expect: class=add-index verdict=safe downOnData=ok schemaRestored=ok
CREATE INDEX items_qty_idx ON items (qty);
